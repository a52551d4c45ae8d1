"""A slow or silent Redis holds the turns asking it, not the server's event loop.

Every conversation on a Rasa server shares one event loop, and Rasa takes
each turn's lock from it (bot/lock_store.py). The lock store's Redis is
reached here through a stand-in on a port of its own: one that accepts and
never answers, or one that passes every request on to the machine's Redis
late, as a Redis under load or far away would.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from typing import Any, Iterator, Optional

import pytest
from rasa.utils.endpoints import EndpointConfig

import bot.lock_store
from bot.lock_store import ConversationLockStore
from bot.redis_lanes import ConversationLanes
from tests.support.services import needs_redis

# How late the slow Redis answers each request.
DELAY_SECONDS = 0.2
# Long enough that a ticket left behind would show, as a turn kept waiting.
LIFETIME_SECONDS = 30


class RedisStandIn:
    """A TCP port in front of the machine's Redis: late by ``delay``, or silent.

    With ``delay=None`` it accepts connections and never answers, as a Redis
    that hangs (or a firewall that swallows packets) does.
    """

    def __init__(self, delay: Optional[float]) -> None:
        self.delay = delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = int(self.listener.getsockname()[1])
        self.connections: list[socket.socket] = []
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(client)
            if self.delay is None:
                continue  # held open, never read, never answered
            upstream = socket.create_connection(("127.0.0.1", 6379))
            self.connections.append(upstream)
            for source, target, delay in (
                (client, upstream, self.delay),
                (upstream, client, 0.0),
            ):
                threading.Thread(
                    target=self._pass_on, args=(source, target, delay), daemon=True
                ).start()

    @staticmethod
    def _pass_on(source: socket.socket, target: socket.socket, delay: float) -> None:
        try:
            while chunk := source.recv(65536):
                time.sleep(delay)
                target.sendall(chunk)
        except OSError:
            pass

    def close(self) -> None:
        """Drop every connection, so that a call still waiting fails at once."""
        self.stopped.set()
        self.listener.close()
        for connection in self.connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()


@pytest.fixture
def silent_redis() -> Iterator[RedisStandIn]:
    stand_in = RedisStandIn(delay=None)
    yield stand_in
    stand_in.close()


@pytest.fixture
def slow_redis() -> Iterator[RedisStandIn]:
    stand_in = RedisStandIn(delay=DELAY_SECONDS)
    yield stand_in
    stand_in.close()


def server_on(port: int, prefix: str = "") -> ConversationLockStore:
    return ConversationLockStore(
        EndpointConfig(
            url="127.0.0.1",
            kind="redis",
            port=str(port),
            db="1",
            key_prefix=prefix or f"test_lock_loop_{uuid.uuid4().hex}:",
        )
    )


class LoopWatch:
    """Wakes every 10 ms; the longest it was kept from waking is ``longest``."""

    def __init__(self) -> None:
        self.wakes, self.longest = 0, 0.0
        self.task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            self.wakes += 1
            self.longest = max(self.longest, now - last)
            last = now

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def take_turn(server: ConversationLockStore, conversation_id: str) -> None:
    async with server.lock(conversation_id, lock_lifetime=LIFETIME_SECONDS):
        pass


async def test_while_redis_does_not_answer_the_other_conversations_go_on(
    silent_redis: RedisStandIn,
) -> None:
    server = server_on(silent_redis.port)
    watch = LoopWatch()
    stuck = asyncio.create_task(take_turn(server, "conversation-1"))
    await asyncio.sleep(0.5)
    # The turn still waits for Redis (its client gives up after 5 s), and
    # meanwhile the loop went on waking every 10 ms.
    assert not stuck.done()
    assert watch.wakes >= 20, watch.wakes
    assert watch.longest < 0.2, watch.longest
    stuck.cancel()
    await asyncio.gather(stuck, return_exceptions=True)
    await watch.stop()


@needs_redis
async def test_with_redis_slow_one_conversation_takes_turns_and_two_go_side_by_side(
    slow_redis: RedisStandIn,
) -> None:
    server = server_on(slow_redis.port)
    said: list[str] = []
    other_inside = asyncio.Event()

    async def first_turn() -> None:
        async with server.lock("conversation-1", lock_lifetime=LIFETIME_SECONDS):
            said.append("first in")
            # Held until the other conversation's turn is inside its own
            # lock: were it kept out by this one, this would time out.
            await asyncio.wait_for(other_inside.wait(), 10)
            said.append("first out")

    async def second_turn() -> None:
        async with server.lock("conversation-1", lock_lifetime=LIFETIME_SECONDS):
            said.append("second in")

    async def other_conversation() -> None:
        async with server.lock("conversation-2", lock_lifetime=LIFETIME_SECONDS):
            said.append("other in")
            other_inside.set()

    first = asyncio.create_task(first_turn())
    while not said:
        await asyncio.sleep(0.01)
    watch = LoopWatch()
    await asyncio.wait_for(
        asyncio.gather(first, second_turn(), other_conversation()), 20
    )
    await watch.stop()
    assert said.index("other in") < said.index("first out")
    assert said.index("first out") < said.index("second in")
    # Every Redis call took DELAY_SECONDS; none of them held the loop.
    assert watch.longest < DELAY_SECONDS / 2, watch.longest


@needs_redis
async def test_a_turn_cancelled_while_its_ticket_is_issued_gives_the_ticket_back(
    slow_redis: RedisStandIn,
) -> None:
    prefix = f"test_lock_loop_{uuid.uuid4().hex}:"
    server = server_on(slow_redis.port, prefix)
    given_up = asyncio.create_task(take_turn(server, "conversation-3"))
    # Cancelled while Redis is still issuing its ticket (the request given
    # up): the ticket is issued all the same, and must not be left queued.
    await asyncio.sleep(DELAY_SECONDS / 4)
    given_up.cancel()
    await asyncio.gather(given_up, return_exceptions=True)
    assert given_up.cancelled()
    # The next turn comes after that ticket, as it would on a Redis this
    # slow: it asks once Redis has issued the given-up ticket.
    other_server = server_on(6379, prefix)
    assert other_server.shared_redis is not None
    for _ in range(100):
        if other_server.shared_redis.exists(f"{prefix}conversation-3:next"):
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the given-up ticket was never issued")
    started = time.monotonic()
    await asyncio.wait_for(take_turn(other_server, "conversation-3"), 10)
    assert time.monotonic() - started < LIFETIME_SECONDS / 6


@needs_redis
async def test_a_turn_cancelled_holding_the_lock_releases_it_though_cancelled_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One lane, so that the release can be made to wait for it.
    redis_calls = ConversationLanes("test-lock-store", lanes=1)
    monkeypatch.setattr(bot.lock_store, "_redis_calls", redis_calls)
    server = server_on(6379)
    inside = asyncio.Event()

    async def holding_turn() -> None:
        async with server.lock("conversation-4", lock_lifetime=LIFETIME_SECONDS):
            inside.set()
            await asyncio.Event().wait()

    holder = asyncio.create_task(holding_turn())
    await asyncio.wait_for(inside.wait(), 10)
    thread_free = threading.Event()
    redis_calls.submit("another conversation", thread_free.wait)
    holder.cancel()
    await asyncio.sleep(0.05)
    # Its release waits for the thread; a second cancellation (a handler
    # giving up on a slow turn) must not cancel the release with it.
    holder.cancel()
    await asyncio.gather(holder, return_exceptions=True)
    assert holder.cancelled()
    thread_free.set()
    started = time.monotonic()
    await asyncio.wait_for(take_turn(server, "conversation-4"), 10)
    assert time.monotonic() - started < LIFETIME_SECONDS / 6
    redis_calls.shutdown()


class NoThreads:
    """An executor that refuses work: the in-memory kind must not ask it."""

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the in-memory lock store ran a thread")


async def test_one_server_in_memory_locks_without_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bot.lock_store, "_redis_calls", NoThreads())
    local = ConversationLockStore(EndpointConfig(kind="in_memory"))
    said: list[str] = []

    async def turn(name: str) -> None:
        async with local.lock("conversation-5"):
            said.append(f"{name} in")
            await asyncio.sleep(0.01)
            said.append(f"{name} out")

    await asyncio.gather(turn("first"), turn("second"))
    assert said == ["first in", "first out", "second in", "second out"]


@needs_redis
async def test_a_conversations_turns_take_the_lock_in_the_order_they_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first turn's ticket is slow to issue (a new TLS connection, say):
    the second, asked after it, must not draw the lower ticket and go first."""
    server = server_on(6379)
    tickets = server._redis
    assert tickets is not None
    issue = tickets.issue
    first_asked = threading.Event()

    def slow_first_issue(conversation_id: str, lifetime_seconds: float) -> int:
        if not first_asked.is_set():
            first_asked.set()
            time.sleep(0.3)
        return issue(conversation_id, lifetime_seconds)

    monkeypatch.setattr(tickets, "issue", slow_first_issue)
    said: list[str] = []

    async def turn(text: str) -> None:
        async with server.lock("conversation-6", lock_lifetime=LIFETIME_SECONDS):
            said.append(text)
            await asyncio.sleep(0.01)

    digits = asyncio.create_task(turn("4242"))
    await asyncio.sleep(0)  # "4242" asks first
    answer = asyncio.create_task(turn("no"))
    await asyncio.wait_for(asyncio.gather(digits, answer), 10)
    assert said == ["4242", "no"]
