"""Taking a request (cancel, status, undo) and carrying it out through billing."""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import BillingAction, caller, channel_identity, say
from bot import phrases
from bot.flow import (
    STOP,
    Request,
    account_of,
    carry_out,
    offer_from_slot,
    stale_verification,
    verification_from_slot,
)
from bot.pending import PendingStore
from bot.settings import settings

GOALS = {
    "cancel_subscription": "cancel",
    "check_status": "status",
    "reactivate": "reactivate",
}


class ActionTakeRequest(Action):
    """Note what the customer wants, and anything they said with it."""

    def name(self) -> str:
        return "action_take_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        message = tracker.latest_message or {}
        intent = (message.get("intent") or {}).get("name")
        text = message.get("text") or ""
        entities = message.get("entities") or []
        stale = forget_stale_verification(tracker, entities)
        if tracker.get_slot("pending_retry") and phrases.wants_retry(text):
            # "try again" after billing trouble resumes the request it interrupted.
            return [*stale, SlotSet("pending_retry", False)]
        goal = tracker.get_slot("goal")
        asked = tracker.active_loop_name == "identity_form"
        if (
            asked
            and phrases.has_details(entities)
            and (intent == "cancel_subscription" or GOALS.get(str(intent)) == goal)
        ):
            # An email or card digits while being asked for them: an answer
            # (the classifiers may see a cancel request in an email), the
            # request stays. "a@b.com, I meant reactivate" changes it.
            return stale
        if (
            intent == "reactivate"
            and asked
            and goal == "cancel"
            and not phrases.mentions_undoing(text)
        ):
            # "I changed my mind" while asked for the card digits: the
            # cancellation under way stops (bot/flow.py). "Undo my cancellation"
            # is a request of its own: an earlier one may be waiting to end.
            return [*stale, SlotSet("goal", STOP)]
        # The reason billing keeps is the customer's words, not their email
        # or card digits (the slots have those).
        text = phrases.without_details(text, message.get("entities") or [])
        if intent == "affirm" and tracker.get_slot("asked_if_cancel"):
            # "yes" to "do you want to cancel?" (or to undo an add-on's
            # cancellation): the request is the message the bot asked about,
            # "no offers" included (details taken out when it was kept,
            # actions/other.py)
            asked = tracker.get_slot("asked_goal")
            intent = "reactivate" if asked == "reactivate" else "cancel_subscription"
            text = tracker.get_slot("unsure_request") or ""
        events = [
            *stale,
            SlotSet("goal", GOALS.get(str(intent), "cancel")),
            SlotSet("pending_retry", False),
            SlotSet("asked_if_cancel", False),
        ]
        if intent == "cancel_subscription":
            events += [
                SlotSet("cancel_reason", text[:500] or None),
                SlotSet("chosen_subscriptions", None),
                SlotSet("subscription_choice", None),
                # a yes to the offer that billing could not take is not an
                # answer to this request ("forget the offer, just cancel");
                # the offer stays made: no second one (bot/flow.py)
                SlotSet("offer_answer", None),
            ]
            if phrases.wants_no_offers(text):
                events.append(SlotSet("no_offers", True))
        if intent == "reactivate":
            events.append(SlotSet("undo_request", text[:500] or None))
        return events


def forget_stale_verification(
    tracker: Tracker, entities: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Return the events that drop a verification a new request must not use.

    Expired, or made for another account than the one now named (another
    email given since): the card digits are asked again, unless this very
    message holds new ones.
    """
    account = account_of(
        channel_identity(tracker),
        bool(tracker.get_slot("identify_by_email")),
        tracker.get_slot("email"),
    )
    if not stale_verification(tracker.get_slot("verified_customer"), account):
        return []
    events = [SlotSet("verified_customer", None)]
    if not any(e.get("entity") == "card_last4" for e in entities):
        events.append(SlotSet("card_last4", None))
    return events


def request_words(tracker: Tracker) -> Optional[str]:
    """Return the words of the request being carried out (they may name a plan).

    A cancel request's are kept in ``cancel_reason``, an undo's in
    ``undo_request`` (also after "yes" to the bot's question about them).
    """
    goal = tracker.get_slot("goal")
    if goal == "cancel":
        return tracker.get_slot("cancel_reason")
    if goal == "reactivate":
        return tracker.get_slot("undo_request")
    return None  # a status answer lists every plan: no words needed


class ActionCarryOutRequest(BillingAction):
    def name(self) -> str:
        return "action_carry_out_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        message = tracker.latest_message or {}
        request = Request(
            goal=tracker.get_slot("goal"),
            caller=caller(tracker),
            turn=str(message.get("message_id") or len(tracker.events)),
            channel_identity=channel_identity(tracker),
            email=tracker.get_slot("email"),
            card_last4=tracker.get_slot("card_last4"),
            verification=verification_from_slot(tracker.get_slot("verified_customer")),
            no_offers=bool(tracker.get_slot("no_offers")),
            offer_made=bool(tracker.get_slot("offer_made")),
            offer=offer_from_slot(tracker.get_slot("offer")),
            offer_answer=tracker.get_slot("offer_answer"),
            chosen=tracker.get_slot("chosen_subscriptions"),
            reason=tracker.get_slot("cancel_reason"),
            words=request_words(tracker),
            asked_why=bool(tracker.get_slot("asked_why")),
            by_email=bool(tracker.get_slot("identify_by_email")),
            answer=(
                phrases.without_details(
                    message.get("text") or "", message.get("entities") or []
                )
                if tracker.get_slot("offer_answer")
                else None
            ),
        )
        # The billing client blocks; keep the action server's loop free.
        pending = PendingStore(settings().bot_database_url)
        outcome = await asyncio.to_thread(carry_out, self.billing, request, pending)
        say(dispatcher, outcome.replies)
        slots = {**outcome.slots, "next_step": outcome.next_step}
        return [SlotSet(name, value) for name, value in slots.items()]
