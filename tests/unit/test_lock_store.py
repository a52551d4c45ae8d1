"""One turn at a time per conversation, across Rasa servers (bot/lock_store.py).

Each "server" is a lock store of its own in a thread of its own, against the
machine's Redis, as two Rasa processes would be. The whole path (two Rasa
servers, messages sent to both at once) is in
tests/conversation/test_production_path.py.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest
from rasa.core.lock_store import LockError
from rasa.utils.endpoints import EndpointConfig

from bot.lock_store import ConversationLockStore
from tests.support.services import needs_redis


def store(kind: str = "redis", prefix: str = "") -> ConversationLockStore:
    return ConversationLockStore(
        EndpointConfig(
            url="127.0.0.1",
            kind=kind,
            port="6379",
            db="1",
            key_prefix=prefix or f"test_lock_{uuid.uuid4().hex}:",
        )
    )


@needs_redis
def test_two_servers_never_hold_one_conversation_at_once() -> None:
    prefix = f"test_lock_{uuid.uuid4().hex}:"
    servers = [store(prefix=prefix), store(prefix=prefix)]
    inside, most, done = [0], [0], []
    guard = threading.Lock()

    async def turn(server: ConversationLockStore, name: str) -> None:
        async with server.lock("conversation-1", lock_lifetime=30):
            with guard:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            await asyncio.sleep(0.005)
            with guard:
                inside[0] -= 1
                done.append(name)

    async def messages(server: ConversationLockStore, number: int) -> None:
        await asyncio.gather(*(turn(server, f"{number}-{i}") for i in range(15)))

    threads = [
        threading.Thread(target=asyncio.run, args=(messages(server, number),))
        for number, server in enumerate(servers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(done) == 30 and most[0] == 1
    assert servers[0]._redis is not None
    # nothing left queued: a new ticket is the holder at once
    ticket = servers[0]._redis.issue("conversation-1", lifetime_seconds=1)
    assert servers[0]._redis.holder("conversation-1", ticket) == ticket


@needs_redis
async def test_a_server_that_died_holding_the_lock_holds_it_only_for_its_lifetime() -> (
    None
):
    prefix = f"test_lock_{uuid.uuid4().hex}:"
    dead, alive = store(prefix=prefix), store(prefix=prefix)
    assert dead._redis is not None
    dead._redis.issue("conversation-2", lifetime_seconds=0.3)  # never released
    started = time.monotonic()
    async with alive.lock("conversation-2", lock_lifetime=5):
        waited = time.monotonic() - started
    assert 0.2 <= waited < 3, waited


@needs_redis
async def test_a_turn_whose_ticket_expires_while_waiting_gets_a_lock_error() -> None:
    prefix = f"test_lock_{uuid.uuid4().hex}:"
    busy, late = store(prefix=prefix), store(prefix=prefix)
    assert busy._redis is not None
    busy._redis.issue("conversation-3", lifetime_seconds=5)
    started = time.monotonic()
    with pytest.raises(LockError, match="expired while waiting"):
        async with late.lock("conversation-3", lock_lifetime=0.2):
            pass
    # told when its own ticket ran out, not when the holder's did
    assert time.monotonic() - started < 3


async def test_one_server_locks_in_memory_and_other_kinds_are_refused() -> None:
    local = ConversationLockStore(EndpointConfig(kind="in_memory"))
    async with local.lock("conversation-4"):
        assert local._redis is None and local._local is not None
    assert ConversationLockStore(None).kind == "in_memory"
    with pytest.raises(ValueError, match="LOCK_STORE_TYPE"):
        ConversationLockStore(EndpointConfig(kind="memcached"))
