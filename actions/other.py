"""Everything that is not a request: the optional why, retries, not understood.

Answers to "mind telling us why?", a retry after billing trouble, and what the
bot says when it did not understand.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import card_number_was_removed, is_sms
from bot import replies


class ActionHandleOther(Action):
    def name(self) -> str:
        return "action_handle_other"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        text = ((tracker.latest_message or {}).get("text") or "").strip()
        sms = is_sms(tracker)
        if card_number_was_removed(tracker):
            dispatcher.utter_message(
                text=replies.pick(replies.CARD_NUMBER_REMOVED, sms)
            )
            return []
        if tracker.get_slot("asked_why") and text and not text.startswith("/"):
            dispatcher.utter_message(
                text=replies.pick(replies.THANKS_FOR_FEEDBACK, sms)
            )
            return [SlotSet("exit_feedback", text[:1000]), SlotSet("asked_why", False)]
        if tracker.get_slot("pending_retry") and tracker.get_slot("goal"):
            return [
                SlotSet("pending_retry", False),
                FollowupAction("action_carry_out_request"),
            ]
        # set by the NLU's guard (bot/nlu/guard.py): "cancel my order" and the like
        if (tracker.latest_message or {}).get("foreign_cancel_object"):
            dispatcher.utter_message(text=replies.pick(replies.NOT_OURS_TO_CANCEL, sms))
            return []
        misunderstood = int(tracker.get_slot("misunderstood") or 0) + 1
        again = misunderstood % 2 == 0
        dispatcher.utter_message(
            text=replies.pick(
                replies.NOT_UNDERSTOOD_AGAIN if again else replies.NOT_UNDERSTOOD, sms
            )
        )
        return [SlotSet("misunderstood", float(misunderstood))]
