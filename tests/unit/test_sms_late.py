"""An SMS turn that outlives Twilio's deadline still reaches the customer.

The turn runs in the channel as it would in Rasa, with a stand-in for the
dialogue that takes longer than the (shortened) deadline; Twilio's Messages
API is the tests' fake, as everywhere.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import xml.etree.ElementTree as ET
from types import SimpleNamespace
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import urlencode

import pytest
from rasa.core.channels.channel import UserMessage
from sanic.response import HTTPResponse

from bot.channels import sms
from bot.channels.sms import SmsChannel, twiml
from bot.channels.sms_late import (
    STILL_RUNNING,
    TURN_ABANDONED_AFTER,
    LateReplies,
    LateRepliesUnavailable,
    sms_late_replies,
)
from bot.channels.sms_outbound import TwilioSender
from bot.database import engine_for
from tests.support.fake_http import ScriptedServer
from tests.support.sms import TWILIO_ACCOUNT_SID, texts_sent, twilio_messages_api

PHONE = "+15550001111"
OFFER = "Before you go: 50% off your next 3 months. Reply 1 to take it or 2 to cancel."
RECEIPT = "Done. Premium ends 15 Dec, no more charges. Code GR-7K2P9Q."
WHY = "Thanks for being with us. If you like, reply with why you left. No need to."


class SlowDialogue:
    """Answers every text with ``replies`` after ``seconds``; keeps what it read."""

    def __init__(
        self, seconds: float, fails: bool = False, replies: tuple[str, ...] = (OFFER,)
    ) -> None:
        self.seconds = seconds
        self.fails = fails
        self.replies = replies
        self.read: list[str] = []

    async def __call__(self, message: UserMessage) -> None:
        self.read.append(message.text or "")
        await asyncio.sleep(self.seconds)
        if self.fails:
            raise RuntimeError("billing client crashed")
        for reply in self.replies:
            await message.output_channel.send_text_message(message.sender_id, reply)


def channel(tmp_path: Any, texter: Optional[TwilioSender] = None) -> SmsChannel:
    """The channel's late-turn handling alone, on its own SQLite file."""
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    sms_channel = SmsChannel.__new__(SmsChannel)
    sms_channel.database_url = url
    sms_channel.late = LateReplies(url)
    sms_channel.texter = texter
    sms_channel._late_turns = set()
    sms_channel._unnoted = {}
    sms_channel.skip_signature = True  # the webhook's own tests check signatures
    return sms_channel


Webhook = Callable[[dict[str, str]], Awaitable[HTTPResponse]]


def webhook(
    sms_channel: SmsChannel, dialogue: Callable[[UserMessage], Awaitable[None]]
) -> Webhook:
    """The channel's Twilio webhook, called as Sanic would call it."""
    [route] = [
        route
        for route in sms_channel.blueprint(dialogue)._future_routes
        if route.uri == "/webhook"
    ]

    async def post(form: dict[str, str]) -> HTTPResponse:
        request = SimpleNamespace(body=urlencode(form).encode(), headers={})
        return await route.handler(request)

    return post


def messages(answer: HTTPResponse) -> list[str]:
    """The texts a TwiML answer sends, as Twilio reads them."""
    assert answer.status == 200 and answer.body is not None
    return [m.text or "" for m in ET.fromstring(answer.body).iter("Message")]


def refuse_late_replies(sms_channel: SmsChannel, refuse: bool = True) -> None:
    """Make the database refuse (or take again) every new late reply row."""
    with engine_for(sms_channel.database_url).begin() as connection:
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON sms_late_replies "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            if refuse
            else "DROP TRIGGER refuse"
        )


@pytest.fixture(autouse=True)
def short_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sms, "TWILIO_DEADLINE_SECONDS", 0.1)
    monkeypatch.setattr(sms, "REPLAY_WAIT_SECONDS", 0.1)
    monkeypatch.setattr(sms, "TURN_SECONDS_AT_LEAST", 0.01)


def test_a_late_offer_answers_the_next_text_which_is_not_read_as_its_answer(
    tmp_path: Any,
) -> None:
    phone = channel(tmp_path)
    dialogue = SlowDialogue(0.5)

    async def conversation() -> list[Any]:
        first = await phone._run_turn(dialogue, PHONE, "cancel my plan")
        # texted back while the turn still runs: that text is not read
        meanwhile = await phone._late_answer(PHONE, "2")
        await asyncio.sleep(0.8)
        owed = await phone._late_answer(PHONE, "no thanks")
        then = await phone._late_answer(PHONE, "2")
        return [first, meanwhile, owed, then]

    first, meanwhile, owed, then = asyncio.run(conversation())
    assert sms.STILL_WORKING in first and OFFER not in first
    assert meanwhile == [sms.STILL_WORKING]
    # the customer sees the offer before any answer to it is read
    assert owed == [OFFER, sms.NEW_TEXT_NOT_READ]
    # and reads both in one text, in that order
    assert [m.text for m in ET.fromstring(twiml(owed)).iter("Message")] == [
        f"{OFFER}\n\n{sms.NEW_TEXT_NOT_READ}"
    ]
    assert then is None  # owed once; the next text is a turn of its own
    assert dialogue.read == ["cancel my plan"]


def test_status_as_the_reply_said_gets_the_late_answer_alone(tmp_path: Any) -> None:
    phone = channel(tmp_path)

    async def conversation() -> Optional[list[str]]:
        await phone._run_turn(SlowDialogue(0.2), PHONE, "cancel my plan")
        await asyncio.sleep(0.4)
        return await phone._late_answer(PHONE, "Status?")

    assert asyncio.run(conversation()) == [OFFER]


def test_a_late_turn_that_fails_says_so(tmp_path: Any) -> None:
    phone = channel(tmp_path)

    async def conversation() -> Optional[list[str]]:
        await phone._run_turn(SlowDialogue(0.2, fails=True), PHONE, "cancel")
        await asyncio.sleep(0.4)
        return await phone._late_answer(PHONE, "status")

    assert asyncio.run(conversation()) == [sms.LATE_TURN_FAILED]


def test_with_outbound_texts_the_late_answer_is_texted_once(tmp_path: Any) -> None:
    with ScriptedServer(twilio_messages_api) as twilio:
        texter = TwilioSender(TWILIO_ACCOUNT_SID, "token", "+15550009999", twilio.url)
        phone = channel(tmp_path, texter)
        dialogue = SlowDialogue(0.2, replies=(RECEIPT, WHY))

        async def conversation() -> list[Any]:
            first = await phone._run_turn(dialogue, PHONE, "cancel")
            await asyncio.sleep(0.6)
            return [first, await phone._late_answer(PHONE, "status")]

        first, next_text = asyncio.run(conversation())
        sent = texts_sent(twilio)
    assert sms.STILL_WORKING_TEXTING in first
    # the receipt and the question after it, in one text: in that order
    assert [(t["To"], t["Body"]) for t in sent] == [(PHONE, f"{RECEIPT}\n\n{WHY}")]
    assert next_text is None  # nothing owed any more


def test_a_late_answer_of_two_texts_keeps_only_the_unsent_one(tmp_path: Any) -> None:
    long_offer, long_why = "o" * 1000, "w" * 1000  # 2,002 characters: two texts
    refused_second = ScriptedServer(
        lambda n: twilio_messages_api(n) if n == 1 else (500, b"{}", 0.0)
    )
    with refused_second as twilio:
        texter = TwilioSender(TWILIO_ACCOUNT_SID, "token", "+15550009999", twilio.url)
        phone = channel(tmp_path, texter)
        dialogue = SlowDialogue(0.2, replies=(long_offer, long_why))

        async def conversation() -> Optional[list[str]]:
            await phone._run_turn(dialogue, PHONE, "cancel")
            await asyncio.sleep(0.6)
            return await phone._late_answer(PHONE, "status")

        owed = asyncio.run(conversation())
        sent = [t["Body"] for t in texts_sent(twilio)]
    assert sent == [long_offer, long_why]  # the second one refused
    assert owed == [long_why]  # the first is not sent again


def test_a_late_answer_twilio_refused_waits_for_the_next_text(tmp_path: Any) -> None:
    with ScriptedServer(lambda n: (500, b"{}", 0.0)) as twilio:
        texter = TwilioSender(TWILIO_ACCOUNT_SID, "token", "+15550009999", twilio.url)
        phone = channel(tmp_path, texter)

        async def conversation() -> Optional[list[str]]:
            await phone._run_turn(SlowDialogue(0.2), PHONE, "cancel")
            await asyncio.sleep(0.6)
            return await phone._late_answer(PHONE, "status")

        assert asyncio.run(conversation()) == [OFFER]
        assert len(texts_sent(twilio)) == 1  # tried once


def test_a_late_turn_the_database_would_not_note_runs_once_and_says_so(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Noting a late turn failed the webhook: Twilio's retry ran it again."""
    phone = channel(tmp_path)
    refuse_late_replies(phone)
    dialogue = SlowDialogue(0.3)
    post = webhook(phone, dialogue)
    text = {"From": PHONE, "Body": "cancel my plan", "MessageSid": "SM1"}

    async def twilio_delivers_and_retries() -> list[HTTPResponse]:
        first = await post(text)
        again = await post(text)  # a retry of the same message
        await asyncio.sleep(0.6)  # the turn ends; its answer cannot be kept either
        return [first, again]

    with caplog.at_level(logging.WARNING, logger="bot.channels.sms"):
        first, again = asyncio.run(twilio_delivers_and_retries())
    assert messages(first) == [sms.STILL_WORKING]
    assert messages(again) == [sms.STILL_WORKING]
    assert dialogue.read == ["cancel my plan"]  # one turn
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2 and all(r.exc_info for r in errors)
    assert "not noted" in errors[0].getMessage() and "1111" in errors[0].getMessage()
    assert "was lost" in errors[1].getMessage()
    # neither the number in full nor any text, though SQLAlchemy quotes them
    for secret in (PHONE, "cancel my plan", OFFER):
        assert secret not in caplog.text


def test_a_late_turn_not_noted_still_answers_once_the_database_is_back(
    tmp_path: Any,
) -> None:
    phone = channel(tmp_path)
    refuse_late_replies(phone)
    dialogue = SlowDialogue(0.3)
    post = webhook(phone, dialogue)

    async def conversation() -> list[HTTPResponse]:
        first = await post({"From": PHONE, "Body": "cancel it", "MessageSid": "SM1"})
        refuse_late_replies(phone, refuse=False)
        await asyncio.sleep(0.6)
        then = await post({"From": PHONE, "Body": "status?", "MessageSid": "SM2"})
        return [first, then]

    first, then = asyncio.run(conversation())
    assert messages(first) == [sms.STILL_WORKING]
    assert messages(then) == [OFFER]  # as the still-working text promised
    assert dialogue.read == ["cancel it"]


def test_a_turn_abandoned_by_a_dead_process_holds_nobody_up(tmp_path: Any) -> None:
    late = LateReplies(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    late.begin(PHONE)
    assert late.take(PHONE) is STILL_RUNNING
    with engine_for(late.database_url).begin() as connection:
        connection.execute(
            sms_late_replies.update().values(
                started_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
                - TURN_ABANDONED_AFTER
                - dt.timedelta(seconds=5)
            )
        )
    assert late.take(PHONE) is None
    assert late.take(PHONE) is None  # and the row is gone


def test_late_texts_are_taken_once(tmp_path: Any) -> None:
    late = LateReplies(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    late.begin(PHONE)
    late.finish(PHONE, ["one", "two"])
    assert late.take(PHONE) == ["one", "two"]
    assert late.take(PHONE) is None
    late.put_back(PHONE, ["one", "two"])
    assert late.take("+15550002222") is None  # another customer's are not theirs
    assert late.take(PHONE) == ["one", "two"]


def test_a_text_during_a_late_turn_not_noted_is_not_read_as_its_answer(
    tmp_path: Any,
) -> None:
    """The customer was told "still working": "2" cannot answer an unseen offer."""
    phone = channel(tmp_path)
    refuse_late_replies(phone)
    dialogue = SlowDialogue(0.4)
    post = webhook(phone, dialogue)

    async def conversation() -> list[HTTPResponse]:
        first = await post({"From": PHONE, "Body": "cancel it", "MessageSid": "SM1"})
        refuse_late_replies(phone, refuse=False)  # back before the turn ends
        meanwhile = await post({"From": PHONE, "Body": "2", "MessageSid": "SM2"})
        await asyncio.sleep(0.6)
        then = await post({"From": PHONE, "Body": "2", "MessageSid": "SM3"})
        return [first, meanwhile, then]

    first, meanwhile, then = asyncio.run(conversation())
    assert messages(first) == [sms.STILL_WORKING]
    assert messages(meanwhile) == [sms.STILL_WORKING]
    assert messages(then) == [f"{OFFER}\n\n{sms.NEW_TEXT_NOT_READ}"]
    assert dialogue.read == ["cancel it"]
    assert not phone._unnoted  # nobody held up any longer


def test_a_late_answer_that_cannot_be_kept_is_texted_from_memory(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with ScriptedServer(twilio_messages_api) as twilio:
        texter = TwilioSender(TWILIO_ACCOUNT_SID, "token", "+15550009999", twilio.url)
        phone = channel(tmp_path, texter)
        refuse_late_replies(phone)  # neither noted nor kept
        dialogue = SlowDialogue(0.2, replies=(RECEIPT, WHY))

        async def conversation() -> str:
            first = await phone._run_turn(dialogue, PHONE, "cancel")
            await asyncio.sleep(0.6)  # the turn ends; the database still refuses
            return first

        with caplog.at_level(logging.WARNING, logger="bot.channels.sms"):
            first = asyncio.run(conversation())
        sent = texts_sent(twilio)
    assert sms.STILL_WORKING_TEXTING in first
    assert [(t["To"], t["Body"]) for t in sent] == [(PHONE, f"{RECEIPT}\n\n{WHY}")]
    assert "was lost" not in caplog.text
    assert not phone._unnoted
    for secret in (PHONE, RECEIPT):
        assert secret not in caplog.text


def test_a_late_answer_kept_nowhere_and_refused_by_twilio_is_logged_as_lost(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    long_offer, long_why = "o" * 1000, "w" * 1000  # two texts
    with ScriptedServer(lambda n: (500, b"{}", 0.0)) as twilio:
        texter = TwilioSender(TWILIO_ACCOUNT_SID, "token", "+15550009999", twilio.url)
        phone = channel(tmp_path, texter)
        refuse_late_replies(phone)  # neither noted nor kept
        dialogue = SlowDialogue(0.2, replies=(long_offer, long_why))

        async def conversation() -> None:
            await phone._run_turn(dialogue, PHONE, "cancel")
            await asyncio.sleep(0.6)

        with caplog.at_level(logging.WARNING, logger="bot.channels.sms"):
            asyncio.run(conversation())
        sent = [t["Body"] for t in texts_sent(twilio)]
    assert sent == [long_offer]  # the second would arrive without the first
    assert "was lost" in caplog.text
    assert not phone._unnoted


def test_a_reply_the_database_would_not_store_is_still_the_answer(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The turn ran: a 500 would have Twilio deliver the text again."""
    phone = channel(tmp_path)
    with engine_for(phone.database_url).begin() as connection:
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE UPDATE ON sms_replies "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    dialogue = SlowDialogue(0.0)
    post = webhook(phone, dialogue)
    text = {"From": PHONE, "Body": "cancel my plan", "MessageSid": "SM1"}
    with caplog.at_level(logging.WARNING, logger="bot.channels.sms"):
        answer = asyncio.run(post(text))
    assert messages(answer) == [OFFER]
    assert dialogue.read == ["cancel my plan"]
    [error] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "1111" in error.getMessage() and "SM1" in error.getMessage()
    for secret in (PHONE, "cancel my plan", OFFER):
        assert secret not in caplog.text


def test_a_text_held_for_a_late_answer_texted_apart_is_not_read(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held while the turn ran, then its answer went out by a text of its own
    (kept nowhere): "2" was written before that answer and is not read."""
    monkeypatch.setattr(sms, "REPLAY_WAIT_SECONDS", 3.0)
    with ScriptedServer(twilio_messages_api) as twilio:
        texter = TwilioSender(TWILIO_ACCOUNT_SID, "token", "+15550009999", twilio.url)
        phone = channel(tmp_path, texter)
        refuse_late_replies(phone)  # neither noted nor kept
        dialogue = SlowDialogue(0.4)
        post = webhook(phone, dialogue)

        async def conversation() -> tuple[HTTPResponse, HTTPResponse]:
            first = await post(
                {"From": PHONE, "Body": "cancel my plan", "MessageSid": "SM1"}
            )
            # the next text's wait is not cut short by its own deadline
            monkeypatch.setattr(sms, "TWILIO_DEADLINE_SECONDS", 3.0)
            meanwhile = await post({"From": PHONE, "Body": "2", "MessageSid": "SM2"})
            return first, meanwhile

        first, meanwhile = asyncio.run(conversation())
        sent = texts_sent(twilio)
    assert messages(first) == [sms.STILL_WORKING_TEXTING]
    assert [t["Body"] for t in sent] == [OFFER]
    assert messages(meanwhile) == [sms.HELD_TEXT_NOT_READ]
    assert dialogue.read == ["cancel my plan"]


def test_a_late_answer_texted_from_memory_leaves_no_row_to_hold_the_next_text(
    tmp_path: Any,
) -> None:
    """Noted at the deadline, but the answer could not be kept: once it is
    texted, the customer's reply to it reaches the dialogue."""
    with ScriptedServer(twilio_messages_api) as twilio:
        texter = TwilioSender(TWILIO_ACCOUNT_SID, "token", "+15550009999", twilio.url)
        phone = channel(tmp_path, texter)
        dialogue = SlowDialogue(0.3)
        post = webhook(phone, dialogue)

        async def conversation() -> HTTPResponse:
            await post({"From": PHONE, "Body": "cancel my plan", "MessageSid": "SM1"})
            with engine_for(phone.database_url).begin() as connection:
                connection.exec_driver_sql(  # the answer cannot be kept
                    "CREATE TRIGGER refuse BEFORE UPDATE ON sms_late_replies "
                    "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
                )
            await asyncio.sleep(0.6)
            return await post({"From": PHONE, "Body": "1", "MessageSid": "SM2"})

        reply = asyncio.run(conversation())
        sent = texts_sent(twilio)
    assert [t["Body"] for t in sent] == [OFFER]
    assert messages(reply) == [sms.STILL_WORKING_TEXTING]  # a turn of its own
    assert dialogue.read == ["cancel my plan", "1"]


def test_texts_are_held_while_any_unnoted_turn_runs_and_not_for_ever(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    phone = channel(tmp_path)
    first, second = phone._hold_texts(PHONE), phone._hold_texts(PHONE)
    phone._let_texts_through(PHONE, first)
    assert phone._texts_held(PHONE)  # the second turn still runs
    phone._let_texts_through(PHONE, second)
    assert not phone._texts_held(PHONE) and not phone._unnoted

    phone._hold_texts(PHONE)
    later = sms.time.monotonic() + TURN_ABANDONED_AFTER.total_seconds() + 1
    monkeypatch.setattr(sms.time, "monotonic", lambda: later)
    assert not phone._texts_held(PHONE)  # as a row would be, once abandoned


def test_a_repeat_that_waited_for_the_first_delivery_answers_in_twilios_time(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twilio's 15 s run from the request: a repeat that waited for the first
    delivery of its text, which then failed, has only what is left for the
    turn it runs itself. A slow turn is late then, not answered past 15 s."""
    monkeypatch.setattr(sms, "TWILIO_DEADLINE_SECONDS", 1.5)
    monkeypatch.setattr(sms, "REPLAY_WAIT_SECONDS", 1.5)
    phone = channel(tmp_path)
    read: list[str] = []

    async def dialogue(message: UserMessage) -> None:
        read.append(message.text or "")
        await asyncio.sleep(1.0)  # well within a whole deadline
        if len(read) == 1:
            raise RuntimeError("billing client crashed")
        await message.output_channel.send_text_message(message.sender_id, OFFER)

    post = webhook(phone, dialogue)
    text = {"From": PHONE, "Body": "cancel my plan", "MessageSid": "SM1"}

    async def twilio_delivers_twice() -> list[HTTPResponse]:
        first = asyncio.ensure_future(post(text))
        while not read:  # the first delivery runs the turn
            await asyncio.sleep(0.01)
        again = await post(text)  # waits for the first, which fails at 1 s
        with pytest.raises(RuntimeError):
            await first
        await asyncio.sleep(1.2)  # the late turn ends; its answer is kept
        then = await post({"From": PHONE, "Body": "status", "MessageSid": "SM2"})
        return [again, then]

    again, then = asyncio.run(twilio_delivers_twice())
    assert messages(again) == [sms.STILL_WORKING]
    assert messages(then) == [OFFER]  # as the still-working text promised
    assert read == ["cancel my plan", "cancel my plan"]


def test_a_repeat_that_waited_then_waits_for_a_late_answer_only_in_twilios_time(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each wait is shorter than Twilio's time, two in a row are not: the
    second ends at the request's deadline, with the still-working reply."""
    phone = channel(tmp_path)
    dialogue = SlowDialogue(2.5)
    post = webhook(phone, dialogue)

    async def conversation() -> HTTPResponse:
        await phone._run_turn(dialogue, PHONE, "cancel my plan")  # late at once
        monkeypatch.setattr(sms, "TWILIO_DEADLINE_SECONDS", 2.0)
        monkeypatch.setattr(sms, "REPLAY_WAIT_SECONDS", 1.8)
        # "2" is being answered elsewhere; that delivery fails and lets go
        assert phone._claim("SM2") is None
        released = asyncio.get_running_loop().call_later(1.2, phone._release, "SM2")
        meanwhile = await post({"From": PHONE, "Body": "2", "MessageSid": "SM2"})
        released.cancel()
        await asyncio.sleep(0.8)  # the late turn ends
        return meanwhile

    meanwhile = asyncio.run(conversation())
    assert messages(meanwhile) == [sms.STILL_WORKING]
    assert dialogue.read == ["cancel my plan"]


def test_a_late_turns_row_the_database_will_not_drop_is_logged_without_it(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The answer could not be kept and was texted; its row is not dropped
    either, and the database's refusal quotes the row, as PostgreSQL's does."""
    with ScriptedServer(twilio_messages_api) as twilio:
        texter = TwilioSender(TWILIO_ACCOUNT_SID, "token", "+15550009999", twilio.url)
        phone = channel(tmp_path, texter)
        dialogue = SlowDialogue(0.3)
        post = webhook(phone, dialogue)

        async def conversation() -> None:
            await post({"From": PHONE, "Body": "cancel my plan", "MessageSid": "SM1"})
            with engine_for(phone.database_url).begin() as connection:
                connection.exec_driver_sql(
                    "CREATE TRIGGER refuse BEFORE UPDATE ON sms_late_replies "
                    "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
                )
                connection.exec_driver_sql(
                    "CREATE TRIGGER keep BEFORE DELETE ON sms_late_replies "
                    f"BEGIN SELECT RAISE(ABORT, 'Failing row contains ({PHONE})'); END"
                )
            await asyncio.sleep(0.6)

        with caplog.at_level(logging.WARNING, logger="bot.channels.sms"):
            asyncio.run(conversation())
        sent = texts_sent(twilio)
    assert [t["Body"] for t in sent] == [OFFER]
    [stays] = [r for r in caplog.records if "stays until" in r.getMessage()]
    # an error, as every failure of the late turn: the next text waits on it
    assert stays.levelno == logging.ERROR
    assert stays.getMessage() == (
        "a late SMS turn's row for 1111 stays until it is abandoned"
    )
    assert stays.exc_info and isinstance(stays.exc_info[1], LateRepliesUnavailable)
    assert "sms_late_replies: IntegrityError" in caplog.text
    assert PHONE not in caplog.text
