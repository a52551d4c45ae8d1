"""The production path: PostgreSQL for every store and Redis as the lock store.

The same bot and the same code, only other settings: billing, the tracker
store and the bot's own tables on PostgreSQL, conversations locked in Redis
as several Rasa servers need. Runs where both are reachable (CI: the
machine's local servers); skipped, saying so, elsewhere.
"""

from __future__ import annotations

import os
import re
import socket
from contextlib import ExitStack
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from tests.support.billing import postgres_database
from tests.support.stack import Stack, running_stack

POSTGRES_URL = os.environ.get("GRACIOUS_TEST_POSTGRES_URL", "")


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as probe:
            probe.sendall(b"PING\r\n")
            return probe.recv(16).startswith(b"+PONG")
    except OSError:
        return False


pytestmark = pytest.mark.skipif(
    not POSTGRES_URL or not redis_reachable(),
    reason="needs GRACIOUS_TEST_POSTGRES_URL and Redis on 127.0.0.1:6379 (CI has both)",
)


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    with ExitStack() as stores:
        billing_db, tracker_db, bot_db = (
            stores.enter_context(postgres_database(POSTGRES_URL)) for _ in range(3)
        )
        with running_stack(
            tmp_path_factory.mktemp("production"),
            billing_db,
            (tracker_db, bot_db),
            lock_store="redis",
        ) as stack:
            yield stack, tracker_db


def test_a_cancellation_on_postgres_and_redis(production: tuple[Stack, str]) -> None:
    stack, tracker_db = production
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    chat.say("I'd like to cancel my subscription")
    warned = chat.say("it's 4000 0566 5566 5556")
    assert "only the last 4 digits" in warned
    chat.say(customer.card_last4)
    done = chat.say("no")
    assert re.search(r"GR-[2-9A-HJ-NP-Z]{6}", done), done
    assert stack.billing.subscription(customer).cancel_at_period_end

    engine = create_engine(tracker_db, future=True)
    with engine.connect() as connection:
        events = (
            connection.execute(
                text("SELECT data FROM events WHERE sender_id = :s"), {"s": chat.sender}
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert sum('"event": "user"' in e for e in events) == 4
    assert not any("4000 0566" in e or "4000056655665556" in e for e in events)
