"""A real billing service for tests, on SQLite or PostgreSQL, and its data."""

from __future__ import annotations

import datetime as dt
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from billing_service.database import create_billing_engine, create_schema
from billing_service.seed import DemoCustomer, add_customer, seed_demo
from scripts.processes import ServiceProcess, free_port, python_module

API_KEY = "test-api-key-" + "k" * 32
TOKEN_SECRET = "test-token-secret-" + "s" * 32


@dataclass
class BillingService:
    """A running billing service: its URL, its database, helpers for tests."""

    url: str
    database_url: str
    engine: Engine

    def call(
        self,
        method: str,
        path: str,
        *,
        key: Optional[str] = None,
        token: Optional[str] = None,
        json: Any = None,
        data: Any = None,
        headers: Optional[dict[str, str]] = None,
        auth: bool = True,
    ) -> requests.Response:
        """Send one raw request, as any HTTP client of the API would."""
        sent = dict(headers or {})
        if auth:
            sent.setdefault("Authorization", f"Bearer {API_KEY}")
        if key is not None:
            sent["Idempotency-Key"] = key
        if token is not None:
            sent["X-Verification-Token"] = token
        return requests.request(
            method, self.url + path, json=json, data=data, headers=sent, timeout=30
        )

    def new_customer(
        self, *plan_ids: str, accepted_offer_days_ago: int = 0
    ) -> DemoCustomer:
        """Create a customer nobody else uses, so tests never share state."""
        tag = secrets.token_hex(4)
        number = 15550000000 + secrets.randbelow(9_999_999)
        customer = DemoCustomer(
            id=f"cus_t{tag}",
            first_name="Test",
            email=f"t{tag}@example.com",
            phone=f"+{number}",
            card_last4=f"{secrets.randbelow(10_000):04d}",
            card_brand="Visa",
            plan_ids=plan_ids or ("premium-monthly",),
            accepted_offer_days_ago=accepted_offer_days_ago,
        )
        with Session(self.engine) as session, session.begin():
            add_customer(session, customer, _utcnow())
        return customer

    def verify(self, customer: DemoCustomer) -> str:
        """Return a verification token for ``customer``."""
        reply = self.call(
            "POST",
            "/v1/verifications",
            key=secrets.token_hex(8),
            json={
                "account": {"email": customer.email},
                "card_last4": customer.card_last4,
            },
        )
        assert reply.status_code == 200 and reply.json()["verified"], reply.text
        return str(reply.json()["token"])

    def subscription(self, customer: DemoCustomer, number: int = 1) -> Any:
        """Return a test customer's subscription row as billing holds it now."""
        [row] = self.sql(
            "SELECT status, cancel_at_period_end, cancellation_code, discount_percent "
            "FROM subscriptions WHERE id = :s",
            s=f"sub_{customer.id[4:]}_{number}",
        )
        return row

    def offers(self, customer: DemoCustomer) -> list[Any]:
        """Return (kind, status) of every retention offer made to ``customer``."""
        return self.sql(
            "SELECT o.kind, o.status FROM retention_offers o JOIN subscriptions s "
            "ON s.id = o.subscription_id WHERE s.customer_id = :c",
            c=customer.id,
        )

    def sql(self, statement: str, **params: Any) -> list[Any]:
        with self.engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return list(result) if result.returns_rows else []


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """Create a throwaway PostgreSQL database; yield its URL; drop it after."""
    name = "gracious_test_" + secrets.token_hex(4)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield str(make_url(admin_url).set(database=name))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def start_billing_service(
    database_url: str, log_dir: Path, **settings: str
) -> tuple[ServiceProcess, BillingService]:
    """Create the schema, seed the demo, and start the service on a free port."""
    engine = create_billing_engine(database_url)
    create_schema(engine)
    with Session(engine) as session, session.begin():
        seed_demo(session)
    port = free_port()
    env = {
        "BILLING_DATABASE_URL": database_url,
        "BILLING_API_KEY": API_KEY,
        "BILLING_TOKEN_SECRET": TOKEN_SECRET,
        "BILLING_PORT": str(port),
        **{f"BILLING_{name.upper()}": value for name, value in settings.items()},
    }
    process = ServiceProcess(
        python_module("billing_service", "serve"),
        env,
        log_dir / f"billing-{port}.log",
        f"http://127.0.0.1:{port}/healthz",
    )
    process.wait_healthy()
    return process, BillingService(f"http://127.0.0.1:{port}", database_url, engine)
