"""`./gracious bench`: latency of the billing API, printed, never asserted.

Starts its own billing service on a temporary SQLite file and measures, in
the same run: identity checks for a real account with a wrong card, for an
unknown account (these two should cost about the same, or timing would tell
an attacker which accounts exist), a successful check, and a full
verify-offer-cancel sequence. Median and 95th percentile in milliseconds.
Then a turn's conversation lock (scripts/bench_lock.py) and, when a model
is trained, the NLU's load and parse times (scripts/bench_nlu.py).
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import requests
from sqlalchemy.orm import Session

from billing_service.database import create_billing_engine, create_schema
from billing_service.schema import Customer, Plan, Subscription, utcnow
from billing_service.seed import seed_demo
from scripts.processes import ServiceProcess, free_port, python_module

ROUNDS = 200
HEADER = "{:<38} " + f"{'p50 ms':>8} {'p95 ms':>8} {'n':>6}"


def timed(rounds: int, call: Callable[[int], object]) -> list[float]:
    samples = []
    for number in range(rounds):
        start = time.perf_counter()
        call(number)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def row(name: str, samples: list[float]) -> str:
    p95 = statistics.quantiles(samples, n=20)[-1]
    return f"{name:<38} {statistics.median(samples):8.2f} {p95:8.2f} {len(samples):6d}"


def add_bench_customers(url: str, count: int) -> None:
    engine = create_billing_engine(url)
    create_schema(engine)
    with Session(engine) as session, session.begin():
        seed_demo(session)
        plan = session.get(Plan, "premium-monthly")
        for n in range(count):
            session.add(
                Customer(
                    id=f"cus_b{n}",
                    first_name="B",
                    email=f"b{n}@bench.test",
                    phone=None,
                    card_last4="1234",
                    card_brand="Visa",
                )
            )
            session.add(
                Subscription(
                    id=f"sub_b{n}",
                    customer_id=f"cus_b{n}",
                    plan_id=plan.id,
                    status="active",
                    current_period_end=utcnow().replace(year=2031),
                )
            )
    engine.dispose()


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="gracious-bench-"))
    url = f"sqlite:///{work / 'billing.sqlite3'}"
    add_bench_customers(url, ROUNDS * 3)
    port = free_port()
    key = secrets.token_urlsafe(32)
    env = {
        "BILLING_DATABASE_URL": url,
        "BILLING_API_KEY": key,
        "BILLING_TOKEN_SECRET": secrets.token_urlsafe(32),
        "BILLING_PORT": str(port),
        # Each verify below fails at most once per account: no lockouts.
        "BILLING_LOCKOUT_MAX_FAILURES": "1000",
    }
    service = ServiceProcess(
        python_module("billing_service", "serve"),
        env,
        work / "billing.log",
        f"http://127.0.0.1:{port}/healthz",
    )
    base = f"http://127.0.0.1:{port}"
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {key}"

    def verify(email: str, last4: str) -> dict:
        reply = http.post(
            base + "/v1/verifications",
            timeout=10,
            headers={"Idempotency-Key": secrets.token_hex(8)},
            json={"account": {"email": email}, "card_last4": last4},
        )
        return reply.json()

    def full_cancel(n: int) -> None:
        token = verify(f"b{ROUNDS * 2 + n}@bench.test", "1234")["token"]
        headers = {"X-Verification-Token": token}
        sub = f"sub_b{ROUNDS * 2 + n}"
        for path in (
            f"/v1/subscriptions/{sub}/retention-offer",
            f"/v1/subscriptions/{sub}/cancel",
        ):
            http.post(
                base + path,
                json={},
                timeout=10,
                headers={**headers, "Idempotency-Key": secrets.token_hex(8)},
            )

    try:
        service.wait_healthy()
        timed(20, lambda n: http.get(base + "/healthz", timeout=10))  # warm up
        results = [
            row(
                "verify: real account, wrong card",
                timed(ROUNDS, lambda n: verify(f"b{n}@bench.test", "9999")),
            ),
            row(
                "verify: unknown account",
                timed(ROUNDS, lambda n: verify(f"nobody{n}@bench.test", "9999")),
            ),
            row(
                "verify: right card",
                timed(ROUNDS, lambda n: verify(f"b{ROUNDS + n}@bench.test", "1234")),
            ),
            row("verify + offer + cancel (3 calls)", timed(ROUNDS, full_cancel)),
        ]
    finally:
        service.stop()
    print(
        f"billing API on SQLite, {ROUNDS} rounds each, python {sys.version.split()[0]},"
        f" {os.cpu_count()} cores"
    )
    print(HEADER.format("operation"))
    print("\n".join(results))
    print("The two failing checks should be close: a gap lets timing reveal accounts.")
    print()
    # both import this module's table helpers
    from scripts import bench_lock, bench_nlu

    bench_lock.main()
    print()
    return bench_nlu.main(Path("models/gracious.tar.gz"))


if __name__ == "__main__":
    sys.exit(main())
