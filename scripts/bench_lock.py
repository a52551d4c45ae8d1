"""`./gracious bench`, third part: a turn's conversation lock, in Redis and in memory.

A turn takes its conversation's lock before anything else, so what the lock
costs every message pays. With several Rasa servers the lock is Redis's
(bot/lock_store.py), and its blocking calls run on the conversation's lane,
a thread (bot/redis_lanes.py), so that a slow Redis holds no other
conversation. That hop has a price, measured here beside the same Redis
calls made straight from the event loop (how the lock ran before: the
baseline) and the in-memory lock of a single server, in the same run:
one lock taken and given back, then 20 conversations at once, and the
longest the event loop was kept from running meanwhile. Printed, never
asserted. Needs the Redis of LOCK_STORE_REDIS_HOST / _PORT (127.0.0.1:6379).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from contextlib import asynccontextmanager
from typing import AsyncContextManager, AsyncIterator, Callable

from rasa.utils.endpoints import EndpointConfig

from bot.lock_store import ConversationLockStore, RedisTickets
from scripts.bench import HEADER, row

ROUNDS = 300
AT_ONCE = 20
LIFETIME_SECONDS = 60.0
Lock = Callable[[str], AsyncContextManager[None]]


def redis_store() -> ConversationLockStore:
    return ConversationLockStore(
        EndpointConfig(
            url=os.environ.get("LOCK_STORE_REDIS_HOST", "127.0.0.1"),
            kind="redis",
            port=os.environ.get("LOCK_STORE_REDIS_PORT", "6379"),
            db=os.environ.get("LOCK_STORE_REDIS_DB", "1"),
            password=os.environ.get("LOCK_STORE_REDIS_PASSWORD", ""),
            key_prefix=f"gracious_bench_{uuid.uuid4().hex}:",
        )
    )


def on_the_loop(tickets: RedisTickets) -> Lock:
    """Return a lock making each Redis call from the event loop (the baseline)."""

    @asynccontextmanager
    async def lock(conversation_id: str) -> AsyncIterator[None]:
        ticket = tickets.issue(conversation_id, LIFETIME_SECONDS)
        try:
            while tickets.holder(conversation_id, ticket) != ticket:
                await asyncio.sleep(0.001)
            yield
        finally:
            tickets.release(conversation_id, ticket)

    return lock


def through(store: ConversationLockStore) -> Lock:
    @asynccontextmanager
    async def lock(conversation_id: str) -> AsyncIterator[None]:
        async with store.lock(conversation_id, lock_lifetime=LIFETIME_SECONDS):
            yield

    return lock


async def one_at_a_time(lock: Lock) -> list[float]:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        async with lock(uuid.uuid4().hex):
            pass
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def many_at_once(lock: Lock) -> tuple[list[float], float]:
    """Each of AT_ONCE conversations takes its lock ROUNDS // AT_ONCE times."""
    samples: list[float] = []
    longest_stall = 0.0
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal longest_stall
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest_stall = max(longest_stall, (now - last) * 1000)
            last = now

    async def conversation() -> None:
        talk = uuid.uuid4().hex
        for _ in range(ROUNDS // AT_ONCE):
            start = time.perf_counter()
            async with lock(talk):
                await asyncio.sleep(0)
            samples.append((time.perf_counter() - start) * 1000)

    watcher = asyncio.create_task(watch())
    await asyncio.gather(*(conversation() for _ in range(AT_ONCE)))
    done.set()
    await watcher
    return samples, longest_stall


async def measure() -> list[str]:
    store = redis_store()
    tickets = store._redis
    assert tickets is not None
    locks: dict[str, Lock] = {
        "in memory (one server)": through(
            ConversationLockStore(EndpointConfig(kind="in_memory"))
        ),
        "Redis, calls on the loop (baseline)": on_the_loop(tickets),
        "Redis, calls on the lanes": through(store),
    }
    lines = [
        f"conversation lock, {ROUNDS} rounds each; python "
        f"{sys.version.split()[0]}, {os.cpu_count()} cores",
        HEADER.format("lock taken and given back"),
    ]
    stalls = []
    for name, lock in locks.items():
        lines.append(row(name, await one_at_a_time(lock)))
    lines.append(HEADER.format(f"{AT_ONCE} conversations at once"))
    for name, lock in locks.items():
        samples, stall = await many_at_once(lock)
        lines.append(row(name, samples))
        stalls.append(f"{name}: {stall:.1f} ms")
    lines.append("longest event-loop stall meanwhile: " + "; ".join(stalls))
    return lines


def main() -> int:
    try:
        lines = asyncio.run(measure())
    except Exception as error:  # no Redis here: the other parts still ran
        print(f"conversation lock: not measured ({type(error).__name__}: {error})")
        return 0
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
