"""The route the retry worker tells customers through (bot/channels/notices.py).

Only a caller with the notice key can add to a conversation, only to one that
exists, and only text; the customer's conversation goes on as before.
"""

from __future__ import annotations

from urllib.parse import quote

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
    for body, named in [
        ({"text": "hi", "sent_by": "pigeon"}, '"sent_by"'),
        ({"text": "hi", "notice_id": 7}, '"notice_id"'),
        ({"text": "hi", "notice_id": "n" * 101}, '"notice_id"'),
    ]:
        answer = post(stack, chat.sender, body)
        assert answer.status_code == 400 and named in answer.json()["error"]
    assert stack.bot_texts(chat.sender) == before
    answer = post(stack, "no-such-conversation-" + chat.sender, {"text": "hi"})
    assert answer.status_code == 404
    assert stack.bot_texts("no-such-conversation-" + chat.sender) == []


def test_a_notice_posted_twice_is_in_the_conversation_once(stack: Stack) -> None:
    chat = stack.chat()
    chat.say("hello")
    body = {"text": "Your cancellation went through.", "notice_id": "pending-1"}
    assert post(stack, chat.sender, body).json() == {"sent_live": False}
    again = post(stack, chat.sender, body)
    assert again.status_code == 200
    assert again.json() == {"sent_live": False, "already_told": True}
    other = {"text": "Your cancellation went through.", "notice_id": "pending-2"}
    assert post(stack, chat.sender, other).status_code == 200
    assert stack.bot_texts(chat.sender).count("Your cancellation went through.") == 2


def test_a_text_already_sent_is_recorded(stack: Stack) -> None:
    # That it is not sent again is checked on widget sockets, which get
    # notices live: tests/conversation/test_production_path.py
    chat = stack.chat()
    chat.say("hello")
    body = {"text": "Done. Premium is cancelled.", "sent_by": "sms"}
    answer = post(stack, chat.sender, body)
    assert answer.status_code == 200 and answer.json() == {"sent_live": False}
    assert stack.bot_texts(chat.sender)[-1] == "Done. Premium is cancelled."


def test_a_conversation_id_with_reserved_characters_is_found(stack: Stack) -> None:
    chat = stack.chat()
    chat.sender = "+1555 a/b?c%d-" + chat.sender
    chat.say("hello")
    answer = post(stack, quote(chat.sender, safe=""), {"text": "Found you."})
    assert answer.status_code == 200, answer.text
    assert stack.bot_texts(chat.sender)[-1] == "Found you."
