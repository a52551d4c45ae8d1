"""A message in which the NLU saw a cancel request it did not take is asked about.

The actions alone, on trackers written here (which messages carry the note:
tests/unit/test_ask_if_cancel.py); the dialogue rule that a "yes" starts the
request is checked in tests/stories/, and the whole path on the running bot in
tests/conversation/test_unsure_cancel.py.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.identity import ValidateIdentityForm
from actions.other import MAX_CANCEL_QUESTIONS, ActionHandleOther
from actions.requests import ActionTakeRequest
from actions.retention import ValidateSubscriptionForm
from bot import replies
from bot.notes import ASK_IF_CANCEL, FOREIGN_CANCEL_OBJECT

DOUBT = {"cancel_confidence": 0.3}


def tracker(
    text: str,
    intent: str = "out_of_scope",
    channel: str = "rest",
    note: Optional[dict[str, Any]] = None,
    **slots: Any,
) -> Tracker:
    message: dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.52},
        "metadata": {"gracious": {"channel": channel}},
    }
    if note is not None:
        message[ASK_IF_CANCEL] = note
    return Tracker("c1", slots, message, [], False, None, {}, "action_listen")


def run(action: Any, conversation: Tracker) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, conversation, {}))
    return dispatcher.messages, events


def slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.mark.parametrize("channel", ["rest", "sms"])
def test_a_message_with_the_note_is_asked_about(channel: str) -> None:
    said, events = run(
        ActionHandleOther(),
        tracker("hw do i cancl this thing", channel=channel, note=DOUBT),
    )
    sms = channel == "sms"
    assert [m["text"] for m in said] == [
        replies.pick(replies.DO_YOU_WANT_TO_CANCEL, sms)
    ]
    # buttons on the web; over SMS the text says "Reply 1 for yes or 2 for no"
    assert bool(said[0]["buttons"]) is not sms
    assert slots(events) == {
        "asked_if_cancel": True,
        "unsure_request": "hw do i cancl this thing",
        "cancel_questions": 1.0,
        "asked_goal": "cancel",
    }


def test_a_message_without_the_note_is_not_understood_as_before() -> None:
    said, events = run(ActionHandleOther(), tracker("what's the weather"))
    assert said[0]["text"] == replies.NOT_UNDERSTOOD[0]
    assert slots(events) == {"misunderstood": 1.0}


def test_a_cancel_verb_on_something_else_is_not_asked_about() -> None:
    conversation = tracker("cancel my order", note=DOUBT)
    conversation.latest_message[FOREIGN_CANCEL_OBJECT] = "order"
    said, _ = run(ActionHandleOther(), conversation)
    assert said[0]["text"] == replies.NOT_OURS_TO_CANCEL[0]


def test_an_add_on_the_guard_took_for_something_else_is_asked_about() -> None:
    """The guard's vocabulary has no add-on: it was "not ours to cancel"."""
    conversation = tracker("cancel my family add-on")
    conversation.latest_message[FOREIGN_CANCEL_OBJECT] = "family add-on"
    said, events = run(ActionHandleOther(), conversation)
    assert said[0]["text"] == replies.DO_YOU_WANT_TO_CANCEL_ADD_ON[0]
    assert slots(events)["asked_if_cancel"] is True


def test_no_to_the_question_changes_nothing_and_it_is_not_asked_again() -> None:
    said, events = run(
        ActionHandleOther(), tracker("no", intent="deny", asked_if_cancel=True)
    )
    assert said[0]["text"] == replies.NOT_CANCELLING[0]
    assert slots(events) == {
        "asked_if_cancel": False,
        "cancel_questions": float(MAX_CANCEL_QUESTIONS),
    }
    later, _ = run(
        ActionHandleOther(),
        tracker(
            "how to stop",
            note=DOUBT,
            cancel_questions=slots(events)["cancel_questions"],
        ),
    )
    assert later[0]["text"] == replies.NOT_UNDERSTOOD[0]


def test_the_question_is_never_asked_a_third_time() -> None:
    said, events = run(
        ActionHandleOther(),
        tracker("stop pls", note=DOUBT, cancel_questions=1.0, asked_if_cancel=True),
    )
    assert said[0]["text"] == replies.DO_YOU_WANT_TO_CANCEL[0]
    assert slots(events)["cancel_questions"] == 2.0
    said, _ = run(
        ActionHandleOther(), tracker("stop pls", note=DOUBT, cancel_questions=2.0)
    )
    assert said[0]["text"] == replies.NOT_UNDERSTOOD[0]


def test_any_other_answer_to_the_question_forgets_it() -> None:
    said, events = run(
        ActionHandleOther(), tracker("what's the weather", asked_if_cancel=True)
    )
    assert said[0]["text"] == replies.NOT_UNDERSTOOD[0]
    assert slots(events)["asked_if_cancel"] is False


def test_yes_takes_the_request_that_was_asked_about() -> None:
    _, events = run(
        ActionTakeRequest(),
        tracker(
            "yes",
            intent="affirm",
            asked_if_cancel=True,
            unsure_request="how do i get out of this, no offers please",
        ),
    )
    taken = slots(events)
    assert taken["goal"] == "cancel"
    assert taken["asked_if_cancel"] is False
    assert taken["cancel_reason"] == "how do i get out of this, no offers please"
    assert taken["no_offers"] is True


def test_a_clear_request_after_the_question_is_taken_as_it_is() -> None:
    _, events = run(
        ActionTakeRequest(),
        tracker(
            "is it cancelled?",
            intent="check_status",
            asked_if_cancel=True,
            unsure_request="how do i get out of this",
        ),
    )
    taken = slots(events)
    assert taken["goal"] == "status" and taken["asked_if_cancel"] is False
    assert "cancel_reason" not in taken


@pytest.mark.parametrize(
    "text",
    [
        "I'd like to pause my subscription instead of cancelling",
        "can I freeze my membership for two months?",
        "put my plan on hold please",
    ],
)
@pytest.mark.parametrize("channel", ["rest", "sms"])
def test_a_pause_request_is_told_who_can_help_and_not_asked_about(
    text: str, channel: str
) -> None:
    note = {"cancel_confidence": 0.3}
    said, events = run(ActionHandleOther(), tracker(text, channel=channel, note=note))
    expected = replies.pick(replies.PAUSE_NOT_HERE, channel == "sms")
    assert [m["text"] for m in said] == [expected]
    assert "asked_if_cancel" not in slots(events)


def test_pausing_words_in_a_cancel_request_do_not_stop_it() -> None:
    # only out-of-scope messages get the pause answer; a request is a request
    said, _ = run(
        ActionHandleOther(),
        tracker("stop my paused plan", intent="cancel_subscription"),
    )
    assert all(m["text"] != replies.PAUSE_NOT_HERE[0] for m in said)


@pytest.mark.parametrize("channel", ["rest", "sms"])
def test_ending_an_add_on_is_asked_about_without_the_note(channel: str) -> None:
    # the classifiers took it for a plan change: no note, yet a request here
    said, events = run(
        ActionHandleOther(),
        tracker("cancel my family add-on, keep premium", channel=channel),
    )
    question = replies.pick(replies.DO_YOU_WANT_TO_CANCEL_ADD_ON, channel == "sms")
    assert [m["text"] for m in said] == [question]
    assert slots(events) == {
        "asked_if_cancel": True,
        "unsure_request": "cancel my family add-on, keep premium",
        "cancel_questions": 1.0,
        "asked_goal": "cancel",
    }
    # a question about add-ons asks to end nothing
    said, _ = run(ActionHandleOther(), tracker("which add-ons do you have?"))
    assert said[0]["text"] == replies.NOT_UNDERSTOOD[0]


@pytest.mark.parametrize("channel", ["rest", "sms"])
def test_what_cancelling_means_is_answered_then_asked(channel: str) -> None:
    sms = channel == "sms"
    text = "what happens to my data if I cancel my plan?"
    said, events = run(ActionHandleOther(), tracker(text, channel=channel))
    assert [m["text"] for m in said] == [
        replies.about_cancelling(sms, data=True, ask=True)
    ]
    assert "talk to a person" in said[0]["text"]
    assert bool(said[0]["buttons"]) is not sms
    # a "yes" then starts the request it asked about (data/rules.yml)
    assert slots(events) == {
        "asked_if_cancel": True,
        "unsure_request": text,
        "cancel_questions": 1.0,
        "asked_goal": "cancel",
    }


def test_what_cancelling_means_after_a_no_is_answered_without_asking() -> None:
    conversation = tracker(
        "is there a cancellation fee?", cancel_questions=float(MAX_CANCEL_QUESTIONS)
    )
    said, events = run(ActionHandleOther(), conversation)
    answer = replies.about_cancelling(data=False, ask=False)
    assert [m["text"] for m in said] == [answer]
    assert "no fee" in answer and "say 'cancel my subscription'" in answer
    assert not said[0]["buttons"]
    assert "asked_if_cancel" not in slots(events)


def test_questions_about_other_cancellations_are_not_answered_for_ours() -> None:
    for text, answer in (
        # a refund is for a person, whatever it is for
        ("can I get a refund if I cancel my flight?", replies.REFUNDS_BY_A_PERSON),
        ("I cancelled, why was I charged?", replies.NOT_UNDERSTOOD),
    ):
        said, events = run(ActionHandleOther(), tracker(text))
        assert said[0]["text"] == answer[0], text
        assert "asked_if_cancel" not in slots(events)
    # a request is a request, whatever it asks along the way
    said, _ = run(
        ActionHandleOther(),
        tracker(
            "cancel my plan, what happens if I cancel?", intent="cancel_subscription"
        ),
    )
    assert all("If you cancel" not in m["text"] for m in said)


@pytest.mark.parametrize("channel", ["rest", "sms"])
def test_keeping_an_add_on_is_asked_about_and_a_yes_undoes(channel: str) -> None:
    text = "undo the family add-on cancellation"
    said, events = run(ActionHandleOther(), tracker(text, channel=channel))
    question = replies.pick(replies.DO_YOU_WANT_TO_UNDO_ADD_ON, channel == "sms")
    assert [m["text"] for m in said] == [question]
    asked = slots(events)
    assert asked["asked_goal"] == "reactivate" and asked["unsure_request"] == text
    _, events = run(ActionTakeRequest(), tracker("yes", intent="affirm", **asked))
    taken = slots(events)
    assert taken["goal"] == "reactivate" and taken["undo_request"] == text
    assert "cancel_reason" not in taken


def test_keeping_an_add_on_as_the_answer_to_why_is_kept_and_asked_about() -> None:
    text = "oh wait, keep the add-on"
    said, events = run(ActionHandleOther(), tracker(text, asked_why=True))
    assert [m["text"] for m in said] == [replies.DO_YOU_WANT_TO_UNDO_ADD_ON[0]]
    answered = slots(events)
    assert answered["exit_feedback"] == text and answered["asked_why"] is False
    assert answered["asked_goal"] == "reactivate"
    # any other answer is only thanked for
    said, events = run(ActionHandleOther(), tracker("too pricey", asked_why=True))
    assert [m["text"] for m in said] == [replies.THANKS_FOR_FEEDBACK[0]]
    assert "asked_goal" not in slots(events)


@pytest.mark.parametrize("channel", ["rest", "sms"])
def test_a_refund_is_sent_to_a_person(channel: str) -> None:
    expected = replies.pick(replies.REFUNDS_BY_A_PERSON, channel == "sms")
    said, events = run(ActionHandleOther(), tracker("I want a refund", channel=channel))
    assert [m["text"] for m in said] == [expected] and events == []
    # as the answer to the optional "why" it is kept too
    text = "why didn't I get a refund?"
    said, events = run(
        ActionHandleOther(), tracker(text, channel=channel, asked_why=True)
    )
    assert [m["text"] for m in said] == [expected]
    assert slots(events)["exit_feedback"] == text


def test_ending_the_cheaper_one_is_asked_about_without_the_note() -> None:
    # "the cheaper plan" was learnt from plan changes: no note, yet a request
    said, events = run(ActionHandleOther(), tracker("cancel the cheaper one"))
    assert [m["text"] for m in said] == [replies.DO_YOU_WANT_TO_CANCEL[0]]
    assert slots(events)["unsure_request"] == "cancel the cheaper one"
    said, _ = run(ActionHandleOther(), tracker("is there a cheaper plan?"))
    assert said[0]["text"] == replies.NOT_UNDERSTOOD[0]


def test_a_card_number_with_a_request_is_removed_and_the_request_asked_about() -> None:
    conversation = tracker(
        "hello, my card number is [card number removed], please cancel", note=DOUBT
    )
    conversation.latest_message["metadata"]["gracious"]["card_number_removed"] = 1
    said, events = run(ActionHandleOther(), conversation)
    assert [m["text"] for m in said] == [
        replies.CARD_NUMBER_REMOVED[0],
        replies.DO_YOU_WANT_TO_CANCEL[0],
    ]
    assert slots(events)["asked_if_cancel"] is True
    # without a cancel request in it, only the warning
    conversation = tracker("my card number is [card number removed]")
    conversation.latest_message["metadata"]["gracious"]["card_number_removed"] = 1
    said, events = run(ActionHandleOther(), conversation)
    assert [m["text"] for m in said] == [replies.CARD_NUMBER_REMOVED[0]]
    assert "asked_if_cancel" not in slots(events)


PLANS = [
    {"id": "sub_premium", "name": "Premium", "price": "15.00 USD"},
    {"id": "sub_family", "name": "Family add-on", "price": "5.00 USD"},
]


@pytest.mark.parametrize(
    "form, slot, reply, kept",
    [
        (ValidateIdentityForm(), "card_last4", "4242", {"card_last4": "4242"}),
        (
            ValidateIdentityForm(),
            "email",
            "ana@example.com",
            {"email": "ana@example.com"},
        ),
        (
            ValidateSubscriptionForm(),
            "subscription_choice",
            "the premium one",
            {
                "subscription_choice": "the premium one",
                "chosen_subscriptions": ["sub_premium"],
            },
        ),
    ],
)
def test_never_mind_instead_of_an_answer_ends_the_form(
    form: Any, slot: str, reply: str, kept: dict[str, Any]
) -> None:
    domain = {
        "forms": {form.form_name(): {"required_slots": [slot]}},
        "slots": {slot: {}, "goal": {}},
    }

    def answer(text: str) -> dict[str, Any]:
        conversation = tracker(
            text, goal="cancel", requested_slot=slot, subscription_options=PLANS
        )
        conversation.latest_message["slots"] = {}
        conversation.slots[slot] = None
        conversation.events.append({"event": "slot", "name": slot, "value": text})
        dispatcher = CollectingDispatcher()
        events = asyncio.run(form.run(dispatcher, conversation, domain))
        return slots(events)

    stopped = answer("never mind")
    assert stopped["goal"] == "stop" and stopped["requested_slot"] is None
    # an answer is validated as before: kept, and the form moves on
    answered = answer(reply)
    assert "goal" not in answered
    assert {name: answered.get(name) for name in kept} == kept
    assert answered.get("requested_slot") != slot


def test_changed_my_mind_while_asked_for_details_stops_a_cancellation() -> None:
    def taken(goal: str) -> dict[str, Any]:
        conversation = tracker("I changed my mind", intent="reactivate", goal=goal)
        conversation.active_loop = {"name": "identity_form"}
        return slots(run(ActionTakeRequest(), conversation)[1])

    assert taken("cancel") == {"goal": "stop"}
    # asked for the digits to check a status, it is an undo request as before
    assert taken("status")["goal"] == "reactivate"
