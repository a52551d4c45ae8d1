"""The word "cancel" used in another sense is not a cancel request."""

import pytest

from bot.nlu import CancelTargetGuard
from bot.nlu.other_senses import other_sense
from tests.support.nlu import classified


@pytest.mark.parametrize(
    "text, found",
    [
        ("how to cancel out fractions", "cancel out"),
        ("do these two terms cancel out?", "cancel out"),
        ("my noise cancelling headphones stopped working", "noise cancelling"),
        ("is noise-cancelling worth it on a plane", "noise-cancelling"),
        ("what do you think about cancel culture", "cancel culture"),
        ("synonyms for cancel", "the word 'cancel'"),
        ("how do you spell cancellation", "the word 'cancellation'"),
        ("translate cancel my subscription into german", "the word 'cancel'"),
        ("what's the meaning of cancel", "the word 'cancel'"),
        ("what does cancel mean", "the word 'cancel'"),
    ],
)
def test_other_senses_of_the_word_are_found(text, found):
    assert other_sense(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "cancel my subscription",
        "I've been meaning to cancel for ages, do it now",
        "cancel my Spanish course",
        "cancel, the noise from the ads is too much",
        "what do I need to say to cancel?",
        "how do I cancel? what does it take",
        "I want out, cancel it",
        "how do I cancel out of my membership",
    ],
)
def test_requests_are_left_alone(text):
    assert other_sense(text) is None


def test_guard_turns_another_sense_out_of_scope_without_a_foreign_object():
    msg = classified(
        "how to cancel out fractions",
        "cancel_subscription",
        0.9,
        [("cancel_subscription", 0.9), ("out_of_scope", 0.1)],
    )
    CancelTargetGuard(CancelTargetGuard.get_default_config()).process([msg])
    assert msg.get("intent") == {"name": "out_of_scope", "confidence": 0.9}
    assert msg.get("cancel_guard") == {
        "original_intent": "cancel_subscription",
        "sense": "cancel out",
    }
    # the reply must not say "I can only end the subscription with us"
    assert msg.get("foreign_cancel_object") is None
