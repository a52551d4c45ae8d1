"""How the retry worker tells a customer about a cancellation it finished later.

The Rasa side of the notice (the route, the tracker, the widget) runs on the
whole stack: tests/conversation/test_requests.py and tests/browser/.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from urllib.parse import parse_qs

import pytest

from bot import replies
from bot.billing.models import CancellationReceipt, Money
from bot.channels.sms_text import MAX_BODY, septets, to_gsm7
from bot.pending import PendingCancellation
from bot.retry_worker import conversation_notifier, notifier
from bot.settings import Settings
from tests.support.fake_http import ScriptedServer
from tests.support.sms import texts_sent, twilio_messages_api

KEY = "notice-key-" + "k" * 32
RECEIPT = CancellationReceipt(
    "sub_1",
    "Premium",
    "GR-7K2P9Q",
    dt.date(2026, 12, 31),
    False,
    dt.date(2026, 12, 31),
    Money(1500, "USD"),
    False,
)


def pending(
    channel: str = "web", conversation_id: str = "a b/c?d"
) -> PendingCancellation:
    return PendingCancellation(
        idempotency_key="key-1",
        conversation_id=conversation_id,
        channel=channel,
        customer_id="cus_1",
        first_name="Ana",
        token="",
        token_expires_at=dt.datetime(2026, 12, 1),
        reply_to="+15555550100" if channel == "sms" else None,
        id=7,
    )


def settings_for(url: str, key: str = KEY, **more: str) -> Settings:
    return Settings(billing_api_key="x", rasa_url=url, notice_key=key, **more)


def texting(rasa_url: str, twilio_url: str) -> Settings:
    return settings_for(
        rasa_url,
        twilio_account_sid="AC1",
        twilio_auth_token="t",
        twilio_from_number="+15555550199",
        twilio_api_url=twilio_url,
    )


def test_the_receipt_goes_into_the_conversation_it_was_asked_in() -> None:
    with ScriptedServer(lambda n: (200, b'{"sent_live": true}', 0)) as rasa:
        told = conversation_notifier(settings_for(rasa.url))(pending(), [RECEIPT])
    assert told == "conversation"
    # the conversation id is one path segment, whatever it holds
    assert rasa.paths == ["/webhooks/notices/conversations/a%20b%2Fc%3Fd"]
    assert rasa.requests[0]["x-gracious-notice-key"] == KEY
    body = json.loads(rasa.bodies[0])
    # one notice per saved cancellation, however often it is posted
    assert body["notice_id"] == "pending-cancellation-7"
    text = body["text"]
    assert text.startswith(replies.DONE_LATER)
    assert "GR-7K2P9Q" in text and replies.receipt_text(RECEIPT) in text


@pytest.mark.parametrize(
    "status, delay", [(403, 0.0), (404, 0.0), (503, 0.0), (200, 1.0)]
)
def test_a_notice_that_does_not_arrive_is_logged_and_not_retried(
    status: int, delay: float, caplog: pytest.LogCaptureFixture
) -> None:
    with ScriptedServer(lambda n: (status, b"{}", delay)) as rasa:
        notify = conversation_notifier(settings_for(rasa.url), timeout=(1.0, 0.3))
        with caplog.at_level(logging.WARNING, "gracious.retry_worker"):
            assert notify(pending(), [RECEIPT]) is None
    assert len(rasa.requests) == 1
    assert "not told in the chat" in caplog.text


def test_without_a_notice_key_nothing_is_sent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with ScriptedServer(lambda n: (200, b"{}", 0)) as rasa:
        with caplog.at_level(logging.WARNING, "gracious.retry_worker"):
            told = conversation_notifier(settings_for(rasa.url, key=""))(
                pending(), [RECEIPT]
            )
    assert told is None and rasa.requests == []
    assert "GRACIOUS_NOTICE_KEY" in caplog.text


def test_sms_customers_are_texted_and_others_told_in_the_chat() -> None:
    twilio_reply = b'{"sid": "SM123"}'
    with (
        ScriptedServer(lambda n: (201, twilio_reply, 0)) as twilio,
        ScriptedServer(lambda n: (200, b"{}", 0)) as rasa,
    ):
        notify = notifier(texting(rasa.url, twilio.url))
        assert notify(pending("sms", "+15555550100"), [RECEIPT]) == "sms SM123"
        assert notify(pending("web"), [RECEIPT]) == "conversation"
        assert notify(pending("rest"), [RECEIPT]) == "conversation"
    assert len(twilio.requests) == 1 and len(rasa.requests) == 3
    # The text is written into the SMS conversation as sent, not sent again.
    assert rasa.paths[0] == "/webhooks/notices/conversations/%2B15555550100"
    short = replies.receipt_text(RECEIPT, short=True)
    assert json.loads(rasa.bodies[0]) == {
        "text": short,
        "sent_by": "sms",
        "notice_id": "pending-cancellation-7",
    }
    assert parse_qs(twilio.bodies[0].decode())["Body"] == [to_gsm7(short)]


def test_a_text_that_twilio_refused_is_not_written_into_the_conversation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        ScriptedServer(lambda n: (400, b'{"message": "bad number"}', 0)) as twilio,
        ScriptedServer(lambda n: (200, b"{}", 0)) as rasa,
    ):
        notify = notifier(texting(rasa.url, twilio.url))
        with caplog.at_level(logging.WARNING, "gracious.retry_worker"):
            assert notify(pending("sms"), [RECEIPT]) is None
    assert len(twilio.requests) == 1 and rasa.requests == []
    assert "text failed (0 of 1 sent)" in caplog.text


def plans(count: int) -> list[CancellationReceipt]:
    """Receipts for a customer who had ``count`` plans, each its own code."""
    return [
        dataclasses.replace(
            RECEIPT,
            subscription_id=f"sub_{n}",
            plan_name=f"Plan {n}",
            confirmation_code=f"GR-{n:06d}",
        )
        for n in range(1, count + 1)
    ]


def test_many_receipts_are_texted_whole_in_as_few_texts_as_twilio_takes() -> None:
    receipts = plans(20)  # about 2,000 characters together
    with (
        ScriptedServer(twilio_messages_api) as twilio,
        ScriptedServer(lambda n: (200, b"{}", 0)) as rasa,
    ):
        told = notifier(texting(rasa.url, twilio.url))(pending("sms"), receipts)
    bodies = [t["Body"] for t in texts_sent(twilio)]
    assert len(bodies) == 2 and all(septets(b) <= MAX_BODY for b in bodies)
    # each receipt whole in one text, in order, a blank line between them
    said = [part for body in bodies for part in body.split("\n\n")]
    assert said == [to_gsm7(replies.receipt_text(r, short=True)) for r in receipts]
    assert told == "sms " + " ".join(f"SM{n:032d}" for n in (1, 2))
    # the conversation's transcript holds both texts
    assert json.loads(rasa.bodies[0])["text"] == "\n\n".join(bodies)


def test_when_twilio_refuses_the_second_text_the_first_is_still_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused_second = ScriptedServer(
        lambda n: twilio_messages_api(n) if n == 1 else (400, b"{}", 0.0)
    )
    with refused_second as twilio, ScriptedServer(lambda n: (200, b"{}", 0)) as rasa:
        notify = notifier(texting(rasa.url, twilio.url))
        with caplog.at_level(logging.WARNING, "gracious.retry_worker"):
            told = notify(pending("sms"), plans(20))
    first, _ = [t["Body"] for t in texts_sent(twilio)]
    assert told == f"sms SM{1:032d} (1 of 2 texts)"
    # the transcript shows what the customer got, not what was refused
    assert json.loads(rasa.bodies[0])["text"] == first
    assert "text failed (1 of 2 sent)" in caplog.text
