"""A person, whenever asked; never needed to cancel."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import caller, channel_identity
from bot import replies
from bot.database import log_failure
from bot.handoff import request_person
from bot.settings import settings

log = logging.getLogger(__name__)


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        verified = tracker.get_slot("verified_customer") or {}
        source = caller(tracker)
        sms = source.channel == "sms"
        email = tracker.get_slot("email")
        try:
            number = await asyncio.to_thread(
                request_person,
                settings().bot_database_url,
                tracker.sender_id,
                source.channel,
                verified.get("customer_id"),
                (tracker.latest_message or {}).get("text"),
                email if isinstance(email, str) else None,
            )
        except Exception as error:
            log_failure(
                log, error, "could not queue a handoff for %s", tracker.sender_id
            )
            dispatcher.utter_message(text=replies.pick(replies.HANDOFF_FAILED, sms))
            return []
        reachable = sms or verified or email or channel_identity(tracker)
        said = replies.HANDOFF if reachable else replies.HANDOFF_ANONYMOUS
        dispatcher.utter_message(text=replies.pick(said, sms))
        dispatcher.utter_message(json_message={"handoff": {"request": number}})
        return [SlotSet("handoff_requested", True)]
