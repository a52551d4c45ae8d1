"""Demo data: the customers the README tells a newcomer to try."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .offers import add_months
from .schema import Customer, Plan, RetentionOffer, Subscription, utcnow

PLANS = [
    Plan(
        id="premium-monthly",
        name="Premium",
        price_cents=1500,
        currency="USD",
        interval="month",
        allows_immediate_cancel=True,
    ),
    Plan(
        id="basic-monthly",
        name="Basic",
        price_cents=700,
        currency="USD",
        interval="month",
        allows_immediate_cancel=True,
    ),
    Plan(
        id="family-addon-monthly",
        name="Family add-on",
        price_cents=400,
        currency="USD",
        interval="month",
        allows_immediate_cancel=True,
    ),
    Plan(
        id="premium-yearly",
        name="Premium yearly",
        price_cents=15000,
        currency="USD",
        interval="year",
        allows_immediate_cancel=False,
    ),
]


@dataclass(frozen=True)
class DemoCustomer:
    id: str
    first_name: str
    email: str
    phone: str
    card_last4: str
    card_brand: str
    plan_ids: tuple[str, ...]
    accepted_offer_days_ago: int = 0


DEMO_CUSTOMERS = [
    DemoCustomer(
        "cus_ana",
        "Ana",
        "ana@example.com",
        "+15555550100",
        "4242",
        "Visa",
        ("premium-monthly",),
    ),
    DemoCustomer(
        "cus_ben",
        "Ben",
        "ben@example.com",
        "+15555550101",
        "1881",
        "Mastercard",
        ("premium-monthly", "family-addon-monthly"),
    ),
    DemoCustomer(
        "cus_cara",
        "Cara",
        "cara@example.com",
        "+15555550102",
        "0005",
        "American Express",
        ("premium-yearly",),
        accepted_offer_days_ago=30,
    ),
]


def _period_end(now: dt.datetime, plan: Plan, days_in: int) -> dt.datetime:
    start = (now - dt.timedelta(days=days_in)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return add_months(start, 12 if plan.interval == "year" else 1)


def add_customer(session: Session, demo: DemoCustomer, now: dt.datetime) -> None:
    """Create one customer with active subscriptions to ``demo.plan_ids``."""
    session.add(
        Customer(
            id=demo.id,
            first_name=demo.first_name,
            email=demo.email,
            phone=demo.phone,
            card_last4=demo.card_last4,
            card_brand=demo.card_brand,
            created_at=now,
        )
    )
    for number, plan_id in enumerate(demo.plan_ids, start=1):
        plan = session.get(Plan, plan_id)
        subscription = Subscription(
            id=f"sub_{demo.id[4:]}_{number}",
            customer_id=demo.id,
            plan_id=plan_id,
            status="active",
            current_period_end=_period_end(now, plan, days_in=10),
            created_at=now - dt.timedelta(days=200 - number),
        )
        session.add(subscription)
        if demo.accepted_offer_days_ago:
            accepted = now - dt.timedelta(days=demo.accepted_offer_days_ago)
            subscription.discount_percent = 20
            subscription.discount_until = add_months(accepted, 3)
            session.add(
                RetentionOffer(
                    id=f"off_{demo.id[4:]}_{number}",
                    subscription_id=subscription.id,
                    catalog_id="half-off-3-months",
                    kind="discount",
                    terms={"percent_off": 20, "months": 3},
                    status="accepted",
                    channel="web",
                    presented_at=accepted,
                    decided_at=accepted,
                )
            )


def seed_demo(session: Session) -> list[str]:
    """Add the demo plans and customers that are missing; return those added."""
    now = utcnow()
    for plan in PLANS:
        if session.get(Plan, plan.id) is None:
            session.add(
                Plan(**{c.name: getattr(plan, c.name) for c in Plan.__table__.columns})
            )
    session.flush()
    added = []
    for demo in DEMO_CUSTOMERS:
        if session.get(Customer, demo.id) is None:
            add_customer(session, demo, now)
            added.append(demo.email)
    return added
