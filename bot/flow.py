"""Carrying out a customer's request: verify, choose, offer once, cancel.

Plain Python over a BillingBackend, with no Rasa in sight: the action reads
the conversation's slots into a ``Request``, calls ``carry_out`` and turns
the ``Outcome`` back into messages and slot events. Every rule of the
product's promises that is about order lives here:
- nothing about an account is read or changed before verification;
- at most one offer per conversation, none for "no offers", and any answer
  but a clear yes cancels in the same turn;
- billing trouble is said plainly and loses nothing already given: a
  verified customer's cancellation is written down (``bot.pending``) and
  completed by the retry worker once billing answers again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from sqlalchemy.exc import SQLAlchemyError

from bot import phrases, replies
from bot.billing import (
    AccountRef,
    BillingBackend,
    BillingConflict,
    BillingError,
    BillingUnavailable,
    Caller,
    CustomerLocked,
    RetentionOffer,
    Subscription,
    Verification,
    VerificationExpired,
    VerificationFailed,
)
from bot.database import log_failure
from bot.pending import PendingCancellation, PendingStore

log = logging.getLogger(__name__)
IDENTIFY, CHOOSE, ANSWER_OFFER, DONE = (
    "identify",
    "choose_subscription",
    "answer_offer",
    "done",
)


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[tuple[str, str], ...] = ()  # (title, payload)


@dataclass
class Request:
    """What the conversation knows; mirrors the slots of the same names."""

    goal: Optional[str]
    caller: Caller
    turn: str  # unique per customer message: keys retried writes
    channel_identity: Optional[AccountRef] = None
    email: Optional[str] = None
    card_last4: Optional[str] = None
    verification: Optional[Verification] = None
    no_offers: bool = False
    offer_made: bool = False
    offer: Optional[RetentionOffer] = None
    offer_answer: Optional[str] = None
    chosen: Optional[list[str]] = None
    reason: Optional[str] = None
    # the request as typed: it may name a plan ("keep my premium"), say
    # "both", or ask for the end "now"
    words: Optional[str] = None
    asked_why: bool = False
    by_email: bool = False  # the channel's phone did not verify: use the email
    # the answer to the offer as typed: "no, cancel the add-on instead"
    answer: Optional[str] = None

    @property
    def short(self) -> bool:
        """SMS gets the short forms of every line."""
        return self.caller.channel == "sms"


@dataclass
class Outcome:
    replies: list[Reply] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    next_step: str = DONE

    def say(self, text: str, *buttons: tuple[str, str]) -> Outcome:
        self.replies.append(Reply(text, tuple(buttons)))
        return self


# The goal once the customer backed out of a question ("never mind"): the
# form ends and the request with it, nothing read or changed.
STOP = "stop"
FINISHED = {  # what a finished request leaves behind (verification stays)
    "goal": None,
    "chosen_subscriptions": None,
    "subscription_choice": None,
    "subscription_options": None,
    "offer": None,
    "offer_answer": None,
    "no_offers": False,
    "pending_retry": False,
    "cancel_reason": None,
    "asked_why": False,
}


_PRINTABLE = re.compile(r"^[\x21-\x7e]{1,128}$")


def _key(request: Request, operation: str, target: str = "") -> str:
    conversation = request.caller.conversation_id or ""
    if not _PRINTABLE.match(conversation):
        # billing takes keys of printable ASCII only, and any REST sender id
        # is a conversation id ("Jane Doe", "josé"): a digest stands in
        digest = hashlib.sha256(conversation.encode()).hexdigest()[:32]
        conversation = f"sha256-{digest}"
    return f"{conversation}:{request.turn}:{operation}:{target}"


def account_of(
    channel_identity: Optional[AccountRef], by_email: bool, email: Optional[str]
) -> Optional[AccountRef]:
    """Return the account the customer is identified by: the channel's, or the email."""
    if channel_identity is not None and not by_email:
        return channel_identity
    return AccountRef("email", email) if email else None


def _account(request: Request) -> Optional[AccountRef]:
    return account_of(request.channel_identity, request.by_email, request.email)


def stale_verification(value: Any, account: Optional[AccountRef]) -> bool:
    """Return True if a stored verification must not be used for a new request.

    It has expired (the card digits are asked again), or it was made for
    another account than the one now named: "cancel the plan of
    b@example.com" after verifying as a@example.com must not act on a's.
    """
    if not isinstance(value, dict):
        return False
    if verification_from_slot(value) is None:
        return True
    verified_for = value.get("account")
    if not isinstance(verified_for, list):
        return False  # kept before accounts were noted: expiry decides
    return account is None or [account.kind, account.value] != verified_for


def _verify(billing: BillingBackend, request: Request, outcome: Outcome) -> bool:
    """Verify the customer if not yet done; say why not when it fails."""
    if request.verification is not None:
        return True
    account = _account(request)
    if account is None or request.card_last4 is None:
        # an expired verification left in its slot would keep the identity
        # form from asking (actions/identity.py)
        outcome.slots["verified_customer"] = None
        outcome.next_step = IDENTIFY
        return False
    try:
        verification = billing.verify(
            account, request.card_last4, request.caller, _key(request, "verify")
        )
    except VerificationFailed:
        # Unknown number or wrong card: billing answers both alike, and so do
        # we; someone texting from a number not on file gets in by email.
        by_phone = account.kind == "phone"
        refusal = replies.NOT_MATCHED_PHONE if by_phone else replies.NOT_MATCHED
        outcome.say(replies.pick(refusal, request.short))
        # details_rejected_in: the form would otherwise take the same digits
        # again from this very message.
        outcome.slots.update(
            card_last4=None, email=None, details_rejected_in=request.turn
        )
        if by_phone:
            outcome.slots["identify_by_email"] = True
        outcome.next_step = IDENTIFY
        return False
    except CustomerLocked as lock:
        outcome.say(
            replies.locked(
                max(1, math.ceil(lock.retry_after_seconds / 60)), request.short
            )
        )
        outcome.slots.update(FINISHED, card_last4=None, email=None)
        return False
    request.verification = verification
    outcome.slots.update(
        verified_customer=dataclasses.asdict(verification)
        | {
            "expires_at": verification.expires_at.isoformat(),
            "account": [account.kind, account.value],
        }
    )
    return True


def cancellable(subscriptions: list[Subscription]) -> list[Subscription]:
    """Return the subscriptions a cancel request can still act on."""
    return [
        s
        for s in subscriptions
        if s.status in ("active", "paused") and not s.cancel_at_period_end
    ]


def _cancel(
    billing: BillingBackend,
    request: Request,
    verification: Verification,
    ids: list[str],
    outcome: Outcome,
    pending: Optional[PendingStore],
) -> None:
    for subscription_id in ids:
        receipt = billing.cancel(
            verification,
            subscription_id,
            request.caller,
            _key(request, "cancel", subscription_id),
            reason=request.reason,
        )
        outcome.say(replies.receipt_text(receipt, request.short))
        words = request.words or ""
        ends_later = not (receipt.immediate or receipt.already_cancelled)
        if ends_later and phrases.wants_refund(words):  # "and refund this month"
            outcome.say(replies.no_refund(receipt, request.short))
        elif ends_later and phrases.wants_it_now(words):
            outcome.say(replies.paid_until(receipt, request.short))
    try:
        if pending is not None:
            # saved in an earlier turn while billing was down: done now, and
            # the worker must not text a second receipt
            pending.close(verification.customer_id, "done_in_chat", ids)
    except SQLAlchemyError as error:  # the cancellation stands: say so all the same
        log_failure(
            log, error, "could not close saved cancellations of a plan just cancelled"
        )
    for text in replies.goodbye_and_why(request.short):
        outcome.say(text)
    outcome.slots.update(FINISHED, asked_why=True)


def one_or_named(
    open_ones: list[Subscription], words: Optional[str], undo: bool = False
) -> Optional[list[str]]:
    """Return the subscription to act on when the customer need not be asked.

    The only one, every one ("cancel both"), or the one the request itself
    named ("cancel my premium plan"): details given early are used, as the
    email and card digits are.
    """
    if len(open_ones) == 1:
        return [s.id for s in open_ones]
    names = [s.plan_name for s in open_ones]
    named = phrases.plans_named(words or "", names, undo)
    if named is not None:
        return [open_ones[i].id for i in named]
    # "cancel the cheaper one"
    by_price = phrases.choice_by_price(words or "", [price(s) for s in open_ones])
    return None if by_price is None else [open_ones[by_price].id]


def _named_instead(
    billing: BillingBackend, verification: Verification, answer: Optional[str]
) -> Optional[list[str]]:
    """Return the plans a no to the offer names ("no, cancel both"), if any.

    With one plan open that is the one offered; with several, an answer that
    names none leaves the one offered.
    """
    if not answer or phrases.plain_no(answer):
        return None  # no need to ask billing for the list
    open_ones = cancellable(billing.subscriptions(verification))
    return one_or_named(open_ones, answer) if len(open_ones) > 1 else None


def price(subscription: Subscription) -> str:
    """Return a plan's price as the bot lists it: "15.00 USD a month"."""
    return f"{subscription.price} a {subscription.interval}"


def _cancel_flow(
    billing: BillingBackend,
    request: Request,
    verification: Verification,
    outcome: Outcome,
    pending: Optional[PendingStore],
) -> None:
    if request.offer is not None and request.offer_answer is not None:
        offer = request.offer
        if request.offer_answer == "yes":
            subscription = billing.accept_offer(
                verification,
                offer.id,
                request.caller,
                _key(request, "accept", offer.id),
            )
            outcome.say(replies.offer_accepted(offer, request.short))
            outcome.slots.update(FINISHED)
            return
        billing.decline_offer(
            verification, offer.id, request.caller, _key(request, "decline", offer.id)
        )
        ids = _named_instead(billing, verification, request.answer)
        _cancel(
            billing,
            request,
            verification,
            ids or [offer.subscription_id],
            outcome,
            pending,
        )
        return

    subscriptions = billing.subscriptions(verification)
    open_ones = cancellable(subscriptions)
    if not open_ones and request.asked_why:
        # Right after "why are you leaving?", a reason ("I don't use it any
        # more") sounds like a request to cancel: it is the answer.
        outcome.say(replies.pick(replies.THANKS_FOR_FEEDBACK, request.short))
        outcome.slots.update(FINISHED, exit_feedback=request.reason)
        return
    if not open_ones:
        outcome.say(replies.pick(replies.NOTHING_TO_CANCEL, request.short))
        for subscription in subscriptions:
            outcome.say(replies.status_line(subscription, request.short))
        outcome.slots.update(FINISHED)
        return
    ids = request.chosen or one_or_named(open_ones, request.words)
    # Kept by plan if billing falls over from here on (bot.pending): the
    # worker must not choose again from words once this plan may be gone.
    request.chosen = ids
    if ids is None:
        outcome.slots["subscription_options"] = [
            {"id": s.id, "name": s.plan_name, "price": price(s)} for s in open_ones
        ]
        outcome.next_step = CHOOSE
        return
    if len(ids) == 1 and not request.no_offers and not request.offer_made:
        new_offer = billing.retention_offer(
            verification,
            ids[0],
            request.caller,
            _key(request, "offer", ids[0]),
            request.reason,
        )
        if new_offer is not None:
            outcome.slots.update(
                offer=dataclasses.asdict(new_offer),
                offer_made=True,
                offer_text=replies.offer_text(
                    new_offer, verification.first_name, request.short
                ),
            )
            outcome.next_step = ANSWER_OFFER
            return
    _cancel(billing, request, verification, ids, outcome, pending)


def _status(
    billing: BillingBackend,
    request: Request,
    verification: Verification,
    outcome: Outcome,
    pending: Optional[PendingStore],
) -> None:
    if _waiting(pending, verification):
        # billing still shows the plan active: say why that is not the answer
        outcome.say(replies.pick(replies.SAVED_CANCELLATION_WAITING, request.short))
    for subscription in billing.subscriptions(verification):
        outcome.say(replies.status_line(subscription, request.short))
    outcome.slots.update(FINISHED)


def _waiting(pending: Optional[PendingStore], verification: Verification) -> bool:
    """Return True if a cancellation of this customer's is saved for later."""
    try:
        return pending is not None and bool(pending.waiting(verification.customer_id))
    except SQLAlchemyError as error:  # the status from billing is still the answer
        log_failure(log, error, "could not read saved cancellations")
        return False


def _reactivate(
    billing: BillingBackend,
    request: Request,
    verification: Verification,
    outcome: Outcome,
    pending: Optional[PendingStore],
) -> None:
    # A cancellation saved while billing was down is the first thing to undo:
    # billing has not seen it, and the worker would carry it out later.
    withdrawn = pending.close(verification.customer_id, "withdrawn") if pending else 0
    if withdrawn:
        outcome.say(replies.pick(replies.SAVED_CANCELLATION_WITHDRAWN, request.short))
    try:
        reversible = [s for s in billing.subscriptions(verification) if s.reversible]
    except BillingUnavailable:
        if not withdrawn:
            raise
        # still down: what it had not seen is undone, and that is the answer
        outcome.slots.update(FINISHED)
        return
    if not reversible:
        if not withdrawn:
            outcome.say(replies.pick(replies.NOTHING_TO_UNDO, request.short))
        _status(billing, request, verification, outcome, pending)
        return
    # "keep my premium" undoes that one; otherwise every cancellation it can
    ids = one_or_named(reversible, request.words, undo=True) or [
        s.id for s in reversible
    ]
    for subscription in (s for s in reversible if s.id in ids):
        try:
            back = billing.reactivate(
                verification,
                subscription.id,
                request.caller,
                _key(request, "reactivate", subscription.id),
            )
        except BillingConflict:
            continue  # ended in the meantime: the status below says so
        outcome.say(replies.reactivated(back, request.short))
    outcome.slots.update(FINISHED)


def _keep_for_later(request: Request, pending: Optional[PendingStore]) -> bool:
    """Write down a verified cancellation billing could not take; say if it was."""
    verification = request.verification
    accepting = request.offer is not None and request.offer_answer == "yes"
    if pending is None or request.goal != "cancel" or verification is None or accepting:
        return False
    # The plans chosen, the one the offer was about, or (None) "their only one".
    targets: list[Optional[str]] = list(request.chosen or []) or [
        request.offer.subscription_id if request.offer else None
    ]
    phone = request.channel_identity
    reply_to = phone.value if phone and phone.kind == "phone" else None
    try:
        for target in targets:
            pending.keep(
                PendingCancellation(
                    idempotency_key=_key(request, "cancel", target or ""),
                    conversation_id=request.caller.conversation_id or "",
                    channel=request.caller.channel,
                    customer_id=verification.customer_id,
                    first_name=verification.first_name,
                    token=verification.token,
                    token_expires_at=verification.expires_at.astimezone(
                        dt.timezone.utc
                    ).replace(tzinfo=None),
                    subscription_id=target,
                    reason=request.reason,
                    reply_to=reply_to if request.short else None,
                )
            )
    except Exception as error:  # our own database too: fall back to "try again"
        log_failure(log, error, "could not keep a cancellation for later")
        return False
    return True


def carry_out(
    billing: BillingBackend, request: Request, pending: Optional[PendingStore] = None
) -> Outcome:
    """Take the request as far as it can go this turn."""
    outcome = Outcome()
    if request.goal is None:
        return outcome
    if request.goal == STOP:
        outcome.say(replies.pick(replies.NOT_CANCELLING, request.short))
        outcome.slots.update(FINISHED)  # an email given is kept for next time
        outcome.next_step = DONE
        return outcome
    try:
        if not _verify(billing, request, outcome):
            return outcome
        verification = request.verification
        assert verification is not None
        if request.goal == "status":
            _status(billing, request, verification, outcome, pending)
        elif request.goal == "reactivate":
            _reactivate(billing, request, verification, outcome, pending)
        else:
            _cancel_flow(billing, request, verification, outcome, pending)
    except VerificationExpired:
        outcome.replies.clear()
        outcome.say(replies.pick(replies.REVERIFY, request.short))
        outcome.slots.update(verified_customer=None, card_last4=None)
        outcome.next_step = IDENTIFY
    except BillingUnavailable:
        outcome.replies.clear()
        outcome.next_step = DONE
        if _keep_for_later(request, pending):
            outcome.say(replies.pick(replies.BILLING_DOWN_KEPT, request.short))
            outcome.slots.update(FINISHED)
        else:
            outcome.say(replies.pick(replies.BILLING_DOWN, request.short))
            outcome.slots["pending_retry"] = True
    except (BillingError, SQLAlchemyError) as error:
        # A conflict or refusal we did not foresee, or our own database (saved
        # cancellations) failing: say so, log it, keep state.
        log_failure(log, error, "could not finish a step of %s", request.goal)
        outcome.replies.clear()
        outcome.say(replies.pick(replies.COULD_NOT_FINISH, request.short))
        outcome.slots["pending_retry"] = True
    return outcome


def verification_from_slot(value: Any) -> Optional[Verification]:
    """Return the stored verification if it is still valid for a minute."""
    if not isinstance(value, dict):
        return None
    expires = dt.datetime.fromisoformat(value["expires_at"])
    if expires - dt.timedelta(minutes=1) < dt.datetime.now(dt.timezone.utc):
        return None
    return Verification(
        value["customer_id"], value["first_name"], value["token"], expires
    )


def offer_from_slot(value: Any) -> Optional[RetentionOffer]:
    if not isinstance(value, dict):
        return None
    return RetentionOffer(
        value["id"], value["subscription_id"], value["kind"], dict(value["terms"])
    )
