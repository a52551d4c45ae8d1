"""Only a clear yes takes the retention offer; anything else cancels now."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.retention import CLEAR_YES, ValidateOfferForm


def answer(value: Any, text: str, intent: str, confidence: float) -> str:
    message = {"text": text, "intent": {"name": intent, "confidence": confidence}}
    tracker = Tracker("c1", {}, message, [], False, None, {}, "action_listen")
    validated = ValidateOfferForm().validate_offer_answer(
        value, CollectingDispatcher(), tracker, {}
    )
    return validated["offer_answer"]


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
