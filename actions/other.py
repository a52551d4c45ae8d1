"""Everything that is not a request: the optional why, retries, not understood.

Answers to "mind telling us why?", a retry after billing trouble, the question
about a cancel request the NLU may have missed, and what the bot says when it
did not understand.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import card_number_was_removed, is_sms
from bot import phrases, replies
from bot.database import log_failure
from bot.flow import FINISHED
from bot.handoff import add_contact
from bot.notes import ASK_IF_CANCEL, DETAILS_ONLY, FOREIGN_CANCEL_OBJECT
from bot.settings import settings

log = logging.getLogger(__name__)

MAX_UNSURE_REQUEST = 500
DEAD_ENDS = ("out_of_scope", "nlu_fallback")
# VOICE.md: never the same question a third time in the same words
MAX_CANCEL_QUESTIONS = 2


class ActionHandleOther(Action):
    def name(self) -> str:
        return "action_handle_other"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if await self.contact_for_a_person(dispatcher, tracker):
            return []
        events = self.answer(dispatcher, tracker)
        # The question about cancelling holds for the very next message only.
        if tracker.get_slot("asked_if_cancel") and not any(
            e.get("name") == "asked_if_cancel" for e in events
        ):
            events.append(SlotSet("asked_if_cancel", False))
        return events

    @staticmethod
    async def contact_for_a_person(
        dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> bool:
        """Give an email sent after asking for a person to that request.

        An anonymous web visitor is told a person replies in the chat, or by
        email if they leave one: this is where they leave it.
        """
        message = tracker.latest_message or {}
        if not tracker.get_slot("handoff_requested") or not message.get(DETAILS_ONLY):
            return False
        emails = [
            e.get("value")
            for e in message.get("entities") or []
            if e.get("entity") == "email" and isinstance(e.get("value"), str)
        ]
        if not emails:
            return False
        try:
            kept = await asyncio.to_thread(
                add_contact, settings().bot_database_url, tracker.sender_id, emails[0]
            )
        except Exception as error:
            log_failure(
                log, error, "could not add a contact to %s's handoff", tracker.sender_id
            )
            return False  # answered as any details are; the request stands
        if kept:
            line = replies.pick(replies.HANDOFF_CONTACT_KEPT, is_sms(tracker))
            dispatcher.utter_message(text=line.format(email=emails[0]))
        return kept

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[dict[str, Any]]:
        message = tracker.latest_message or {}
        text = (message.get("text") or "").strip()
        intent = (message.get("intent") or {}).get("name")
        sms = is_sms(tracker)
        if card_number_was_removed(tracker):
            dispatcher.utter_message(
                text=replies.pick(replies.CARD_NUMBER_REMOVED, sms)
            )
            # "my card is 4242 ..., please cancel": the request is not lost
            return self.ask_if_cancel(dispatcher, tracker, sms) or []
        if tracker.get_slot("asked_why") and text and not text.startswith("/"):
            feedback = [
                SlotSet("exit_feedback", text[:1000]),
                SlotSet("asked_why", False),
            ]
            # "oh wait, keep the add-on" right after the receipt: kept as the
            # answer to why, and asked about, since it may be an undo
            undo = intent in DEAD_ENDS and phrases.undoes_an_add_on(text)
            asked = self.ask_if_cancel(dispatcher, tracker, sms) if undo else None
            if asked is not None:
                return feedback + asked
            # "why didn't I get a refund?": a question, kept all the same
            thanks = (
                replies.REFUNDS_BY_A_PERSON
                if phrases.wants_refund(text)
                else replies.THANKS_FOR_FEEDBACK
            )
            dispatcher.utter_message(text=replies.pick(thanks, sms))
            return feedback
        if tracker.get_slot("pending_retry") and tracker.get_slot("goal"):
            if phrases.wants_to_stop(text):
                # "never mind" instead of "try again": the request ends here
                dispatcher.utter_message(text=replies.pick(replies.NOT_CANCELLING, sms))
                return [SlotSet(name, value) for name, value in FINISHED.items()]
            return [
                SlotSet("pending_retry", False),
                FollowupAction("action_carry_out_request"),
            ]
        # only an email or card digits, unasked (bot/nlu/answers.py): the
        # slots keep them for the request that comes next
        if message.get(DETAILS_ONLY):
            dispatcher.utter_message(text=replies.pick(replies.DETAILS_KEPT, sms))
            return []
        # set by the NLU's guard (bot/nlu/guard.py): "cancel my order" and the like
        # an add-on is a subscription of its own here, not something foreign:
        # asked about below
        add_on = phrases.ends_an_add_on(text) or phrases.undoes_an_add_on(text)
        if message.get(FOREIGN_CANCEL_OBJECT) and not add_on:
            dispatcher.utter_message(text=replies.pick(replies.NOT_OURS_TO_CANCEL, sms))
            return []
        # "pause it instead": not a request the bot can carry out, and no
        # reason to ask whether it was a cancel request
        if intent in DEAD_ENDS and phrases.wants_pause(text):
            dispatcher.utter_message(text=replies.pick(replies.PAUSE_NOT_HERE, sms))
            return []
        if tracker.get_slot("asked_if_cancel") and intent == "deny":
            dispatcher.utter_message(text=replies.pick(replies.NOT_CANCELLING, sms))
            return [SlotSet("cancel_questions", float(MAX_CANCEL_QUESTIONS))]
        asked_about = self.ask_if_cancel(dispatcher, tracker, sms)
        if asked_about is not None:
            return asked_about
        if intent in DEAD_ENDS and phrases.wants_refund(text):
            dispatcher.utter_message(
                text=replies.pick(replies.REFUNDS_BY_A_PERSON, sms)
            )
            return []
        misunderstood = int(tracker.get_slot("misunderstood") or 0) + 1
        again = misunderstood % 2 == 0
        dispatcher.utter_message(
            text=replies.pick(
                replies.NOT_UNDERSTOOD_AGAIN if again else replies.NOT_UNDERSTOOD, sms
            )
        )
        return [SlotSet("misunderstood", float(misunderstood))]

    def ask_if_cancel(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, sms: bool
    ) -> Optional[list[dict[str, Any]]]:
        """Ask "do you want to cancel?" when it is worth asking; None if not.

        A cancel request may hide in what the NLU found out of scope
        (bot/nlu/ask.py): asking costs one turn, and a real request is not
        lost; a "yes" starts it (data/rules.yml). Someone who already said
        no is not asked again. Ending an add-on is asked about too: the
        classifiers learnt it as a plan change, but where an add-on is a
        subscription of its own it is a cancel request, and the request's
        words then pick the add-on (bot/flow.py); keeping one ("undo the
        add-on's cancellation") is asked about the same way, and a yes
        undoes the cancellation those words name. A question about what
        cancelling means ("what happens if I cancel?", "is there a fee?")
        gets the answer first and then the same question: it is often asked
        on the way to a decision.
        """
        message = tracker.latest_message or {}
        text = (message.get("text") or "").strip()
        intent = (message.get("intent") or {}).get("name")
        asked = int(tracker.get_slot("cancel_questions") or 0)
        may_ask = asked < MAX_CANCEL_QUESTIONS
        goal = "cancel"  # what a yes starts (actions/requests.py)
        if intent in DEAD_ENDS and phrases.asks_about_cancelling(text):
            # "what happens if I cancel?": the answer, then the question
            question = replies.about_cancelling(
                sms, data=phrases.asks_about_data(text), ask=may_ask
            )
            if not may_ask:
                dispatcher.utter_message(text=question)
                return []
        elif intent in DEAD_ENDS and phrases.undoes_an_add_on(text):
            question = replies.pick(replies.DO_YOU_WANT_TO_UNDO_ADD_ON, sms)
            goal = "reactivate"
        elif intent in DEAD_ENDS and phrases.ends_an_add_on(text):
            question = replies.pick(replies.DO_YOU_WANT_TO_CANCEL_ADD_ON, sms)
        elif message.get(ASK_IF_CANCEL) or (
            intent in DEAD_ENDS and phrases.ends_by_price(text)
        ):
            question = replies.pick(replies.DO_YOU_WANT_TO_CANCEL, sms)
        else:
            return None
        if not may_ask:
            return None
        buttons = [
            {"title": "Yes", "payload": "/affirm"},
            {"title": "No", "payload": "/deny"},
        ]
        dispatcher.utter_message(text=question, buttons=None if sms else buttons)
        words = phrases.without_details(text, message.get("entities") or [])
        return [
            SlotSet("asked_if_cancel", True),
            SlotSet("cancel_questions", float(asked + 1)),
            SlotSet("unsure_request", words[:MAX_UNSURE_REQUEST]),
            SlotSet("asked_goal", goal),
        ]
