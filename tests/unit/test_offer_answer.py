"""Only a clear yes takes the retention offer; anything else cancels now."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.retention import CLEAR_YES, ValidateOfferForm
from bot.flow import STOP


def validated(value: Any, text: str, intent: str, confidence: float) -> dict:
    message = {"text": text, "intent": {"name": intent, "confidence": confidence}}
    tracker = Tracker("c1", {}, message, [], False, None, {}, "action_listen")
    return ValidateOfferForm().validate_offer_answer(
        value, CollectingDispatcher(), tracker, {}
    )


def answer(value: Any, text: str, intent: str, confidence: float) -> str:
    return validated(value, text, intent, confidence)["offer_answer"]


@pytest.mark.parametrize(
    "value, text, intent, confidence, expected",
    [
        ("yes", "yes please", "affirm", 1.0, "yes"),
        ("yes", "/affirm", "affirm", 1.0, "yes"),  # the button
        ("yes", "sounds good", "affirm", CLEAR_YES, "yes"),
        # the vote split (two affirm, one greet): not a clear yes
        ("yes", "both", "affirm", 0.475, "no"),
        ("1", "1", "affirm", 1.0, "yes"),  # SMS: "Reply 1 to take it"
        ("1", "1", "out_of_scope", 0.5, "yes"),
        ("no thanks", "no thanks", "deny", 1.0, "no"),
        ("just cancel", "just cancel", "cancel_subscription", 0.99, "no"),
        ("2", "2", "deny", 1.0, "no"),
        ("maybe later", "maybe later", "out_of_scope", 0.7, "no"),
    ],
)
def test_only_a_clear_yes_takes_the_offer(
    value: Any, text: str, intent: str, confidence: float, expected: str
) -> None:
    assert answer(value, text, intent, confidence) == expected


@pytest.mark.parametrize(
    "text, intent, confidence, stays",
    [
        # it used to cancel the plan of a customer who said they would stay
        ("I changed my mind, I'll stay", "reactivate", 0.98, True),
        ("no, keep it", "deny", 0.9, True),
        ("actually keep my subscription as it is", "reactivate", 0.95, True),
        ("please don't cancel", "out_of_scope", 0.5, True),
        # every no still cancels at once
        ("no", "deny", 1.0, False),
        ("no thanks, just cancel it", "deny", 0.99, False),
        ("never mind, cancel", "cancel_subscription", 0.9, False),
        ("2", "reactivate", 0.7, False),  # SMS: "2 to cancel now"
        ("hmm", "reactivate", 0.4, False),  # not sure: a no
    ],
)
def test_staying_is_neither_a_yes_nor_a_no(
    text: str, intent: str, confidence: float, stays: bool
) -> None:
    answered = validated(text, text, intent, confidence)
    assert answered["offer_answer"] == "no"
    assert (answered.get("goal") == STOP) is stays
