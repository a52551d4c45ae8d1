"""Claims of widget messages in the Redis the Rasa servers share.

Each "server" is a lock store of its own, with its own Redis client, against
the machine's Redis, as two Rasa processes would be
(bot/channels/widget_claims.py). What the servers' turns do with the claims
is in test_widget_delivery.py.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from typing import Any

import pytest
from rasa.utils.endpoints import EndpointConfig

from bot.channels.widget_claims import CLAIM_SECONDS, Claim, MessageClaims, claims_in
from bot.lock_store import ConversationLockStore
from scripts.processes import free_port
from tests.support.services import needs_redis

MESSAGE_ID = "0b6f3c1e-9a4d-4d2e-8f31-5c7a2b9e4d10"


def server(port: int = 6379) -> MessageClaims:
    """The claims a Rasa server with the lock store in Redis makes."""
    lock_store = ConversationLockStore(
        EndpointConfig(url="127.0.0.1", kind="redis", port=str(port), db="1")
    )
    claims = claims_in(lock_store)
    assert claims is not None
    return claims


def conversation() -> str:
    return uuid.uuid4().hex


@needs_redis
async def test_of_two_servers_receiving_one_message_the_first_claims_it() -> None:
    here, there = server(), server()
    assert here.red is not there.red
    talk = conversation()
    assert await here.claim(talk, MESSAGE_ID) is Claim.FIRST
    assert await there.claim(talk, MESSAGE_ID) is Claim.CLAIMED
    assert await here.claim(talk, MESSAGE_ID) is Claim.CLAIMED
    assert await there.state(talk, MESSAGE_ID) is Claim.CLAIMED

    await here.mark_done(talk, MESSAGE_ID)  # its turn ran
    assert await there.claim(talk, MESSAGE_ID) is Claim.DONE
    assert await there.state(talk, MESSAGE_ID) is Claim.DONE


@needs_redis
async def test_the_same_id_in_another_conversation_is_another_message() -> None:
    here, there = server(), server()
    first, second = conversation(), conversation()
    assert await here.claim(first, MESSAGE_ID) is Claim.FIRST
    await here.mark_done(first, MESSAGE_ID)
    assert await there.claim(second, MESSAGE_ID) is Claim.FIRST
    assert await here.state(second, "another-message-id") is Claim.NONE


@needs_redis
async def test_a_claim_lasts_an_hour_and_is_then_forgotten() -> None:
    claims, talk = server(), conversation()
    await claims.claim(talk, MESSAGE_ID)
    key = f"gracious_widget_message:{talk}:{MESSAGE_ID}"
    assert 0 < claims.red.ttl(key) <= CLAIM_SECONDS == 3600
    await claims.mark_done(talk, MESSAGE_ID)
    assert 0 < claims.red.ttl(key) <= CLAIM_SECONDS
    claims.red.delete(key)


async def test_when_redis_does_not_answer_nothing_is_claimed_or_known(
    caplog: pytest.LogCaptureFixture,
) -> None:
    claims, talk = server(port=free_port()), conversation()  # nothing listens
    assert await claims.claim(talk, MESSAGE_ID) is Claim.UNKNOWN
    assert await claims.state(talk, MESSAGE_ID) is Claim.UNKNOWN
    await claims.mark_done(talk, MESSAGE_ID)  # logged, not raised: the turn has run
    assert [record.getMessage() for record in caplog.records] == [
        f"widget: could not claim message {MESSAGE_ID} of {talk}; its turn runs",
        f"widget: could not read the claim of message {MESSAGE_ID} of {talk}",
        f"widget: could not mark message {MESSAGE_ID} of {talk} done",
    ]
    assert all(record.levelname == "WARNING" for record in caplog.records)
    # the lock store's client, with its timeouts
    assert claims.red.connection_pool.connection_kwargs["socket_timeout"] == 5.0


class SilentRedis:
    """A Redis that takes connections and commands and never answers.

    As one behind a saturated network or stuck on a slow disk: the client
    waits until its read timeout. ``hang_up`` closes every connection, which
    the client takes as Redis being down.
    """

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = int(self.listener.getsockname()[1])
        self.asked = threading.Event()
        self.connections: list[socket.socket] = []
        self.open = True
        threading.Thread(target=self._take_connections, daemon=True).start()

    def _take_connections(self) -> None:
        while self.open:
            try:
                connection, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            self.connections.append(connection)
            threading.Thread(
                target=self._listen, args=(connection,), daemon=True
            ).start()

    def _listen(self, connection: socket.socket) -> None:
        try:
            if connection.recv(65536):
                self.asked.set()
        except OSError:
            pass

    def hang_up(self) -> None:
        self.open = False
        for connection in [*self.connections, self.listener]:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()


@pytest.mark.parametrize(
    "ask, unanswered",
    [("claim", Claim.UNKNOWN), ("state", Claim.UNKNOWN), ("mark_done", None)],
)
async def test_while_redis_does_not_answer_other_conversations_go_on(
    ask: str, unanswered: Any
) -> None:
    """A message waits for Redis; the server's other conversations do not."""
    silent = SilentRedis()
    claims = server(port=silent.port)
    asking = asyncio.create_task(getattr(claims, ask)(conversation(), MESSAGE_ID))
    try:
        # another conversation's turn, on the same event loop
        other_steps = 0
        while not silent.asked.is_set():
            other_steps += 1
            await asyncio.sleep(0.01)
        for _ in range(20):
            other_steps += 1
            await asyncio.sleep(0)
        assert not asking.done()  # still waiting for Redis's answer
        assert other_steps > 20
    finally:
        silent.hang_up()
    assert await asking == unanswered  # and the fallback holds


def test_one_server_locking_in_memory_has_no_claims() -> None:
    assert claims_in(ConversationLockStore(EndpointConfig(kind="in_memory"))) is None
    assert claims_in(object()) is None  # Rasa's own lock stores
