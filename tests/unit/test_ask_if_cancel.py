"""Which dead-end messages the bot asks about ("do you want to cancel?")."""

from __future__ import annotations

import pytest

from bot.nlu import AskIfCancel
from bot.notes import (
    ASK_IF_CANCEL,
    CANCEL_GUARD,
    CANCEL_SECOND_OPINION,
    FOREIGN_CANCEL_OBJECT,
)
from tests.support.nlu import classified

ASK = AskIfCancel({"min_confidence": 0.05})


def note_for(intent, cancel, **notes):
    top = 1.0 - cancel
    message = classified(
        "a message", intent, top, [(intent, top), ("cancel_subscription", cancel)]
    )
    for key, value in notes.items():
        message.set(key, value)
    [processed] = ASK.process([message])
    return processed.get(ASK_IF_CANCEL)


@pytest.mark.parametrize("dead_end", ["out_of_scope", "nlu_fallback"])
def test_a_dead_end_with_a_cancel_request_in_its_ranking_is_asked_about(dead_end):
    assert note_for(dead_end, 0.33) == {"cancel_confidence": 0.33}
    assert note_for(dead_end, 0.05) == {"cancel_confidence": 0.05}


def test_a_cancel_request_ranked_below_the_threshold_is_not():
    assert note_for("out_of_scope", 0.049) is None
    no_cancel_at_all = classified("hi", "out_of_scope", 0.9, [("out_of_scope", 0.9)])
    assert ASK.process([no_cancel_at_all])[0].get(ASK_IF_CANCEL) is None


@pytest.mark.parametrize(
    "intent", ["cancel_subscription", "affirm", "check_status", "greet"]
)
def test_an_understood_message_is_not_asked_about(intent):
    assert note_for(intent, 0.4) is None


def test_the_guards_decisions_stand():
    assert note_for("out_of_scope", 0.4, **{FOREIGN_CANCEL_OBJECT: "order"}) is None
    sense = {"original_intent": "cancel_subscription", "sense": "maths"}
    assert note_for("out_of_scope", 0.4, **{CANCEL_GUARD: sense}) is None


def test_a_request_the_second_opinion_took_back_is_asked_about():
    # its cancel confidence was swapped with out_of_scope's, so it may be tiny
    doubt = {"original_intent": "cancel_subscription", "confidence": 0.52}
    assert note_for("out_of_scope", 0.01, **{CANCEL_SECOND_OPINION: doubt}) == {
        "cancel_confidence": 0.01,
        "doubted": True,
    }
