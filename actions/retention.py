"""The two questions a cancellation may need: which subscription, and the offer."""

from __future__ import annotations

from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import is_sms
from bot import phrases, replies
from bot.flow import STOP

# config.yml: CancelSecondOpinion's min_confidence, the vote's floor.
CLEAR_YES = 0.6


class ValidateOfferForm(FormValidationAction):
    def name(self) -> str:
        return "validate_offer_form"

    def validate_offer_answer(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Optional[str]]:
        # Only a clear yes takes the offer; anything else cancels now. Over
        # SMS the offer says "Reply 1 to take it or 2 to cancel now", so the
        # number means what the question gave it, whatever the NLU made of it.
        if phrases.numbered_choice(str(value or "")) == 1:
            return {"offer_answer": "yes"}
        # A yes the classifiers barely agree on ("both", 0.48: two said
        # affirm, one greet) is not clear: the same floor as a cancel request.
        intent = (tracker.latest_message or {}).get("intent") or {}
        sure = float(intent.get("confidence") or 0.0) >= CLEAR_YES
        if value == "yes" and sure:
            return {"offer_answer": "yes"}
        # "I changed my mind, I'll stay": no longer a request to cancel, and
        # no yes to the offer either: nothing changes (bot/flow.py)
        text = str((tracker.latest_message or {}).get("text") or "")
        staying = intent.get("name") == "reactivate" and sure
        if phrases.numbered_choice(text) != 2 and (
            staying or phrases.wants_to_stay(text)
        ):
            return {"offer_answer": "no", "goal": STOP}
        return {"offer_answer": "no"}


class ActionAskOfferAnswer(Action):
    def name(self) -> str:
        return "action_ask_offer_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        # The offer's words were composed with its terms when billing made it.
        buttons = [
            {"title": "Yes, take the offer", "payload": "/affirm"},
            {"title": "No, cancel now", "payload": "/deny"},
        ]
        dispatcher.utter_message(
            text=tracker.get_slot("offer_text"),
            buttons=None if is_sms(tracker) else buttons,
        )
        return []


class ValidateSubscriptionForm(FormValidationAction):
    def name(self) -> str:
        return "validate_subscription_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        # "never mind" instead of a choice ends the form (bot/flow.py)
        return [] if tracker.get_slot("goal") == STOP else domain_slots

    def validate_subscription_choice(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Optional[Any]]:
        options: list[dict[str, str]] = tracker.get_slot("subscription_options") or []
        text = str(value or "")
        if phrases.wants_to_stop(text):
            return {"subscription_choice": None, "goal": STOP}
        picked = phrases.subscription_choice(text, [o["name"] for o in options])
        by_price = phrases.choice_by_price(text, [o["price"] for o in options])
        if not picked and by_price is not None:
            picked = [by_price]  # "the cheaper one", as the list showed prices
        if not picked:
            dispatcher.utter_message(
                text=replies.pick(replies.NOT_WHICH, is_sms(tracker))
            )
            return {"subscription_choice": None}
        chosen: dict[str, Optional[Any]] = {
            "subscription_choice": str(value),
            "chosen_subscriptions": [options[i]["id"] for i in picked],
        }
        if phrases.wants_no_offers(text):  # "2, and no offers please"
            chosen["no_offers"] = True
        return chosen


class ActionAskSubscriptionChoice(Action):
    def name(self) -> str:
        return "action_ask_subscription_choice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        options: list[dict[str, str]] = tracker.get_slot("subscription_options") or []
        sms = is_sms(tracker)
        buttons = [
            *(
                {"title": o["name"], "payload": str(n)}
                for n, o in enumerate(options, 1)
            ),
            {"title": "All of them", "payload": "all"},
        ]
        dispatcher.utter_message(
            text=replies.subscription_choices(options, sms),
            buttons=None if sms else buttons,
        )
        return []
