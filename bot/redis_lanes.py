"""Blocking Redis calls run off the event loop, a conversation's in the order made.

The lock store's tickets and the widget's message claims use the blocking
redis-py client that Rasa's lock store interface is built around. On the
event loop, a Redis that is slow or does not answer would hold every
conversation on the server for up to the client's timeouts; in a pool of
threads, two calls of one conversation could reach Redis in either order,
and the order is the point: the ticket a turn draws decides when it runs,
and a message's claim decides whether its turn starts before the next one.

So each conversation has a lane, one thread among a few: its calls run one
after the other, in the order they were made, and finish in that order;
the other lanes go on while one waits on Redis.
"""

from __future__ import annotations

import asyncio
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, TypeVar

Answer = TypeVar("Answer")
LANES = 8


class ConversationLanes:
    """A few single threads; a conversation's calls always take the same one."""

    def __init__(self, name: str, lanes: int = LANES) -> None:
        self._lanes = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-{lane}")
            for lane in range(lanes)
        ]

    def submit(
        self, conversation_id: str, call: Callable[..., Answer], *args: Any
    ) -> Future[Answer]:
        """Queue ``call(*args)`` on the conversation's lane."""
        # crc32, not hash(): the same lane for an id on every run of a test
        lane = zlib.crc32(conversation_id.encode()) % len(self._lanes)
        return self._lanes[lane].submit(call, *args)

    async def run(
        self, conversation_id: str, call: Callable[..., Answer], *args: Any
    ) -> Answer:
        """Return ``call(*args)``, run on the conversation's lane; the loop goes on."""
        return await asyncio.wrap_future(self.submit(conversation_id, call, *args))

    def shutdown(self) -> None:
        for lane in self._lanes:
            lane.shutdown(wait=False)
