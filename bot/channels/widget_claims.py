"""Which receipt of a widget message runs its turn, when Rasa servers share Redis.

The first receipt of a message id, on any server, claims it in the lock
store's Redis (``SET NX``); a later receipt finds the claim, and the turn
that runs marks it done. The claim is checked again under the
conversation's lock, where a turn that found it done stops
(bot/channels/widget_delivery.py says who runs what).

The lock store's Redis and its client are used, timeouts included: the
claim belongs with the lock it is checked under, and a store in memory (one
server) needs no claim. The calls are blocking, as the lock store's are: one
round trip to a Redis next to the servers, bounded by those timeouts.
"""

from __future__ import annotations

import enum
import logging
from functools import lru_cache
from typing import Any, Optional

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY_PREFIX = "gracious_widget_message:"
# The claim stands between a message's receipt and its turn, which a loaded
# server delays by seconds (minutes at worst): an hour leaves room to spare
# and keeps no more than an hour of ids in Redis. The widget resends for as
# long as its outbox holds a message, across reloads, so a resend can come
# later than that; it is looked up in the tracker then, as every resend is.
CLAIM_SECONDS = 3600
CLAIMED, DONE = b"claimed", b"done"

# KEYS: the message's key; ARGV: its lifetime in seconds. Claims it, or
# returns what an earlier receipt left there, in one step.
_CLAIM = """
if redis.call('SET', KEYS[1], 'claimed', 'NX', 'EX', ARGV[1]) then
  return 'first'
end
return redis.call('GET', KEYS[1])
"""


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

    def claim(self, conversation_id: str, message_id: str) -> Claim:
        """Claim a message on receipt; return FIRST, or what was there before."""
        try:
            found = self._claim(
                keys=[self._key(conversation_id, message_id)], args=[self.seconds]
            )
        except RedisError:
            log.warning(
                "widget: could not claim message %s of %s; its turn runs",
                message_id,
                conversation_id,
                exc_info=True,
            )
            return Claim.UNKNOWN
        return _claim(found)

    def state(self, conversation_id: str, message_id: str) -> Claim:
        """Return CLAIMED, DONE, NONE, or UNKNOWN if Redis does not answer."""
        try:
            return _claim(self.red.get(self._key(conversation_id, message_id)))
        except RedisError:
            log.warning(
                "widget: could not read the claim of message %s of %s",
                message_id,
                conversation_id,
                exc_info=True,
            )
            return Claim.UNKNOWN

    def mark_done(self, conversation_id: str, message_id: str) -> None:
        """Record that the message's turn ran (for another full lifetime)."""
        try:
            self.red.set(self._key(conversation_id, message_id), DONE, ex=self.seconds)
        except RedisError:
            # A later receipt then looks the message up in the tracker; only
            # the first receipt's own turn, yet to start, would run it again.
            log.warning(
                "widget: could not mark message %s of %s done",
                message_id,
                conversation_id,
                exc_info=True,
            )


@lru_cache(maxsize=4)
def claims_in(lock_store: Any) -> Optional[MessageClaims]:
    """Return the claims kept beside a lock store's Redis; None for one in memory."""
    red = getattr(lock_store, "shared_redis", None)
    return MessageClaims(red) if red is not None else None
