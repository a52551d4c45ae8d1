"""Asking for the email and the card digits again: other words, then a way out.

VOICE.md: the bot never asks the same question a third time in the same
words, and offers a person when it is not getting anywhere.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.identity import ActionAskCardLast4, ActionAskEmail


def ask(action: Any, channel: str, **slots: Any) -> tuple[str, dict[str, Any]]:
    message = {"text": "", "metadata": {"gracious": {"channel": channel}}}
    tracker = Tracker("c1", slots, message, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    counters = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    [said] = dispatcher.messages
    return said["text"], counters


@pytest.mark.parametrize("channel", ["rest", "sms"])
@pytest.mark.parametrize(
    "action, counter",
    [(ActionAskEmail(), "email_prompts"), (ActionAskCardLast4(), "card_prompts")],
)
def test_the_third_ask_has_other_words_and_offers_a_person(
    action: Any, counter: str, channel: str
) -> None:
    slots: dict[str, Any] = {}
    asked = []
    for _ in range(3):
        text, counters = ask(action, channel, **slots)
        asked.append(text)
        slots[counter] = counters[counter]
    assert slots[counter] == 3.0
    assert len(set(asked)) == 3, asked
    assert "talk to a person" in asked[2]
    assert all("talk to a person" not in text for text in asked[:2])
