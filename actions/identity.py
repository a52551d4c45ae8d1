"""Collecting who the customer is: the email, and the card's last 4.

The email is asked only when the channel can't tell who is writing. Checking
the details against billing happens in the request action, not here.
"""

from __future__ import annotations

from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import card_number_was_removed, channel_identity, is_sms
from bot import phrases, replies
from bot.flow import STOP, verification_from_slot


def times_asked(tracker: Tracker, counter: str) -> int:
    """Return how often a question was asked (forms log no event for their asks)."""
    return int(tracker.get_slot(counter) or 0)


class ValidateIdentityForm(FormValidationAction):
    def name(self) -> str:
        return "validate_identity_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        verified = verification_from_slot(tracker.get_slot("verified_customer"))
        if verified is not None or tracker.get_slot("goal") == STOP:
            return []
        if channel_identity(tracker) is not None and not tracker.get_slot(
            "identify_by_email"
        ):
            return ["card_last4"]
        return ["email", "card_last4"]

    @staticmethod
    def _rejected_already(tracker: Tracker) -> bool:
        """Return True if billing just refused this message's details."""
        message_id = (tracker.latest_message or {}).get("message_id")
        return message_id is not None and message_id == tracker.get_slot(
            "details_rejected_in"
        )

    def validate_email(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Optional[str]]:
        if self._rejected_already(tracker):
            return {"email": None}
        if phrases.wants_to_stop(str(value or "")):
            return {"email": None, "goal": STOP}
        email = phrases.email_address(str(value or ""))
        if email is None:
            dispatcher.utter_message(
                text=replies.pick(replies.NOT_AN_EMAIL, is_sms(tracker))
            )
        return {"email": email}

    def validate_card_last4(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Optional[str]]:
        if self._rejected_already(tracker):
            return {"card_last4": None}
        if phrases.wants_to_stop(str(value or "")):
            return {"card_last4": None, "goal": STOP}
        if card_number_was_removed(tracker):
            dispatcher.utter_message(
                text=replies.pick(replies.CARD_NUMBER_REMOVED, is_sms(tracker))
            )
            return {"card_last4": None}
        last4 = phrases.card_last4(str(value or ""))
        if last4 is None and tracker.get_slot("requested_slot") == "card_last4":
            dispatcher.utter_message(
                text=replies.pick(replies.NEED_FOUR_DIGITS, is_sms(tracker))
            )
        return {"card_last4": last4}


class ActionAskEmail(Action):
    def name(self) -> str:
        return "action_ask_email"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        asked = times_asked(tracker, "email_prompts")
        text = replies.pick(replies.ASK_EMAIL[min(asked, 2)], is_sms(tracker))
        dispatcher.utter_message(text=text)
        return [SlotSet("email_prompts", float(asked + 1))]


class ActionAskCardLast4(Action):
    def name(self) -> str:
        return "action_ask_card_last4"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        asked = times_asked(tracker, "card_prompts")
        if asked > 1:
            choice = 3  # asked twice: other words again, and a person
        elif asked:
            choice = 2  # asked before: other words
        elif times_asked(tracker, "email_prompts"):
            choice = 1  # the email came first: no second "I can do that"
        else:
            choice = 0
        dispatcher.utter_message(
            text=replies.pick(replies.ASK_CARD_LAST4[choice], is_sms(tracker))
        )
        return [SlotSet("card_prompts", float(asked + 1))]
