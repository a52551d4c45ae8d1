"""Carry out the cancellations billing could not take when the customer asked.

Run beside the action server (``python -m bot.retry_worker``; ``./gracious
run`` starts it). Every GRACIOUS_RETRY_INTERVAL_SECONDS it takes the due
requests from ``bot.pending`` and cancels through billing with the key of
the first attempt. What happens to each one:

- cancelled: the customer is told: texted the confirmation if they wrote by
  SMS (and the text written into that conversation's transcript), or given
  it in their conversation otherwise (bot/channels/notices.py: an open
  widget shows it at once); billing emails its receipt to every customer in
  any case;
- nothing left to cancel (already ended, or not theirs): closed, no text;
- billing still down: tried again later, waiting longer each time;
- billing no longer honours the verification (past its grace period), or
  the customer has several plans and never said which: handed to the
  helpdesk queue, so a person finishes it. It is never dropped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import signal
import threading
from typing import Callable, Optional
from urllib.parse import quote

import requests

from bot import handoff, replies
from bot.billing import (
    BillingBackend,
    BillingConflict,
    BillingError,
    BillingUnavailable,
    Caller,
    CancellationReceipt,
    NotFound,
    Verification,
    VerificationExpired,
)
from bot.channels.notice_contract import KEY_HEADER, MAX_NOTICE_LENGTH
from bot.channels.sms_outbound import SmsNotSent, TwilioSender
from bot.channels.sms_text import BETWEEN_REPLIES, sms_bodies
from bot.database import log_failure
from bot.flow import cancellable, one_or_named
from bot.pending import PendingCancellation, PendingStore
from bot.settings import Settings

log = logging.getLogger("gracious.retry_worker")

Notify = Callable[[PendingCancellation, list[CancellationReceipt]], Optional[str]]


class NeedsStaff(Exception):
    """The request cannot be completed automatically; the text says why."""


def _verification(pending: PendingCancellation) -> Verification:
    expires = pending.token_expires_at.replace(tzinfo=dt.timezone.utc)
    return Verification(pending.customer_id, pending.first_name, pending.token, expires)


def _targets(billing: BillingBackend, pending: PendingCancellation) -> list[str]:
    if pending.subscription_id:
        return [pending.subscription_id]
    # Billing went down before we knew which plan: the only one open, or the
    # one (or "both") the request's words name, as in the conversation. A
    # plan named is looked for among the plans still running, whether or
    # not already set to end: if it was cancelled meanwhile (in the chat),
    # nothing is left to do, and the other plan, now "the only one" open,
    # must not be taken instead.
    running = [
        s
        for s in billing.subscriptions(_verification(pending))
        if s.status in ("active", "paused")
    ]
    open_ones = cancellable(running)
    named = one_or_named(running, pending.reason) if len(running) > 1 else None
    ids = named if named is not None else one_or_named(open_ones, pending.reason)
    if open_ones and ids is None:
        raise NeedsStaff("several subscriptions and the customer did not say which")
    still_open = {s.id for s in open_ones}
    return [i for i in ids or [] if i in still_open]


def carry_out(
    billing: BillingBackend,
    store: PendingStore,
    bot_database_url: str,
    pending: PendingCancellation,
    notify: Notify,
    backoff_seconds: float = 30.0,
) -> str:
    """Try one pending cancellation once; return what became of it."""
    caller = Caller(pending.channel, pending.conversation_id)
    try:
        receipts = [
            billing.cancel(
                _verification(pending),
                subscription_id,
                caller,
                # The key of the turn's own attempt (flow._key), per plan.
                pending.idempotency_key
                + ("" if pending.subscription_id else subscription_id),
                reason=pending.reason,
            )
            for subscription_id in _targets(billing, pending)
        ]
    except BillingUnavailable as error:
        when = store.retry_later(
            pending, f"billing unavailable: {error}", backoff_seconds
        )
        log.info("pending cancellation %s: billing down, next try %s", pending.id, when)
        return "retry"
    except (VerificationExpired, NeedsStaff) as error:
        why = (
            "verification no longer honoured"
            if isinstance(error, VerificationExpired)
            else str(error)
        )
        handoff.request_person(
            bot_database_url,
            pending.conversation_id,
            pending.channel,
            pending.customer_id,
            "Cancellation requested while billing was down; please complete it "
            f"by hand ({why}).",
        )
        store.finish(pending, "handed_to_staff", why)
        log.warning("pending cancellation %s handed to staff: %s", pending.id, why)
        return "handed_to_staff"
    except (BillingConflict, NotFound) as error:
        store.finish(pending, "nothing_to_cancel", str(error))
        return "nothing_to_cancel"
    except BillingError as error:
        # Refused for a reason we did not foresee: keep trying, loudly.
        log.exception("pending cancellation %s refused by billing", pending.id)
        store.retry_later(pending, f"billing refused: {error}", backoff_seconds)
        return "retry"
    if not receipts:
        store.finish(pending, "nothing_to_cancel", "no active subscription")
        return "nothing_to_cancel"
    sent = notify(pending, receipts)
    store.finish(
        pending,
        "cancelled",
        {"receipts": [dataclasses.asdict(r) for r in receipts], "told": sent},
    )
    return "cancelled"


def notice_parts(pieces: list[str], between: str) -> list[str]:
    """Return ``pieces`` joined by ``between`` into as few notices as the route takes.

    A notice ends only between pieces (a receipt, a text), so no receipt is
    read half in one message and half in the next. A piece longer than a
    notice on its own is cut at the last sentence end that fits, else the
    last space: the route refuses anything longer (MAX_NOTICE_LENGTH).
    """
    parts: list[str] = []
    for piece in pieces:
        for cut in _cut_to_notices(piece):
            if parts and len(parts[-1] + between + cut) <= MAX_NOTICE_LENGTH:
                parts[-1] += between + cut
            else:
                parts.append(cut)
    return parts


SENTENCE_END = re.compile(r"[.!?](?=\s)")


def _cut_to_notices(text: str) -> list[str]:
    """Cut ``text`` into pieces of at most MAX_NOTICE_LENGTH, between sentences."""
    cuts: list[str] = []
    text = text.strip()
    while len(text) > MAX_NOTICE_LENGTH:
        # one character more: a space just past the limit ends a word that fits
        window = text[: MAX_NOTICE_LENGTH + 1]
        sentences = [m.end() for m in SENTENCE_END.finditer(window)]
        words = [i for i, char in enumerate(window) if char.isspace()]
        # a word longer than a notice is cut where it must be
        end = (sentences or words or [MAX_NOTICE_LENGTH])[-1]
        cuts.append(text[:end].rstrip())
        text = text[end:].lstrip()
    return [*cuts, text] if text else cuts


def notice_id(pending: PendingCancellation, part: int) -> str:
    """Return the id that makes posting ``part`` (from 1) again add nothing."""
    # The first part keeps the id of the single notice posted before notices
    # were split, so a request told then is not told again.
    first = f"pending-cancellation-{pending.id}"
    return first if part == 1 else f"{first}-{part}"


def post_notices(
    settings: Settings,
    pending: PendingCancellation,
    texts: list[str],
    timeout: tuple[float, float],
    sent_by: Optional[str] = None,
) -> bool:
    """Add messages to the customer's conversation on the Rasa server, in order.

    Return whether every one was taken. Each is at most MAX_NOTICE_LENGTH
    (``notice_parts``) and has its own ``notice_id``.
    """
    url = (
        f"{settings.rasa_url}/webhooks/notices/conversations/"
        f"{quote(pending.conversation_id, safe='')}"
    )
    for part, text in enumerate(texts, start=1):
        body = {"text": text, "notice_id": notice_id(pending, part)}
        if sent_by:
            body["sent_by"] = sent_by
        try:
            answer = requests.post(
                url,
                json=body,
                headers={KEY_HEADER: settings.notice_key},
                timeout=timeout,
            )
            answer.raise_for_status()
        except requests.RequestException as error:
            # The cancellation stands and billing emailed it: not retried. Nor
            # the parts after this one: the transcript would skip a receipt,
            # and a Rasa server that is down would refuse them too. The parts
            # before it stay; posting them again would add nothing.
            log.warning(
                "pending cancellation %s done; not told in the chat "
                "(%d of %d notices posted): %s",
                pending.id,
                part - 1,
                len(texts),
                error,
            )
            return False
    return True


def sms_notifier(
    settings: Settings, timeout: tuple[float, float] = (3.0, 10.0)
) -> Notify:
    """Text the receipt to SMS customers, if outbound texting is configured.

    The receipts go as the webhook's replies would: one text, a blank line
    between them, and a second only past Twilio's 1600 characters
    (``sms_bodies``). What was sent is also written into the SMS conversation
    (when the notice key is set), so its transcript shows what the customer
    was told: whole texts, as many in a notice as the route takes.
    """
    sender = None
    if settings.twilio_account_sid and settings.twilio_from_number:
        sender = TwilioSender(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_from_number,
            settings.twilio_api_url,
        )

    def notify(
        pending: PendingCancellation, receipts: list[CancellationReceipt]
    ) -> Optional[str]:
        if not pending.reply_to:
            return None
        if sender is None:
            log.warning(
                "pending cancellation %s done; no text sent: set TWILIO_ACCOUNT_SID "
                "and TWILIO_FROM_NUMBER (billing still emails the receipt)",
                pending.id,
            )
            return None
        bodies = sms_bodies([replies.receipt_text(r, short=True) for r in receipts])
        sids: list[str] = []
        for body in bodies:
            try:
                sids.append(sender.send(pending.reply_to, body))
            except SmsNotSent as error:
                # Not retried (billing emailed every receipt), nor the texts
                # after it: a refused number or an unreachable Twilio would
                # refuse them too. The texts before it are with the customer.
                log.warning(
                    "pending cancellation %s done; text failed (%d of %d sent): %s",
                    pending.id,
                    len(sids),
                    len(bodies),
                    error,
                )
                break
        if not sids:
            return None
        told = bodies[: len(sids)]
        if settings.notice_key:
            transcript = notice_parts(told, BETWEEN_REPLIES)
            post_notices(settings, pending, transcript, timeout, sent_by="sms")
        part = "" if told == bodies else f" ({len(sids)} of {len(bodies)} texts)"
        return "sms " + " ".join(sids) + part

    return notify


def conversation_notifier(
    settings: Settings, timeout: tuple[float, float] = (3.0, 10.0)
) -> Notify:
    """Put the receipt into the customer's conversation on the Rasa server."""

    def notify(
        pending: PendingCancellation, receipts: list[CancellationReceipt]
    ) -> Optional[str]:
        if not settings.notice_key:
            log.warning(
                "pending cancellation %s done; not told in the chat: set "
                "GRACIOUS_NOTICE_KEY (billing still emails the receipt)",
                pending.id,
            )
            return None
        parts = notice_parts(
            [replies.DONE_LATER, *(replies.receipt_text(r) for r in receipts)], " "
        )
        # Told only if every part arrived (post_notices logs how many did).
        if not post_notices(settings, pending, parts, timeout):
            return None
        return "conversation"

    return notify


def notifier(settings: Settings) -> Notify:
    """Tell the customer on the channel they asked on."""
    by_text, in_chat = sms_notifier(settings), conversation_notifier(settings)

    def notify(
        pending: PendingCancellation, receipts: list[CancellationReceipt]
    ) -> Optional[str]:
        if pending.channel == "sms" and pending.reply_to:
            return by_text(pending, receipts)
        return in_chat(pending, receipts)

    return notify


def run_due(
    billing: BillingBackend,
    store: PendingStore,
    database_url: str,
    notify: Notify,
    backoff_seconds: float = 30.0,
    batch: int = 20,
) -> list[str]:
    """Try every due request once (at most ``batch``); return what became of each.

    One claimed at a time: a lease taken for a whole batch could run out
    while billing is slow on the ones before it, and another worker would
    then text the same receipt again.
    """
    results = []
    for _ in range(batch):
        claimed = store.claim_due(limit=1)
        if not claimed:
            break
        results.append(
            carry_out(billing, store, database_url, claimed[0], notify, backoff_seconds)
        )
    return results


def main() -> None:
    from bot.billing.http import client_from_settings
    from bot.settings import settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = settings()
    store = PendingStore(config.bot_database_url)
    notify = notifier(config)
    billing = client_from_settings(config)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    log.info("retry worker: every %ss", config.retry_interval_seconds)
    while not stop.is_set():
        try:
            results = run_due(
                billing,
                store,
                config.bot_database_url,
                notify,
                backoff_seconds=config.retry_interval_seconds,
            )
            if results:
                log.info("retry worker: %s", ", ".join(results))
        except Exception as error:  # the database may be down too: next round
            log_failure(log, error, "retry worker round failed")
        stop.wait(config.retry_interval_seconds)


if __name__ == "__main__":
    main()
