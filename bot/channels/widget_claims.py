"""Which receipt of a widget message runs its turn, when Rasa servers share Redis.

The first receipt of a message id, on any server, claims it in the lock
store's Redis (``SET NX``); a later receipt finds the claim, and the turn
that runs marks it done. The claim is checked again under the
conversation's lock, where a turn that found it done stops
(bot/channels/widget_delivery.py says who runs what).

The lock store's Redis and its client are used, timeouts, password and TLS
included: the claim belongs with the lock it is checked under, and a store
in memory (one server) needs no claim. That client is blocking, so each
call runs on its conversation's lane (bot/redis_lanes.py): a Redis that is
slow or does not answer holds the message it is asked about for up to the
client's timeouts, never the event loop and the other conversations on it.
"""

from __future__ import annotations

import enum
import logging
from functools import lru_cache
from typing import Any, Callable, Optional, TypeVar

from redis.exceptions import RedisError

from bot.redis_lanes import ConversationLanes

log = logging.getLogger(__name__)

KEY_PREFIX = "gracious_widget_message:"
# The claim stands between a message's receipt and its turn, which a loaded
# server delays by seconds (minutes at worst): an hour leaves room to spare
# and keeps no more than an hour of ids in Redis. The widget resends for as
# long as its outbox holds a message, across reloads, so a resend can come
# later than that; it is looked up in the tracker then, as every resend is.
CLAIM_SECONDS = 3600
CLAIMED, DONE = b"claimed", b"done"
# Lanes of their own (bot/redis_lanes.py), not the loop's default executor:
# while Redis does not answer, each call holds its thread for up to the
# client's timeouts, and the default executor's few threads also resolve
# the host names of the action server and of billing. On its lane a
# conversation's claims are answered in the order they were asked: its
# receipts start their turns in that order, so a message answered sooner
# than the one before it must not overtake it.
_redis_calls = ConversationLanes("gracious-widget-claims")

# KEYS: the message's key; ARGV: its lifetime in seconds. Claims it, or
# returns what an earlier receipt left there, in one step.
_CLAIM = """
if redis.call('SET', KEYS[1], 'claimed', 'NX', 'EX', ARGV[1]) then
  return 'first'
end
return redis.call('GET', KEYS[1])
"""

Answer = TypeVar("Answer")


class Claim(enum.Enum):
    """What a server learns from Redis about a message id."""

    FIRST = "first"  # this receipt has just claimed it
    CLAIMED = "claimed"  # claimed by a receipt whose turn has not ended
    DONE = "done"  # its turn ran to the end
    NONE = "none"  # no claim: it expired, or Redis was down at receipt
    UNKNOWN = "unknown"  # Redis did not answer


def _claim(value: Any) -> Claim:
    if value in (b"first", "first"):
        return Claim.FIRST
    if value == CLAIMED:
        return Claim.CLAIMED
    if value == DONE:
        return Claim.DONE
    return Claim.NONE


class MessageClaims:
    """Claims of widget message ids, per conversation, shared by every server."""

    def __init__(
        self, red: Any, key_prefix: str = KEY_PREFIX, seconds: int = CLAIM_SECONDS
    ) -> None:
        self.red = red
        self.prefix = key_prefix
        self.seconds = seconds
        self._claim = red.register_script(_CLAIM)

    def _key(self, conversation_id: str, message_id: str) -> str:
        return f"{self.prefix}{conversation_id}:{message_id}"

    async def _ask(
        self,
        call: Callable[[], Answer],
        unanswered: Answer,
        failure: str,
        conversation_id: str,
        message_id: str,
    ) -> Answer:
        """Return Redis's answer, or ``unanswered`` (and a warning) on its error."""
        try:
            return await _redis_calls.run(conversation_id, call)
        except RedisError:
            log.warning(failure, message_id, conversation_id, exc_info=True)
            return unanswered

    async def claim(self, conversation_id: str, message_id: str) -> Claim:
        """Claim a message on receipt; return FIRST, or what was there before.

        A conversation's claims are answered in the order they were asked
        (its lane), so its receipts start their turns in that order.
        """
        return await self._ask(
            lambda: _claim(
                self._claim(
                    keys=[self._key(conversation_id, message_id)],
                    args=[self.seconds],
                )
            ),
            Claim.UNKNOWN,
            "widget: could not claim message %s of %s; its turn runs",
            conversation_id,
            message_id,
        )

    async def state(self, conversation_id: str, message_id: str) -> Claim:
        """Return CLAIMED, DONE, NONE, or UNKNOWN if Redis does not answer."""
        key = self._key(conversation_id, message_id)
        return await self._ask(
            lambda: _claim(self.red.get(key)),
            Claim.UNKNOWN,
            "widget: could not read the claim of message %s of %s",
            conversation_id,
            message_id,
        )

    async def mark_done(self, conversation_id: str, message_id: str) -> None:
        """Record that the message's turn ran (for another full lifetime)."""
        key = self._key(conversation_id, message_id)
        # Unmarked, a later receipt looks the message up in the tracker; only
        # the first receipt's own turn, yet to start, would run it again.
        await self._ask(
            lambda: self.red.set(key, DONE, ex=self.seconds),
            None,
            "widget: could not mark message %s of %s done",
            conversation_id,
            message_id,
        )


@lru_cache(maxsize=4)
def claims_in(lock_store: Any) -> Optional[MessageClaims]:
    """Return the claims kept beside a lock store's Redis; None for one in memory."""
    red = getattr(lock_store, "shared_redis", None)
    return MessageClaims(red) if red is not None else None
