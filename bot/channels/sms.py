"""The SMS channel: Twilio's inbound message webhook, answered with TwiML.

Twilio POSTs each text (From, To, Body, MessageSid...) and reads the reply
from the same HTTP response, within 15 seconds. The Messages API is used only
for what cannot wait for the customer's next text (a late turn's answer, an
outage receipt: sms_late.py, sms_outbound.py). A turn's replies go out as
one text, so they arrive in the order they were written (``sms_bodies``).
Every request must carry a valid X-Twilio-Signature; the sender's number is
the channel identity (the customer still confirms the card's last 4).

Carrier rules: bare STOP, CANCEL, END, QUIT, UNSUBSCRIBE, STOPALL (and
START, UNSTOP) are messaging opt-outs and opt-ins that Twilio handles. They
never reach the dialogue and get no answer; "cancel my plan" does.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import logging
import re
import time
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    UserMessage,
)
from sanic import Blueprint, response
from sanic.request import Request
from sqlalchemy import Column, DateTime, String, Table, Text, delete, select
from sqlalchemy.exc import IntegrityError

from bot.channels.inbound import add_health_route, prepare
from bot.channels.sms_late import STILL_RUNNING, TURN_ABANDONED_AFTER, LateReplies
from bot.channels.sms_outbound import SmsNotSent, TwilioSender
from bot.channels.sms_text import sms_bodies
from bot.channels.stopping import see_through
from bot.database import engine_for, log_failure, metadata
from bot.settings import SettingsError, settings

log = logging.getLogger(__name__)

# Twilio's default opt-out and opt-in keywords (its Advanced Opt-Out docs)
OPT_WORDS = {
    "STOP",
    "STOPALL",
    "STOP ALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "START",
    "UNSTOP",
}
HELP_WORDS = {"HELP", "INFO"}
HELP_TEXT = (
    "Gracious: text 'cancel my plan' to cancel your subscription, 'status' to check "
    "it, or 'talk to a person'. Reply STOP to opt out."
)
NO_TEXT = "Sorry, I can only read text. Text 'cancel my plan' to cancel, or HELP."
STILL_WORKING = "Still working on that. Text me again in a minute for the answer."
STILL_WORKING_TEXTING = "Still working on that. I'll text you the answer in a moment."
# After the late answer, for a customer whose new text was more than a nudge.
NEW_TEXT_NOT_READ = "That answers your last text. Send your new one again if needed."
LATE_TURN_FAILED = "Sorry, something went wrong on my side. Please text me again."
# A text that waited for a late turn which then answered some other way (a
# text of its own, or not at all): written before that answer, it is not read.
HELD_TEXT_NOT_READ = (
    "Sorry, I was still on your last text and did not read this one. "
    "Send it again if you still need it."
)
NUDGE = re.compile(r"^\W*(?:status|\?+|hello|hi|and|well|so|ok|any news)\W*$", re.I)
# From the request's arrival, waits included: Twilio gives up at 15.
TWILIO_DEADLINE_SECONDS = 12.0
# A turn's least time, however little of the above is left after a wait: a
# quick turn still answers in the webhook, a slow one is late at once (and
# the 3 s Twilio leaves are enough to note it).
TURN_SECONDS_AT_LEAST = 0.5
REPLAY_WAIT_SECONDS = 10.0
# Every delivery stores its reply within the deadline above (STILL_WORKING at
# worst): a claim unanswered this long belongs to a process that died.
CLAIM_ABANDONED_AFTER = dt.timedelta(minutes=2)
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

sms_replies = Table(
    "sms_replies",
    metadata,
    Column("message_sid", String(64), primary_key=True),
    Column("twiml", Text),  # NULL while the first delivery is being answered
    Column("received_at", DateTime, nullable=False),
)


def twilio_signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Return the X-Twilio-Signature Twilio computes for a form POST.

    Base64 of HMAC-SHA1, keyed with the auth token, over the full URL followed
    by every POST parameter's name and value, sorted by name.
    """
    payload = url + "".join(
        name + value for name, value in sorted(params, key=lambda p: p[0])
    )
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twiml(texts: list[str]) -> str:
    """Return TwiML answering with one turn's replies, ``texts``, as one text.

    A second <Message> only if they pass Twilio's 1600 characters together.
    """
    messages = "".join(
        f"<Message>{escape(body)}</Message>" for body in sms_bodies(texts)
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{messages}</Response>'


def _wait_ends(seconds: float, answer_by: Optional[float]) -> float:
    """Return when a wait of ``seconds`` from now ends, by ``answer_by`` at latest.

    Times are the running event loop's (monotonic).
    """
    ends = asyncio.get_running_loop().time() + seconds
    return ends if answer_by is None else min(ends, answer_by)


def _twiml_response(body: str) -> response.HTTPResponse:
    return response.text(body, content_type="application/xml")


class SmsOutput(CollectingOutputChannel):
    """Collects replies; named "sms" so domain responses' SMS variants apply."""

    @classmethod
    def name(cls) -> str:
        return "sms"


def sms_texts(messages: list[dict[str, Any]]) -> list[str]:
    """Turn the bot's replies into plain SMS texts: buttons become numbers."""
    texts = []
    for message in messages:
        text = message.get("text") or ""
        buttons = message.get("buttons") or []
        if buttons:
            text += " " + ", ".join(
                f"{n} {b['title']}" for n, b in enumerate(buttons, start=1)
            )
        if text.strip():
            texts.append(text.strip())
    return texts


class SmsChannel(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "sms"

    def __init__(self) -> None:
        config = settings()
        self.auth_token = config.twilio_auth_token
        self.public_url = config.twilio_public_url
        self.skip_signature = config.sms_insecure_skip_signature
        self.database_url = config.bot_database_url
        self.late = LateReplies(config.bot_database_url)
        self._late_turns: set[asyncio.Future[None]] = set()
        # Senders whose late turns run with no row to say so (the database
        # failed at the deadline), with when each began: their texts wait as
        # if the row said it. One entry per turn, so a second turn's end does
        # not let texts through while the first runs; none is held longer
        # than a row would be. In this process only; another instance has
        # only the database.
        self._unnoted: dict[str, list[float]] = {}
        # Without outbound texts, a late answer waits for the customer's next.
        self.texter: Optional[TwilioSender] = None
        if config.twilio_account_sid and config.twilio_from_number:
            self.texter = TwilioSender(
                config.twilio_account_sid,
                config.twilio_auth_token,
                config.twilio_from_number,
                config.twilio_api_url,
            )
        if not self.auth_token and not self.skip_signature:
            raise SettingsError(
                "TWILIO_AUTH_TOKEN is not set: the SMS channel cannot check that "
                "messages come from Twilio. Set it (Twilio console, Account Info); "
                "for local development only, GRACIOUS_SMS_INSECURE_SKIP_SIGNATURE=1."
            )
        if self.skip_signature:
            log.warning(
                "SMS signature checks are OFF (GRACIOUS_SMS_INSECURE_SKIP_SIGNATURE)"
            )

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> SmsChannel:
        return cls()

    def _signed_url(self, request: Request) -> str:
        if not self.public_url:
            return request.url
        query = request.query_string
        return self.public_url + (
            f"?{query}" if query and "?" not in self.public_url else ""
        )

    def _authentic(self, request: Request, params: list[tuple[str, str]]) -> bool:
        if self.skip_signature:
            return True
        given = request.headers.get("x-twilio-signature", "")
        expected = twilio_signature(self.auth_token, self._signed_url(request), params)
        return bool(given) and hmac.compare_digest(given.encode(), expected.encode())

    # -- replays: Twilio may deliver the same message twice ------------------

    def _claim(self, message_sid: str) -> Optional[str]:
        """Claim a MessageSid: None if this delivery is to answer it.

        Otherwise the stored reply, or "" while another delivery is answering.
        A claim left unanswered for CLAIM_ABANDONED_AFTER (its process died
        mid-turn) is taken over, so a later retry is not silenced forever.
        """
        engine = engine_for(self.database_url)
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        try:
            with engine.begin() as connection:
                connection.execute(
                    sms_replies.insert().values(
                        message_sid=message_sid, twiml=None, received_at=now
                    )
                )
            return None
        except IntegrityError:
            with engine.begin() as connection:
                row = connection.execute(
                    select(sms_replies.c.twiml, sms_replies.c.received_at).where(
                        sms_replies.c.message_sid == message_sid
                    )
                ).first()
                if row is None or row.twiml is not None:
                    # None: released just now; the caller asks again
                    return "" if row is None else str(row.twiml)
                if now - row.received_at < CLAIM_ABANDONED_AFTER:
                    return ""
                taken = connection.execute(
                    sms_replies.update()
                    .where(
                        sms_replies.c.message_sid == message_sid,
                        sms_replies.c.twiml.is_(None),
                        sms_replies.c.received_at == row.received_at,
                    )
                    .values(received_at=now)
                )
            return None if taken.rowcount == 1 else ""

    def _store(self, message_sid: str, body: str) -> None:
        week_ago = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(
            days=7
        )
        with engine_for(self.database_url).begin() as connection:
            connection.execute(
                sms_replies.update()
                .where(sms_replies.c.message_sid == message_sid)
                .values(twiml=body)
            )
            connection.execute(
                delete(sms_replies).where(sms_replies.c.received_at < week_ago)
            )

    def _release(self, message_sid: str) -> None:
        with engine_for(self.database_url).begin() as connection:
            connection.execute(
                delete(sms_replies).where(sms_replies.c.message_sid == message_sid)
            )

    async def _replay(
        self, message_sid: str, stored: str, answer_by: Optional[float] = None
    ) -> Optional[str]:
        """Answer a repeat: the first reply, once it exists (wait briefly).

        None if this delivery is to run the turn after all: the first one
        failed and let go of its claim (or abandoned it). ``answer_by``: the
        event loop's time Twilio's deadline falls at, if sooner than the wait.
        """
        deadline = _wait_ends(REPLAY_WAIT_SECONDS, answer_by)
        while stored == "" and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.25)
            again = await asyncio.to_thread(self._claim, message_sid)
            if again is None:
                return None
            stored = again
        return stored or twiml([])

    # -- the webhook -----------------------------------------------------------

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = add_health_route(Blueprint("gracious_sms_webhook", __name__))

        @webhook.listener("before_server_stop")
        async def see_late_turns_through(app: Any, loop: Any) -> None:
            # A late turn's answer is kept, or texted, only when it ends; cut
            # off, the customer was promised one that never comes. (Texts in
            # flight are requests, which Sanic's own stop waits for.)
            await see_through(self._late_turns, "late SMS turn", app)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> response.HTTPResponse:
            # Twilio's time runs from here, through every wait before the turn
            # (for a repeat's first reply, for a late answer owed).
            answer_by = asyncio.get_running_loop().time() + TWILIO_DEADLINE_SECONDS
            try:
                params = parse_qsl(
                    (request.body or b"").decode("utf-8"),
                    keep_blank_values=True,
                    strict_parsing=False,
                )
            except UnicodeDecodeError:
                return response.text("Bad request", status=400)
            if not self._authentic(request, params):
                return response.text("Forbidden", status=403)
            form = dict(params)
            sender, message_sid = form.get("From", ""), form.get("MessageSid", "")
            if not E164.match(sender) or not message_sid:
                return response.text(
                    "From (E.164) and MessageSid are required", status=400
                )

            stored = await asyncio.to_thread(self._claim, message_sid)
            if stored is not None:
                replayed = await self._replay(message_sid, stored, answer_by)
                if replayed is not None:
                    return _twiml_response(replayed)
            body = self._answer_to(form)
            try:
                if body is None:
                    body = await self._late_answer(
                        sender, form.get("Body", ""), answer_by
                    )
                reply = (
                    twiml(body)
                    if body is not None
                    else await self._run_turn(
                        on_new_message, sender, form.get("Body", ""), answer_by
                    )
                )
            except Exception:
                # Let Twilio's retry of this message run the turn afresh.
                await asyncio.to_thread(self._release, message_sid)
                raise
            try:
                await asyncio.to_thread(self._store, message_sid, reply)
            except Exception as error:
                # The turn ran: a 500 would have Twilio deliver the text again.
                # (A retry anyway finds the claim unanswered: an empty answer
                # until it counts as abandoned, CLAIM_ABANDONED_AFTER.)
                log.error(
                    "the reply to SMS %s from %s was not stored: %s",
                    message_sid,
                    sender[-4:],
                    type(error).__name__,
                )
            return _twiml_response(reply)

        return webhook

    @staticmethod
    def _answer_to(form: dict[str, str]) -> Optional[list[str]]:
        """Answer what never reaches the dialogue; None for a normal message."""
        word = " ".join(form.get("Body", "").split()).upper()
        opt_out_type = form.get("OptOutType", "").upper()
        if opt_out_type == "STOP" or word in OPT_WORDS:
            return []  # Twilio answers opt-outs and opt-ins itself
        # A company may make YES an opt-in word (Advanced Opt-Out): Twilio
        # flags it START, and it is still the answer to our yes/no question.
        if word in HELP_WORDS:
            return [] if opt_out_type == "HELP" else [HELP_TEXT]
        if "Body" not in form or not form["Body"].strip():
            return [NO_TEXT]
        return None

    async def _run_turn(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        sender: str,
        body: str,
        answer_by: Optional[float] = None,
    ) -> str:
        """Run one text's turn; return the TwiML answer, "still working" if late.

        ``answer_by``: the event loop's time Twilio's deadline falls at, for a
        text that waited before its turn; TWILIO_DEADLINE_SECONDS from now if
        None.
        """
        now = asyncio.get_running_loop().time()
        if answer_by is None:
            answer_by = now + TWILIO_DEADLINE_SECONDS
        seconds = max(answer_by - now, TURN_SECONDS_AT_LEAST)
        text, metadata = prepare(body, "sms", {"kind": "phone", "value": sender})
        collector = SmsOutput()
        turn = asyncio.ensure_future(
            on_new_message(
                UserMessage(
                    text,
                    collector,
                    sender,
                    input_channel=self.name(),
                    metadata=metadata,
                )
            )
        )
        try:
            # The turn goes on if Twilio's deadline comes first (its state is
            # kept); the customer is told rather than left with silence, and
            # gets its answer later (bot/channels/sms_late.py).
            await asyncio.wait_for(asyncio.shield(turn), seconds)
        except asyncio.TimeoutError:
            log.warning("an SMS turn for %s passed Twilio's deadline", sender[-4:])
            try:
                await asyncio.to_thread(self.late.begin, sender)
                noted = True
            except Exception as error:
                # Failing the webhook would have Twilio retry this message and
                # run the turn a second time, while the first still runs.
                log_failure(
                    log,
                    error,
                    "a late SMS turn for %s was not noted: texts from that number "
                    "wait in this process until it ends",
                    sender[-4:],
                )
                noted = False
            since = None if noted else self._hold_texts(sender)
            late = asyncio.ensure_future(
                self._after_deadline(sender, collector, turn, since)
            )
            # referenced until done: the event loop holds tasks only weakly
            self._late_turns.add(late)
            late.add_done_callback(self._late_turns.discard)
            return twiml([STILL_WORKING_TEXTING if self.texter else STILL_WORKING])
        return twiml(sms_texts(collector.messages))

    async def _after_deadline(
        self,
        sender: str,
        collector: SmsOutput,
        turn: asyncio.Future[Any],
        since: Optional[float],
    ) -> None:
        """Keep what a late turn said, and text it if outbound texts are set up.

        ``since``: when the sender's texts began to be held in this process,
        None if the late turn's row was written at the deadline instead.
        """
        try:
            await turn
            texts = sms_texts(collector.messages)
        except Exception as error:
            log_failure(log, error, "a late SMS turn for %s failed", sender[-4:])
            texts = [*sms_texts(collector.messages), LATE_TURN_FAILED]
        try:
            await self._deliver_late(sender, texts, noted=since is None)
        except Exception as error:
            # Nobody awaits this task: an error not logged here is lost.
            log_failure(
                log, error, "the answer to a late SMS turn for %s was lost", sender[-4:]
            )
        finally:
            if since is not None:
                self._let_texts_through(sender, since)

    async def _deliver_late(self, sender: str, texts: list[str], noted: bool) -> None:
        # Not noted at the deadline: kept now, if the database is back, as the
        # still-working reply promised.
        keep = self.late.finish if noted else self.late.put_back
        try:
            await asyncio.to_thread(keep, sender, texts)
        except Exception as error:
            if self.texter is None:
                raise
            # Kept nowhere but here: text it now rather than lose it.
            log_failure(
                log,
                error,
                "the answer to a late SMS turn for %s was not kept; texting it",
                sender[-4:],
            )
            if await self._text_late_answer(self.texter, sender, texts):
                log.error("the answer to a late SMS turn for %s was lost", sender[-4:])
                return
            if noted:
                # the row noted at the deadline would hold the next text back
                try:
                    await asyncio.to_thread(self.late.forget_running, sender)
                except Exception as error:
                    log_failure(
                        log,
                        error,
                        "a late SMS turn's row for %s stays until it is abandoned",
                        sender[-4:],
                    )
            return
        if self.texter is None:
            return
        taken = await asyncio.to_thread(self.late.take, sender)
        if not isinstance(taken, list):
            return  # the customer's next text took it first
        unsent = await self._text_late_answer(self.texter, sender, taken)
        if unsent:
            # only what was not sent waits for the customer's next text
            await asyncio.to_thread(self.late.put_back, sender, unsent)

    @staticmethod
    async def _text_late_answer(
        texter: TwilioSender, sender: str, texts: list[str]
    ) -> list[str]:
        """Text a late turn's answer; return the bodies Twilio did not take.

        One text, as the webhook's answer would be (``sms_bodies``). After a
        refused body none of the rest is sent: it would arrive without it.
        """
        bodies = sms_bodies(texts)
        for sent, body in enumerate(bodies):
            try:
                await asyncio.to_thread(texter.send, sender, body)
            except SmsNotSent as error:
                log.warning("late answer to %s not texted: %s", sender[-4:], error)
                return bodies[sent:]
        return []

    def _hold_texts(self, sender: str) -> float:
        since = time.monotonic()
        self._unnoted.setdefault(sender, []).append(since)
        return since

    def _let_texts_through(self, sender: str, since: float) -> None:
        turns = self._unnoted.get(sender, [])
        if since in turns:
            turns.remove(since)
        if not turns:
            self._unnoted.pop(sender, None)

    def _texts_held(self, sender: str) -> bool:
        recent = time.monotonic() - TURN_ABANDONED_AFTER.total_seconds()
        return any(since > recent for since in self._unnoted.get(sender, []))

    async def _late_answer(
        self, sender: str, body: str, answer_by: Optional[float] = None
    ) -> Optional[list[str]]:
        """Return the answer a late turn owes this customer, before their new text.

        None when nothing is owed: the new text is a turn of its own.
        ``answer_by``: as for ``_replay``.
        """
        deadline = _wait_ends(REPLAY_WAIT_SECONDS, answer_by)
        held = False
        while True:
            taken = (
                STILL_RUNNING
                if self._texts_held(sender)
                else await asyncio.to_thread(self.late.take, sender)
            )
            if taken is None:
                # Held, then answered by a text of its own or not at all: this
                # text was written before that answer, and is not read into it.
                return [HELD_TEXT_NOT_READ] if held else None
            held = True
            if isinstance(taken, list):
                return taken + ([] if NUDGE.match(body) else [NEW_TEXT_NOT_READ])
            if asyncio.get_running_loop().time() >= deadline:
                # still running: the new text is not read into that turn
                return [STILL_WORKING_TEXTING if self.texter else STILL_WORKING]
            await asyncio.sleep(0.25)
