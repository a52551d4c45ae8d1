"""A customer's widget message reaches the bot once, however often it is sent.

A socket can be dead before anyone notices (the network dropped, the widget
still thinks it is connected): a message sent on it is lost. So the widget
gives each message an id, keeps it until this channel acknowledges it, and
sends it again, marked as a resend, once it has the conversation back. The
channel acknowledges on receipt, before the turn runs: the turn's replies
reach a widget that reconnects meanwhile through the replay of missed
replies (bot/channels/widget_replay.py).

A message is then sometimes received twice (its acknowledgement was lost),
and its turn must run once:

- each server remembers the ids it received lately, so a resend of a
  message still in its turn there is acknowledged and dropped at once;
- the id is kept in the user event's metadata, and a resend is looked up in
  the conversation's tracker under the conversation's lock (the one Rasa
  takes for a turn): a first attempt another server is still handling holds
  or queues for that lock, so the lookup waits for it and finds it.

Not covered: a resend whose server takes the lock before the first
attempt's server even asked for it (that server stalled for longer than the
widget waits for an acknowledgement) runs twice; and when the tracker store
cannot be read, a resend runs (a reply twice is better than a message lost).
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from typing import Any, Iterable, Optional

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import Event, UserUttered

log = logging.getLogger(__name__)

# crypto.randomUUID() is 36 characters; the widget's fallback 32.
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# Ids a server remembers, across all its conversations (about 100 bytes each).
MAX_REMEMBERED = 10_000


def client_id(value: Any) -> Optional[str]:
    """Return the widget's id for a message, if it sent a sensible one."""
    if isinstance(value, str) and CLIENT_ID.match(value):
        return value
    return None


class RecentMessages:
    """The message ids this server received lately, per conversation."""

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        self._limit = limit
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def first_time(self, conversation_id: str, message_id: str) -> bool:
        """Return whether this is news, and remember it (forgetting the oldest)."""
        key = (conversation_id, message_id)
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        while len(self._seen) > self._limit:
            self._seen.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._seen)


def received_in(events: Iterable[Event], message_id: str) -> bool:
    """Return whether one of these events is the customer's message ``message_id``."""
    for event in events:
        if not isinstance(event, UserUttered):
            continue
        metadata = event.metadata if isinstance(event.metadata, dict) else {}
        ours = metadata.get("gracious")
        if isinstance(ours, dict) and ours.get("client_id") == message_id:
            return True
    return False


async def handle_resend(agent: Any, message: UserMessage, message_id: str) -> None:
    """Run a resent message's turn, unless the conversation already has it.

    What ``Agent.handle_message`` does (the conversation's lock, then the
    processor), with the lookup inside the lock.
    """
    async with agent.lock_store.lock(message.sender_id):
        try:
            tracker = await agent.tracker_store.retrieve_full_tracker(message.sender_id)
        except Exception:
            log.warning(
                "widget: could not look up a resent message in %s",
                message.sender_id,
                exc_info=True,
            )
            tracker = None
        if tracker is not None and received_in(tracker.events, message_id):
            log.info("widget: %s already has message %s", message.sender_id, message_id)
            return
        await agent.processor.handle_message(message)
