"""How the retry worker tells a customer about a cancellation it finished later.

The Rasa side of the notice (the route, the tracker, the widget) runs on the
whole stack: tests/conversation/test_requests.py and tests/browser/.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from typing import Any
from urllib.parse import parse_qs

import pytest

from bot import replies
from bot.billing.models import CancellationReceipt, Money
from bot.channels.notices import MAX_NOTICE_LENGTH, read_notice
from bot.channels.sms_outbound import NO_SID
from bot.channels.sms_text import MAX_BODY, septets, to_gsm7
from bot.pending import PendingCancellation
from bot.retry_worker import conversation_notifier, notice_parts, notifier
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


class NoticeRoute(ScriptedServer):
    """Rasa's notice route as the worker meets it (bot/channels/notices.py).

    It refuses what the real route refuses (``read_notice``: 400 and why),
    and holds a notice once per conversation and ``notice_id``. ``down_from``
    makes it answer 503 from that request on, as a Rasa server that stopped.
    """

    def __init__(self, down_from: int = 0) -> None:
        super().__init__(self._answer)
        self.down_from = down_from
        # (path, body) of every notice the conversation holds, in order
        self.held: list[tuple[str, dict[str, Any]]] = []

    def __enter__(self) -> NoticeRoute:
        super().__enter__()
        return self

    def _answer(self, number: int) -> tuple[int, bytes, float]:
        if self.down_from and number >= self.down_from:
            return 503, b"{}", 0.0
        path, body = self.paths[number - 1], json.loads(self.bodies[number - 1])
        notice = read_notice(body)
        if isinstance(notice, str):
            return 400, json.dumps({"error": notice}).encode(), 0.0
        notice_id = notice[2]
        if notice_id and (path, notice_id) in {
            (p, held.get("notice_id")) for p, held in self.held
        }:
            return 200, b'{"sent_live": false, "already_told": true}', 0.0
        self.held.append((path, body))
        return 200, b'{"sent_live": false}', 0.0

    @property
    def notices(self) -> list[dict[str, Any]]:
        return [body for _, body in self.held]


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
    with NoticeRoute() as rasa:
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
    with NoticeRoute() as rasa:
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
        NoticeRoute() as rasa,
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
        NoticeRoute() as rasa,
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
        NoticeRoute() as rasa,
    ):
        told = notifier(texting(rasa.url, twilio.url))(pending("sms"), receipts)
    bodies = [t["Body"] for t in texts_sent(twilio)]
    assert len(bodies) == 2 and all(septets(b) <= MAX_BODY for b in bodies)
    # each receipt whole in one text, in order, a blank line between them
    said = [part for body in bodies for part in body.split("\n\n")]
    assert said == [to_gsm7(replies.receipt_text(r, short=True)) for r in receipts]
    assert told == "sms " + " ".join(f"SM{n:032d}" for n in (1, 2))
    # the conversation's transcript holds both texts: together they are longer
    # than one notice may be, so each is a notice of its own
    assert [notice["text"] for notice in rasa.notices] == bodies


def test_when_twilio_refuses_the_second_text_the_first_is_still_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused_second = ScriptedServer(
        lambda n: twilio_messages_api(n) if n == 1 else (400, b"{}", 0.0)
    )
    with refused_second as twilio, NoticeRoute() as rasa:
        notify = notifier(texting(rasa.url, twilio.url))
        with caplog.at_level(logging.WARNING, "gracious.retry_worker"):
            told = notify(pending("sms"), plans(20))
    first, _ = [t["Body"] for t in texts_sent(twilio)]
    assert told == f"sms SM{1:032d} (1 of 2 texts)"
    # the transcript shows what the customer got, not what was refused
    assert [notice["text"] for notice in rasa.notices] == [first]
    assert "text failed (1 of 2 sent)" in caplog.text


def notice_ids(count: int) -> list[str]:
    return ["pending-cancellation-7"] + [
        f"pending-cancellation-7-{part}" for part in range(2, count + 1)
    ]


def test_many_receipts_reach_the_chat_in_notices_the_route_takes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    receipts = plans(30)  # about 5,600 characters together
    with NoticeRoute() as rasa:
        notify = conversation_notifier(settings_for(rasa.url))
        with caplog.at_level(logging.WARNING, "gracious.retry_worker"):
            assert notify(pending(), receipts) == "conversation"
            # a worker that died before writing it down tells the customer again
            assert notify(pending(), receipts) == "conversation"
    assert "not told" not in caplog.text
    texts = [notice["text"] for notice in rasa.notices]
    assert all(len(text) <= MAX_NOTICE_LENGTH for text in texts)
    # posted twice, held once: each part has its own id
    assert len(rasa.requests) == 2 * len(texts) == 6
    assert [notice["notice_id"] for notice in rasa.notices] == notice_ids(3)
    # in order, every receipt whole in one notice
    said = [replies.DONE_LATER, *(replies.receipt_text(r) for r in receipts)]
    assert " ".join(texts) == " ".join(said)
    assert all(sum(line in text for text in texts) == 1 for line in said)


def test_notices_after_one_that_failed_wait_and_are_added_once_posted_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    receipts = plans(30)
    with NoticeRoute(down_from=2) as rasa:
        notify = conversation_notifier(settings_for(rasa.url))
        with caplog.at_level(logging.WARNING, "gracious.retry_worker"):
            assert notify(pending(), receipts) is None
        told_first = [notice["notice_id"] for notice in rasa.notices]
        asked_first = len(rasa.requests)
        rasa.down_from = 0
        # posting again (as a worker that died would) adds only what is missing
        assert notify(pending(), receipts) == "conversation"
    assert told_first == notice_ids(1) and asked_first == 2
    assert "not told in the chat (1 of 3 notices posted)" in caplog.text
    assert [notice["notice_id"] for notice in rasa.notices] == notice_ids(3)
    said = [replies.DONE_LATER, *(replies.receipt_text(r) for r in receipts)]
    assert " ".join(notice["text"] for notice in rasa.notices) == " ".join(said)


def test_a_transcript_of_many_texts_is_written_in_notices_the_route_takes() -> None:
    receipts = plans(40)  # three texts
    with (
        ScriptedServer(twilio_messages_api) as twilio,
        NoticeRoute() as rasa,
    ):
        notify = notifier(texting(rasa.url, twilio.url))
        told = notify(pending("sms", "+15555550100"), receipts)
        # a worker that died before writing it down posts the transcript again
        notify(pending("sms", "+15555550100"), receipts)
    bodies = [text["Body"] for text in texts_sent(twilio)][:3]
    assert told == "sms " + " ".join(f"SM{n:032d}" for n in (1, 2, 3))
    # each text whole, in order, once: two would not fit in one notice
    assert [notice["text"] for notice in rasa.notices] == bodies
    assert [notice["notice_id"] for notice in rasa.notices] == notice_ids(3)
    assert all(notice["sent_by"] == "sms" for notice in rasa.notices)
    assert set(rasa.paths) == {"/webhooks/notices/conversations/%2B15555550100"}
    assert len(rasa.requests) == 6


def test_a_receipt_longer_than_a_notice_is_cut_between_sentences() -> None:
    plan = " ".join(f"Plan part {n} of a very long name." for n in range(120))
    receipt = dataclasses.replace(RECEIPT, plan_name=plan)
    with NoticeRoute() as rasa:
        told = conversation_notifier(settings_for(rasa.url))(pending(), [receipt])
    assert told == "conversation"
    texts = [notice["text"] for notice in rasa.notices]
    assert len(texts) > 2 and all(len(text) <= MAX_NOTICE_LENGTH for text in texts)
    assert all(text.endswith(".") for text in texts)
    said = f"{replies.DONE_LATER} {replies.receipt_text(receipt)}"
    assert " ".join(texts) == said


def test_a_piece_with_no_sentence_end_is_cut_between_words_or_where_it_must() -> None:
    words = " ".join(["word"] * 1000)  # 4,999 characters
    parts = notice_parts([words], " ")
    assert " ".join(parts) == words
    assert all(set(part.split(" ")) == {"word"} for part in parts)
    assert all(len(part) <= MAX_NOTICE_LENGTH for part in parts)
    one_word = "x" * (2 * MAX_NOTICE_LENGTH + 1)
    assert notice_parts([one_word], " ") == [
        "x" * MAX_NOTICE_LENGTH,
        "x" * MAX_NOTICE_LENGTH,
        "x",
    ]


def test_a_text_twilio_took_without_naming_it_is_sent_once_and_written_down() -> None:
    with (
        ScriptedServer(lambda n: (201, b"<Response>queued</Response>", 0)) as twilio,
        NoticeRoute() as rasa,
    ):
        told = notifier(texting(rasa.url, twilio.url))(pending("sms"), [RECEIPT])
    assert told == f"sms {NO_SID}"
    [text] = texts_sent(twilio)
    assert [notice["text"] for notice in rasa.notices] == [text["Body"]]
