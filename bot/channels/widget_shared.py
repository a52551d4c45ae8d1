"""Several Rasa servers, one widget: every socket.io emit passes through Redis.

One Rasa server keeps its sockets to itself. Several (behind a load balancer,
sharing the tracker store and a Redis lock store) publish every emit on one
Redis channel (WIDGET_REDIS_URL, by default the lock store's Redis); each
server delivers it to the sockets it holds. So a reply reaches every tab of
the conversation, whichever server each tab's socket landed on, and so does
a notice the retry worker posted to any server. python-socketio pickles
these messages: that Redis must be reachable by the bot's servers only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from redis.exceptions import RedisError
from socketio import AsyncRedisManager, AsyncServer

log = logging.getLogger(__name__)

# The Redis pub/sub channel the Rasa servers' widget sockets share.
SHARED_CHANNEL = "gracious-widget"
SUBSCRIBE_WAIT_SECONDS = 5.0


class SharedSockets(AsyncRedisManager):
    """python-socketio's Redis manager, waiting while Redis cannot be reached.

    Its listener (5.9) subscribes without a guard and its task loop restarts
    it at once: with Redis down that is a busy loop writing a traceback many
    thousand times a second. Here the subscription is retried, waiting twice
    as long each time, up to a minute.
    """

    async def _listen(self) -> Any:
        wait = 0.5
        while True:
            try:
                await self.pubsub.subscribe(self.channel)
                break
            except (RedisError, OSError) as error:
                log.warning(
                    "widget: Redis %r unreachable (%s); trying again in %.1f s",
                    SHARED_CHANNEL,
                    type(error).__name__,
                    wait,
                )
                await asyncio.sleep(wait)
                wait = min(wait * 2, 60.0)
                self._redis_connect()
        async for data in super()._listen():
            yield data


async def share_through_redis(
    sio: AsyncServer, wait_seconds: float = SUBSCRIBE_WAIT_SECONDS
) -> None:
    """Start listening to the other servers' emits before any socket connects.

    python-socketio subscribes on its first request; an emit published by
    another server before that subscription is in place would be lost.
    """
    manager = sio.manager
    if not isinstance(manager, AsyncRedisManager) or sio.manager_initialized:
        return
    sio.manager_initialized = True
    manager.initialize()
    deadline = time.monotonic() + wait_seconds
    while not manager.pubsub.subscribed:
        if time.monotonic() > deadline:
            # Replies still reach sockets on this server once Redis answers.
            log.warning("widget: not yet subscribed to Redis %r", SHARED_CHANNEL)
            return
        await asyncio.sleep(0.01)
