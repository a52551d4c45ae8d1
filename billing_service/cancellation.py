"""Cancelling and reactivating subscriptions, with receipts the customer keeps."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import Conflict
from .events import record_event
from .payloads import CancelRequest, DecisionRequest
from .schema import OutboxMessage, Subscription, utcnow
from .subscriptions import (
    current_status,
    customer_subscription,
    day,
    iso,
    next_charge_cents,
    subscription_body,
)

# No 0/O or 1/I: codes are read aloud and typed from a phone screen.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def new_confirmation_code(session: Session) -> str:
    """Return an unused code such as GR-7K2P9Q."""
    while True:
        code = "GR-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        taken = session.execute(
            select(Subscription.id).where(Subscription.cancellation_code == code)
        ).first()
        if taken is None:
            return code


def money(cents: int, currency: str) -> str:
    return f"{cents / 100:.2f} {currency}"


def receipt(
    subscription: Subscription, now: dt.datetime, *, already: bool
) -> dict[str, Any]:
    """Return what the customer is told: code, date, and what they won't pay."""
    plan = subscription.plan
    effective = subscription.cancellation_effective_at
    immediate = (
        subscription.status == "canceled" and not subscription.cancel_at_period_end
    )
    return {
        "subscription_id": subscription.id,
        "plan_name": plan.name,
        "confirmation_code": subscription.cancellation_code,
        "already_cancelled": already,
        "immediate": immediate,
        "effective_at": iso(effective),
        "effective_date": day(effective),
        "reversible_until": None if immediate else day(effective),
        "charges": {
            "further_charges": False,
            "access_until": day(effective),
            "cancelled_charge": {
                "amount_cents": next_charge_cents(subscription, now),
                "currency": plan.currency,
                "would_have_been_on": day(
                    subscription.paused_until or subscription.current_period_end
                ),
            },
            "refund_cents": 0,
        },
        "status": current_status(subscription, now),
    }


def _confirmation_email(
    subscription: Subscription, body: dict[str, Any]
) -> OutboxMessage:
    customer = subscription.customer
    charge = body["charges"]["cancelled_charge"]
    text = (
        f"Hi {customer.first_name},\n\n"
        f"Your {body['plan_name']} subscription is cancelled. "
        f"It ends on {body['effective_date']}, and you will not be charged again "
        f"(the {money(charge['amount_cents'], charge['currency'])} renewal "
        "is cancelled).\n"
        f"Confirmation code: {body['confirmation_code']}\n"
    )
    if body["reversible_until"]:
        text += (
            f"Changed your mind? Tell us before {body['reversible_until']} "
            "and your subscription simply continues.\n"
        )
    return OutboxMessage(
        customer_id=customer.id,
        kind="cancellation_confirmation",
        to_email=customer.email,
        subject=f"Your {body['plan_name']} subscription is cancelled",
        body=text + "\nThank you for being with us.\n",
        created_at=utcnow(),
    )


def cancel_subscription(
    session: Session, customer_id: str, subscription_id: str, request: CancelRequest
) -> tuple[int, dict[str, Any]]:
    """Cancel at period end (default) or at once; a repeat returns the first receipt."""
    now = utcnow()
    subscription = customer_subscription(
        session, customer_id, subscription_id, for_update=True
    )
    if subscription.cancellation_code is not None:
        return 200, receipt(subscription, now, already=True)
    if current_status(subscription, now) == "canceled":
        raise Conflict("This subscription has already ended.", code="already_ended")

    immediately = request.when == "immediately"
    if immediately and not subscription.plan.allows_immediate_cancel:
        raise Conflict(
            f"The {subscription.plan.name} plan can only be cancelled at the end "
            "of the paid period.",
            code="immediate_cancel_not_allowed",
        )
    subscription.cancellation_code = new_confirmation_code(session)
    subscription.canceled_at = now
    if immediately:
        subscription.status = "canceled"
        subscription.cancellation_effective_at = now
    else:
        subscription.cancel_at_period_end = True
        subscription.cancellation_effective_at = (
            subscription.paused_until or subscription.current_period_end
        )
    body = receipt(subscription, now, already=False)
    session.add(_confirmation_email(subscription, body))
    record_event(
        session,
        "subscription.canceled"
        if immediately
        else "subscription.cancellation_scheduled",
        customer_id,
        subscription.id,
        request,
        confirmation_code=subscription.cancellation_code,
        effective_date=body["effective_date"],
        reason=request.reason,
    )
    session.flush()
    return 201, body


def reactivate_subscription(
    session: Session, customer_id: str, subscription_id: str, request: DecisionRequest
) -> tuple[int, dict[str, Any]]:
    """Undo a cancellation scheduled for period end, before that date."""
    now = utcnow()
    subscription = customer_subscription(
        session, customer_id, subscription_id, for_update=True
    )
    if subscription.cancellation_code is None:
        raise Conflict("This subscription is not cancelled.", code="not_cancelled")
    if (
        current_status(subscription, now) == "canceled"
        or not subscription.cancel_at_period_end
    ):
        raise Conflict(
            "This subscription has already ended and cannot be reactivated.",
            code="cannot_reactivate",
        )
    undone_code = subscription.cancellation_code
    subscription.cancel_at_period_end = False
    subscription.canceled_at = None
    subscription.cancellation_code = None
    subscription.cancellation_effective_at = None
    record_event(
        session,
        "subscription.reactivated",
        customer_id,
        subscription.id,
        request,
        undone_confirmation_code=undone_code,
    )
    session.flush()
    return 200, {
        "subscription": subscription_body(subscription, now),
        "reactivated": True,
    }
