"""Finding a verified customer's subscriptions and describing them."""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import NotFound
from .schema import Plan, Subscription


def iso(moment: Optional[dt.datetime]) -> Optional[str]:
    """Return a stored naive-UTC datetime as ISO 8601 with its zone."""
    return (
        None if moment is None else moment.replace(tzinfo=dt.timezone.utc).isoformat()
    )


def day(moment: Optional[dt.datetime]) -> Optional[str]:
    """Return the calendar date (UTC) of a stored datetime."""
    return None if moment is None else moment.date().isoformat()


def customer_subscription(
    session: Session,
    customer_id: str,
    subscription_id: str,
    *,
    for_update: bool = False,
) -> Subscription:
    """Return the customer's subscription, or NotFound (also for another's)."""
    query = select(Subscription).where(
        Subscription.id == subscription_id, Subscription.customer_id == customer_id
    )
    if for_update:
        query = query.with_for_update(of=Subscription)
    subscription = session.execute(query).unique().scalar_one_or_none()
    if subscription is None:
        raise NotFound("No such subscription for this customer.")
    return subscription


def customer_subscriptions(session: Session, customer_id: str) -> list[Subscription]:
    """Return all of a customer's subscriptions, oldest first."""
    query = (
        select(Subscription)
        .where(Subscription.customer_id == customer_id)
        .order_by(Subscription.created_at, Subscription.id)
    )
    return list(session.execute(query).unique().scalars())


def current_status(subscription: Subscription, now: dt.datetime) -> str:
    """Return the status as of ``now``: a scheduled cancellation ends it on time."""
    ends = subscription.cancellation_effective_at
    if subscription.status != "canceled" and ends is not None and ends <= now:
        return "canceled"
    return str(subscription.status)


def plan_body(plan: Plan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "name": plan.name,
        "price_cents": plan.price_cents,
        "currency": plan.currency,
        "interval": plan.interval,
        "allows_immediate_cancel": plan.allows_immediate_cancel,
    }


def next_charge_cents(subscription: Subscription, now: dt.datetime) -> int:
    """Return what the next renewal would cost, counting an active discount."""
    plan = subscription.pending_plan or subscription.plan
    price = int(plan.price_cents)
    discount_until = subscription.discount_until
    if subscription.discount_percent and discount_until and discount_until > now:
        price = price * (100 - int(subscription.discount_percent)) // 100
    return price


def subscription_body(subscription: Subscription, now: dt.datetime) -> dict[str, Any]:
    """Return the JSON the API gives for one subscription."""
    status = current_status(subscription, now)
    scheduled = subscription.cancel_at_period_end and status != "canceled"
    discount = None
    if subscription.discount_percent and subscription.discount_until:
        discount = {
            "percent_off": subscription.discount_percent,
            "until": day(subscription.discount_until),
        }
    return {
        "id": subscription.id,
        "plan": plan_body(subscription.plan),
        "status": status,
        "current_period_end": iso(subscription.current_period_end),
        "cancel_at_period_end": bool(subscription.cancel_at_period_end),
        "canceled_at": iso(subscription.canceled_at),
        "cancellation": None
        if subscription.cancellation_code is None
        else {
            "confirmation_code": subscription.cancellation_code,
            "effective_date": day(subscription.cancellation_effective_at),
            "reversible": bool(scheduled),
        },
        "discount": discount,
        "paused_until": day(subscription.paused_until),
        "pending_plan": None
        if subscription.pending_plan is None
        else plan_body(subscription.pending_plan),
        "next_charge": None
        if status != "active" or subscription.cancel_at_period_end
        else {
            "amount_cents": next_charge_cents(subscription, now),
            "currency": subscription.plan.currency,
            "date": day(subscription.current_period_end),
        },
    }
