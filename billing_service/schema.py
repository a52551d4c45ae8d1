"""The billing database: SQLAlchemy models and their constraints.

Datetimes are stored as naive UTC on every backend (SQLite keeps no time
zone), and turned into aware UTC only at the API's edge.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import declarative_base, relationship

Base: Any = declarative_base()


def utcnow() -> dt.datetime:
    """Return the current time as naive UTC, the form every column stores."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Customer(Base):
    __tablename__ = "customers"

    id = Column(String(40), primary_key=True)
    email = Column(String(254), nullable=False, unique=True)
    phone = Column(String(16), unique=True)
    first_name = Column(String(80), nullable=False)
    card_last4 = Column(String(4), nullable=False)
    card_brand = Column(String(20), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        CheckConstraint("length(card_last4) = 4", name="card_last4_is_four_digits"),
    )


class Plan(Base):
    __tablename__ = "plans"

    id = Column(String(60), primary_key=True)
    name = Column(String(80), nullable=False)
    price_cents = Column(Integer, nullable=False)
    currency = Column(String(3), nullable=False)
    interval = Column(String(5), nullable=False)
    allows_immediate_cancel = Column(Boolean, nullable=False, default=True)

    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="plan_price_not_negative"),
        CheckConstraint("interval in ('month', 'year')", name="plan_interval_known"),
    )


class Subscription(Base):
    __tablename__ = "subscriptions"

    id = Column(String(40), primary_key=True)
    customer_id = Column(ForeignKey("customers.id"), nullable=False, index=True)
    plan_id = Column(ForeignKey("plans.id"), nullable=False)
    status = Column(String(10), nullable=False, default="active")
    current_period_end = Column(DateTime, nullable=False)
    cancel_at_period_end = Column(Boolean, nullable=False, default=False)
    canceled_at = Column(DateTime)
    cancellation_code = Column(String(12), unique=True)
    cancellation_effective_at = Column(DateTime)
    discount_percent = Column(Integer)
    discount_until = Column(DateTime)
    paused_until = Column(DateTime)
    pending_plan_id = Column(ForeignKey("plans.id"))
    created_at = Column(DateTime, nullable=False, default=utcnow)

    plan = relationship(Plan, foreign_keys=[plan_id], lazy="joined")
    pending_plan = relationship(Plan, foreign_keys=[pending_plan_id], lazy="joined")
    customer = relationship(Customer, lazy="joined")

    __table_args__ = (
        CheckConstraint(
            "status in ('active', 'paused', 'canceled')", name="subscription_status"
        ),
        CheckConstraint(
            "discount_percent is null or (discount_percent > 0 "
            "and discount_percent <= 100)",
            name="discount_percent_range",
        ),
    )


class RetentionOffer(Base):
    __tablename__ = "retention_offers"

    id = Column(String(40), primary_key=True)
    subscription_id = Column(ForeignKey("subscriptions.id"), nullable=False, index=True)
    catalog_id = Column(String(60), nullable=False)
    kind = Column(String(10), nullable=False)
    terms = Column(JSON, nullable=False)
    status = Column(String(10), nullable=False, default="presented")
    conversation_id = Column(String(128))
    channel = Column(String(20))
    presented_at = Column(DateTime, nullable=False, default=utcnow)
    decided_at = Column(DateTime)

    subscription = relationship(Subscription, lazy="joined")

    __table_args__ = (
        CheckConstraint(
            "kind in ('discount', 'pause', 'downgrade')", name="offer_kind"
        ),
        CheckConstraint(
            "status in ('presented', 'accepted', 'declined')", name="offer_status"
        ),
    )


class VerificationFailure(Base):
    """One failed identity check; ``subject`` is an account or a hashed identifier."""

    __tablename__ = "verification_failures"

    id = Column(Integer, primary_key=True, autoincrement=True)
    subject = Column(String(80), nullable=False)
    failed_at = Column(DateTime, nullable=False)
    channel = Column(String(20))

    __table_args__ = (Index("ix_failures_subject_time", "subject", "failed_at"),)


class Lockout(Base):
    __tablename__ = "lockouts"

    subject = Column(String(80), primary_key=True)
    locked_until = Column(DateTime, nullable=False)


class IdempotencyRecord(Base):
    """The first answer given to a write, replayed for the same key and body."""

    __tablename__ = "idempotency_records"

    key = Column(String(300), primary_key=True)
    fingerprint = Column(String(64), nullable=False)
    status_code = Column(Integer, nullable=False)
    response = Column(JSON)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Event(Base):
    """The append-only audit log: who did what, when, through which channel."""

    __tablename__ = "events"

    id = Column(Integer, primary_key=True, autoincrement=True)
    type = Column(String(60), nullable=False)
    customer_id = Column(ForeignKey("customers.id"), index=True)
    subscription_id = Column(ForeignKey("subscriptions.id"), index=True)
    actor = Column(String(80), nullable=False)
    channel = Column(String(20))
    conversation_id = Column(String(128))
    data = Column(JSON, nullable=False, default=dict)
    occurred_at = Column(DateTime, nullable=False, default=utcnow)


class OutboxMessage(Base):
    """A confirmation waiting for the company's mailer to send it."""

    __tablename__ = "outbox"

    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(ForeignKey("customers.id"), nullable=False)
    kind = Column(String(40), nullable=False)
    to_email = Column(String(254), nullable=False)
    subject = Column(String(200), nullable=False)
    body = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    sent_at = Column(DateTime)
