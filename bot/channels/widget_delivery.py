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
- with several servers (the lock store in Redis), the first receipt on any
  of them claims the id (bot/channels/widget_claims.py). Every turn of a
  message checks the claim under the conversation's lock, the one Rasa
  takes for a turn: the first to get there runs the message and marks the
  claim done, a later one finds it done and stops, and a receipt that finds
  it done is dropped at once. So a resend reaching a second server before
  the first server's turn even asked for the lock (its event loop held for
  longer than the widget waits by other turns' NLU) runs there, once; and a
  server that died after claiming leaves the message to the resend;
- a turn that did not claim its message itself (a resend; Redis did not
  answer) also looks it up in the tracker, under the lock: the claim may
  have expired, or the message run before it was claimed. With one server
  (the lock store in memory) its memory of ids is the claim, and a resend
  it does not remember (it restarted) is looked up the same way. A first
  attempt another server is running holds or queues for the lock, so the
  lookup waits for it and finds it.

Not covered: a message runs twice when a server runs a resend's turn but
Redis stops answering before it can mark the claim done, and the turn of
the first receipt (which claimed it, on a server that stalled) then finds
the claim as it left it. A resend whose claim and tracker both cannot be
read runs, even if it has run (a reply twice is better than a message
lost). And as for any turn, one that outlives the lock's lifetime lets the
next one in.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from typing import Any, Iterable, Optional

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import Event, UserUttered

from bot.channels.widget_claims import Claim, MessageClaims

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

    def forget(self, conversation_id: str, message_id: str) -> None:
        """Take the message as news again: its turn failed, and it may be resent."""
        self._seen.pop((conversation_id, message_id), None)

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


async def run_once(
    agent: Any,
    message: UserMessage,
    message_id: str,
    claims: Optional[MessageClaims] = None,
    claimed_here: bool = False,
) -> None:
    """Run a message's turn unless it has run already, on this server or another.

    What ``Agent.handle_message`` does (the conversation's lock, then the
    processor), with the checks inside the lock. ``claimed_here``: this
    receipt claimed the message, so a claim still as it left it means that
    no other turn has run the message.
    """
    conversation_id = message.sender_id
    async with agent.lock_store.lock(conversation_id):
        claim = (
            await claims.state(conversation_id, message_id) if claims else Claim.NONE
        )
        if claim is Claim.DONE:
            log.info("widget: message %s of %s has run", message_id, conversation_id)
            return
        # In memory (one server) the receipt's memory of ids was the claim.
        as_left = claimed_here and (claims is None or claim is Claim.CLAIMED)
        if not as_left and await already_received(agent, conversation_id, message_id):
            log.info("widget: %s already has message %s", conversation_id, message_id)
            if claims is not None:
                await claims.mark_done(conversation_id, message_id)
            return
        await agent.processor.handle_message(message)
        if claims is not None:
            # Still under the lock: the next turn of this message finds it done.
            await claims.mark_done(conversation_id, message_id)


async def already_received(agent: Any, conversation_id: str, message_id: str) -> bool:
    """Return whether the conversation's tracker holds the message; False unread."""
    try:
        tracker = await agent.tracker_store.retrieve_full_tracker(conversation_id)
    except Exception:
        log.warning(
            "widget: could not look up message %s in %s",
            message_id,
            conversation_id,
            exc_info=True,
        )
        return False
    return tracker is not None and received_in(tracker.events, message_id)
