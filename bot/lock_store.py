"""One turn at a time per conversation: in this process, or across Rasa servers.

Rasa holds a conversation's lock while it handles a message, so that two
messages of one conversation never read and write its tracker at once. With
one Rasa server its in-memory lock store is enough. With several, Rasa
3.6's RedisLockStore issues tickets by reading the lock from Redis, adding a
ticket and writing it back: two servers taking a message of the same
conversation at the same moment both get the first ticket, both go ahead,
and one message vanishes from the conversation (RasaHQ/rasa#9213; seen here
in tests/conversation/test_production_path.py, 3 times in 12).

``ConversationLockStore`` (endpoints.yml) keeps Rasa's ticket order, first
come first served, with every step one atomic Redis script: a ticket is an
INCR on the conversation's counter, its lifetime a key that expires, and the
holder is the lowest live ticket of a sorted set. ``LOCK_STORE_TYPE``
chooses ``in_memory`` (one server, the default) or ``redis``; a managed
Redis takes ``password`` and ``use_ssl``, as Rasa's RedisLockStore names
them (LOCK_STORE_REDIS_PASSWORD, LOCK_STORE_REDIS_SSL).

Rasa takes the lock from its event loop, which every conversation on the
server shares, and the Redis client is blocking: so each Redis call of a
turn runs on its conversation's lane, one thread of a few, in the order the
turns asked (bot/redis_lanes.py), and a Redis that is slow or does not
answer holds the turns asking it for up to the client's timeouts, never the
loop and the other conversations on it. The in-memory kind needs no thread.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, AsyncGenerator, Optional

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from bot.redis_lanes import ConversationLanes
from bot.settings import SettingsError, flag

log = logging.getLogger(__name__)

KEY_PREFIX = "gracious_lock:"
# A waiting turn looks again this often, whatever Rasa asks (it asks 1 s).
MAX_POLL_SECONDS = 0.05
# An idle conversation's counter and queue are dropped after a day.
IDLE_MILLISECONDS = 24 * 3600 * 1000
CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS = 2.0, 5.0
# Lanes of their own, not the loop's default executor: while Redis does not
# answer, each call holds its thread for up to the client's timeouts, and
# the default executor's few threads also resolve the host names of the
# action server and of billing. One lane per conversation keeps its tickets
# in the order its turns asked for them (bot/redis_lanes.py). The widget's
# claims have lanes of their own, so that a burst of receipts never queues a
# turn's release behind it.
_redis_calls = ConversationLanes("gracious-lock-store")

# KEYS: counter, queue, ticket key prefix; ARGV: lifetime ms, idle ms.
# The ticket keys are built in the script: one Redis, not a cluster.
_ISSUE = """
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[3] .. n, '1', 'PX', ARGV[1])
redis.call('ZADD', KEYS[2], n, n)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return n
"""
# KEYS: queue, ticket key prefix; ARGV: the asking ticket. The lowest ticket
# still alive, or -1 when the asking ticket itself has expired; expired
# tickets (a server that died holding one) are dropped on the way.
_HOLDER = """
if redis.call('EXISTS', KEYS[2] .. ARGV[1]) == 0 then return -1 end
while true do
  local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if not head then return 0 end
  if redis.call('EXISTS', KEYS[2] .. head) == 1 then return tonumber(head) end
  redis.call('ZREM', KEYS[1], head)
end
"""
# KEYS: queue, ticket key prefix; ARGV: ticket.
_RELEASE = """
redis.call('DEL', KEYS[2] .. ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
"""


def _unheard(conversation_id: str, ticket: int, releasing: Future[None]) -> None:
    """Log a failed release that no turn is left to hear of."""
    if not releasing.cancelled() and releasing.exception() is not None:
        log.warning(
            "lock store: could not release ticket %s of %s; it expires at the "
            "end of its lifetime",
            ticket,
            conversation_id,
            exc_info=releasing.exception(),
        )


class RedisTickets:
    """Ticket locks in Redis, every step atomic.

    ``issue``, ``holder`` and ``release`` are blocking, for callers outside
    the event loop; ``lock`` runs them in threads.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 6379,
        db: int = 1,
        password: Optional[str] = None,
        key_prefix: str = KEY_PREFIX,
        use_ssl: bool = False,
    ) -> None:
        import redis

        self.red = redis.StrictRedis(
            host=host,
            port=port,
            db=db,
            password=password or None,
            ssl=use_ssl,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_timeout=READ_TIMEOUT_SECONDS,
        )
        self.prefix = key_prefix
        self._issue = self.red.register_script(_ISSUE)
        self._holder = self.red.register_script(_HOLDER)
        self._release = self.red.register_script(_RELEASE)

    def _keys(self, conversation_id: str) -> tuple[str, str, str]:
        base = f"{self.prefix}{conversation_id}"
        return f"{base}:next", f"{base}:queue", f"{base}:ticket:"

    def issue(self, conversation_id: str, lifetime_seconds: float) -> int:
        counter, queue, tickets = self._keys(conversation_id)
        lifetime = max(1, int(lifetime_seconds * 1000))
        return int(
            self._issue(
                keys=[counter, queue, tickets],
                args=[lifetime, max(lifetime, IDLE_MILLISECONDS)],
            )
        )

    def holder(self, conversation_id: str, ticket: int) -> int:
        """Return the ticket holding the lock, -1 if ``ticket`` has expired."""
        _, queue, tickets = self._keys(conversation_id)
        return int(self._holder(keys=[queue, tickets], args=[ticket]))

    def release(self, conversation_id: str, ticket: int) -> None:
        _, queue, tickets = self._keys(conversation_id)
        self._release(keys=[queue, tickets], args=[ticket])

    def _give_back(self, conversation_id: str, issuing: Future[int]) -> None:
        """Release the ticket a cancelled turn was being issued, once issued."""
        if issuing.cancelled() or issuing.exception() is not None:
            return  # never issued: nothing to give back
        ticket = issuing.result()
        try:
            releasing = _redis_calls.submit(
                conversation_id, self.release, conversation_id, ticket
            )
        except RuntimeError:
            # The threads are gone (the process is exiting): the ticket
            # expires at the end of its lifetime.
            return
        releasing.add_done_callback(partial(_unheard, conversation_id, ticket))

    async def _issued(self, conversation_id: str, lifetime_seconds: float) -> int:
        """Return a new ticket for the conversation, issued in a thread."""
        issuing = _redis_calls.submit(
            conversation_id, self.issue, conversation_id, lifetime_seconds
        )
        try:
            return await asyncio.wrap_future(issuing)
        except asyncio.CancelledError:
            # A turn cancelled while Redis issues its ticket (Redis slow, the
            # request given up) does not stop the thread: the ticket is
            # issued all the same, and unreleased it would hold the
            # conversation for its whole lifetime. A call still queued is
            # cancelled with the turn and issues nothing.
            issuing.add_done_callback(partial(self._give_back, conversation_id))
            raise

    async def _released(self, conversation_id: str, ticket: int) -> None:
        """Return once the ticket is released; a cancelled turn still releases."""
        releasing = _redis_calls.submit(
            conversation_id, self.release, conversation_id, ticket
        )
        try:
            # Shielded: a turn cancelled (again) while its release waits for
            # a thread would otherwise cancel the release itself.
            await asyncio.shield(asyncio.wrap_future(releasing))
        except asyncio.CancelledError:
            releasing.add_done_callback(partial(_unheard, conversation_id, ticket))
            raise

    @asynccontextmanager
    async def lock(
        self, conversation_id: str, lifetime_seconds: float, poll_seconds: float
    ) -> AsyncGenerator[TicketLock, None]:
        ticket = await self._issued(conversation_id, lifetime_seconds)
        try:
            while True:
                holder = await _redis_calls.run(
                    conversation_id, self.holder, conversation_id, ticket
                )
                if holder == ticket:
                    break
                if holder == -1:
                    # Our ticket's lifetime ran out while we waited.
                    raise LockError(
                        f"Ticket {ticket} of conversation {conversation_id!r} "
                        "expired while waiting for the lock."
                    )
                await asyncio.sleep(poll_seconds)
            # Rasa's callers take a TicketLock and never read it.
            yield TicketLock(conversation_id)
        finally:
            await self._released(conversation_id, ticket)


def _use_ssl(value: Any) -> bool:
    """Read ``use_ssl`` as every yes/no setting is read (bot/settings.py)."""
    try:
        return flag(value, "LOCK_STORE_REDIS_SSL")
    except SettingsError as error:
        # Rasa builds the lock store from endpoints.yml: a bad value there
        # is a ValueError, as Rasa's own stores raise.
        raise ValueError(str(error)) from None


class ConversationLockStore(LockStore):
    """Rasa's lock store interface: in memory (one server) or in Redis (several).

    Only ``lock`` is used by Rasa 3.6 (the agent, the processor, the HTTP
    API) and by our channels, all from the event loop; the ticket
    bookkeeping behind it is ``RedisTickets``'s, whose Redis calls it runs
    in threads.
    """

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None) -> None:
        super().__init__()
        config = endpoint_config or EndpointConfig()
        options: dict[str, Any] = dict(config.kwargs or {})
        kind = str(options.get("kind") or "in_memory").strip().lower()
        self.kind = kind
        self._local: Optional[InMemoryLockStore] = None
        self._redis: Optional[RedisTickets] = None
        if kind == "in_memory":
            self._local = InMemoryLockStore()
        elif kind == "redis":
            self._redis = RedisTickets(
                host=str(config.url or "127.0.0.1"),
                port=int(options.get("port") or 6379),
                db=int(options.get("db") or 1),
                password=options.get("password") or None,
                key_prefix=str(options.get("key_prefix") or KEY_PREFIX),
                use_ssl=_use_ssl(options.get("use_ssl")),
            )
        else:
            raise ValueError(
                f"LOCK_STORE_TYPE must be in_memory or redis, got {kind!r}"
            )

    @property
    def shared_redis(self) -> Optional[Any]:
        """Return the Redis the servers share (with its timeouts); None in memory.

        The widget claims its messages there (bot/channels/widget_claims.py).
        """
        return self._redis.red if self._redis is not None else None

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        if self._redis is None:
            assert self._local is not None
            async with self._local.lock(
                conversation_id, lock_lifetime, wait_time_in_seconds
            ) as held:
                yield held
            return
        poll = min(wait_time_in_seconds, MAX_POLL_SECONDS)
        async with self._redis.lock(conversation_id, lock_lifetime, poll) as held:
            yield held
