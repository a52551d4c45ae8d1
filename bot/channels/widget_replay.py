"""The replies a widget missed while its socket was down, sent again on reconnect.

The bot's replies go to the sockets in the conversation's room at the moment
they are sent. A phone that changes networks, a tab the browser put to sleep,
a reload mid-turn: the reply (a confirmation code, say) reached no one. The
widget counts the replies it has received in this conversation and sends that
count when it asks for the conversation again; the channel then sends it the
ones after it, from the tracker store.

The count is in the widget's units (one ``bot_uttered`` packet each), so the
tracker's bot events are turned into packets by the very output channel that
sent them live: a text with blank lines is several packets, a handoff one.

The conversation's lock (the one Rasa holds while it handles a message) is
held while the socket rejoins the room and the tracker is read: every reply
sent before that is in the tracker, every reply after it reaches the socket
live, and none arrives twice.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import OutputChannel
from rasa.shared.core.events import BotUttered

from bot.channels.inbound import conversation_lock

log = logging.getLogger(__name__)

MAX_SEEN = 100_000


class PacketRecorder:
    """Stands in for the socket.io server: writes down what would be emitted."""

    def __init__(self) -> None:
        self.packets: list[Any] = []

    async def emit(self, event: str, data: Any = None, **kwargs: Any) -> None:
        self.packets.append(data)


def seen_count(value: Any) -> Optional[int]:
    """Return the widget's count of replies received, if it sent a sensible one."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_SEEN else None


async def missed_replies(
    agent: Any,
    conversation_id: str,
    seen: int,
    output_for: Callable[[Any], OutputChannel],
) -> list[Any]:
    """Return the packets of this conversation after the first ``seen``."""
    tracker = await agent.tracker_store.retrieve_full_tracker(conversation_id)
    if tracker is None:
        return []
    recorder = PacketRecorder()
    output = output_for(recorder)
    for event in tracker.events:
        if isinstance(event, BotUttered):
            await output.send_response(conversation_id, event.message())
    return recorder.packets[seen:]


async def rejoin(
    agent: Optional[Any],
    conversation_id: str,
    seen: Optional[int],
    join: Callable[[], Awaitable[None]],
    welcome: Callable[[list[Any]], Awaitable[None]],
    output_for: Callable[[Any], OutputChannel],
) -> None:
    """Join the conversation's room, then welcome the socket with what it missed.

    Both happen under the conversation's lock, so a turn that starts meanwhile
    sends its replies after the missed ones, not among them.
    """
    if agent is not None and seen is not None:
        try:
            async with conversation_lock(agent, conversation_id):
                await join()
                await welcome(
                    await missed_replies(agent, conversation_id, seen, output_for)
                )
                return
        except Exception:
            # The lock or tracker store is down: the widget still gets the
            # conversation and every reply from now on; the operator a warning.
            log.warning("widget: no replay for %s", conversation_id, exc_info=True)
    await join()
    await welcome([])
