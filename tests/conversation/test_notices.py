"""The route the retry worker tells customers through (bot/channels/notices.py).

Only a caller with the notice key can add to a conversation, only to one that
exists, and only text; the customer's conversation goes on as before.
"""

from __future__ import annotations

import requests

from tests.support.stack import NOTICE_KEY, Stack


def post(stack: Stack, conversation_id: str, body: object, key: str = NOTICE_KEY):
    return requests.post(
        f"{stack.rasa_url}/webhooks/notices/conversations/{conversation_id}",
        json=body,
        headers={"X-Gracious-Notice-Key": key} if key else {},
        timeout=10,
    )


def test_a_notice_joins_the_conversation_and_it_goes_on(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    chat.say("hello")
    answer = post(stack, chat.sender, {"text": "A note from the team."})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"sent_live": False}  # REST callers read the tracker
    assert stack.bot_texts(chat.sender)[-1] == "A note from the team."
    assert "last 4 digits" in chat.say("cancel my subscription")


def test_without_the_key_or_with_a_wrong_one_nothing_is_added(stack: Stack) -> None:
    chat = stack.chat()
    chat.say("hello")
    before = stack.bot_texts(chat.sender)
    for key in ["", "wrong-" + NOTICE_KEY]:
        answer = post(stack, chat.sender, {"text": "spoofed"}, key=key)
        assert answer.status_code == 403 and "X-Gracious-Notice-Key" in answer.text
    assert stack.bot_texts(chat.sender) == before


def test_bad_bodies_and_unknown_conversations_get_a_clear_answer(
    stack: Stack,
) -> None:
    chat = stack.chat()
    chat.say("hello")
    before = stack.bot_texts(chat.sender)
    for body in [{}, {"text": ""}, {"text": 5}, ["text"], {"text": "x" * 2001}]:
        answer = post(stack, chat.sender, body)
        assert answer.status_code == 400 and '{"text": ...}' in answer.json()["error"]
    assert stack.bot_texts(chat.sender) == before
    answer = post(stack, "no-such-conversation-" + chat.sender, {"text": "hi"})
    assert answer.status_code == 404
    assert stack.bot_texts("no-such-conversation-" + chat.sender) == []
