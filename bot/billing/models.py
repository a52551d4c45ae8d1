"""The billing facts a conversation works with, independent of any backend."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

AccountKind = Literal["email", "phone", "customer_id"]


def _date(value: Optional[str]) -> Optional[dt.date]:
    return None if not value else dt.date.fromisoformat(value[:10])


@dataclass(frozen=True)
class AccountRef:
    """How the customer named their account: an email, a phone or an id."""

    kind: AccountKind
    value: str


@dataclass(frozen=True)
class Caller:
    """Where a write comes from, for the billing event log."""

    channel: str
    conversation_id: Optional[str] = None


@dataclass(frozen=True)
class Money:
    amount_cents: int
    currency: str

    def __str__(self) -> str:
        return f"{self.amount_cents / 100:.2f} {self.currency}"


@dataclass(frozen=True)
class Verification:
    """Proof that the customer confirmed their card; short-lived."""

    customer_id: str
    first_name: str
    token: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Subscription:
    id: str
    plan_name: str
    price: Money
    interval: str
    status: str
    current_period_end: dt.date
    cancel_at_period_end: bool
    confirmation_code: Optional[str] = None
    ends_on: Optional[dt.date] = None
    reversible: bool = False
    paused_until: Optional[dt.date] = None
    next_charge: Optional[Money] = None
    next_charge_on: Optional[dt.date] = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Subscription:
        plan = body["plan"]
        cancellation = body.get("cancellation") or {}
        charge = body.get("next_charge") or {}
        return cls(
            id=body["id"],
            plan_name=plan["name"],
            price=Money(plan["price_cents"], plan["currency"]),
            interval=plan["interval"],
            status=body["status"],
            current_period_end=_date(body["current_period_end"]) or dt.date.min,
            cancel_at_period_end=bool(body["cancel_at_period_end"]),
            confirmation_code=cancellation.get("confirmation_code"),
            ends_on=_date(cancellation.get("effective_date")),
            reversible=bool(cancellation.get("reversible")),
            paused_until=_date(body.get("paused_until")),
            next_charge=Money(charge["amount_cents"], charge["currency"])
            if charge
            else None,
            next_charge_on=_date(charge.get("date")),
        )


@dataclass(frozen=True)
class RetentionOffer:
    """One offer, with its exact terms (see the billing API for each kind)."""

    id: str
    subscription_id: str
    kind: Literal["discount", "pause", "downgrade"]
    terms: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> RetentionOffer:
        return cls(
            body["id"], body["subscription_id"], body["kind"], dict(body["terms"])
        )


@dataclass(frozen=True)
class CancellationReceipt:
    """What the customer is told once cancelled."""

    subscription_id: str
    plan_name: str
    confirmation_code: str
    effective_date: dt.date
    immediate: bool
    reversible_until: Optional[dt.date]
    cancelled_charge: Money
    already_cancelled: bool

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> CancellationReceipt:
        charge = body["charges"]["cancelled_charge"]
        return cls(
            subscription_id=body["subscription_id"],
            plan_name=body["plan_name"],
            confirmation_code=body["confirmation_code"],
            effective_date=_date(body["effective_date"]) or dt.date.min,
            immediate=bool(body["immediate"]),
            reversible_until=_date(body.get("reversible_until")),
            cancelled_charge=Money(charge["amount_cents"], charge["currency"]),
            already_cancelled=bool(body["already_cancelled"]),
        )
