"""A widget message whose turn fails after it was acknowledged: the customer is told.

The widget drops a message from its outbox once this channel acknowledges
it, which happens on receipt, before the turn runs. A turn that then fails
(the tracker store or the lock store not answering, an error anywhere in
Rasa's handling) would leave the customer with no answer at all and nothing
to resend. So every open tab of the conversation is told at once, live (the
conversation's room): the message did not go through, send it again.

The notice is only sent, never stored: the store may be what failed, and a
line the conversation does not hold must not be replayed as the bot's. The
packet names the message (``failed_message``), so the tab that sent it
offers to send it again, and a widget does not count it among the replies a
reconnecting tab is sent again (bot/channels/widget_replay.py counts the
tracker's).

What the notice says follows what the conversation kept. Rasa saves a turn
at its end, all at once:

- the tracker holds the message: the turn was saved and what failed came
  after it (releasing the lock). Nothing is said: the customer has the
  answer, and a resend would be found and dropped.
- no reply had gone out: the message did not go through.
- replies had gone out: the customer saw an answer the conversation did
  not keep, and is told so. The packet says how many (``replies_not_kept``),
  so a widget's count of replies matches the tracker's again.

A tracker that cannot be read counts as not holding the message: the store
failing is the likeliest reason the turn failed, and a resend is looked up
again, under the lock, before it runs. The server forgets the message's id,
so a resend with it is not dropped as already received; its claim in Redis
was never marked done, so it passes there too.

A turn cancelled is no failure, and nothing is said, with one exception:
the server stopping waits for running turns up to a limit
(bot/channels/stopping.py) and cancels one still running after that. Its
customer holds an acknowledgement and would wait for ever, so they are told
as for a failure, while the sockets are still open.

A message that comes while the agent has no model loaded (a server started
before its model exists, or whose model was unloaded) has no turn at all:
Rasa's ``Agent.handle_message`` logs it and drops it. It is told the same
way, saying the bot is starting up (``not_ready``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import UserMessage
from socketio import AsyncServer

from bot.channels.widget_delivery import RecentMessages, already_received
from bot.database import log_failure
from bot.replies import ANSWER_NOT_KEPT, MESSAGE_NOT_THROUGH, STARTING_UP

log = logging.getLogger(__name__)

# The notice packet's fields, beside "text", that the widget reads.
FAILED_MESSAGE = "failed_message"
REPLIES_NOT_KEPT = "replies_not_kept"


def message_id_of(message: UserMessage) -> Optional[str]:
    """Return the widget's id for a message, as the channel put it in its metadata."""
    ours = (message.metadata or {}).get("gracious")
    found = ours.get("client_id") if isinstance(ours, dict) else None
    return found if isinstance(found, str) else None


def replies_sent(message: UserMessage) -> int:
    """Return how many reply packets the message's turn sent before it ended."""
    sent = getattr(message.output_channel, "replies_sent", 0)
    return sent if isinstance(sent, int) else 0


class FailedTurns:
    """Runs acknowledged turns, telling the conversation of one that fails."""

    def __init__(
        self,
        sio: AsyncServer,
        bot_event: str,
        received: RecentMessages,
        agent: Callable[[], Optional[Any]],
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.sio = sio
        self.bot_event = bot_event
        self.received = received
        self.agent = agent
        self.stopping = stopping

    async def run(self, turn: Awaitable[Any], message: UserMessage) -> None:
        """Run ``message``'s turn; if it fails, log it and tell the customer."""
        try:
            await turn
        except Exception as error:  # CancelledError is not one: no failure
            log_failure(log, error, "widget: a turn failed")
            await self.tell(message)
        except asyncio.CancelledError:
            # ... unless the stopping server cut it off at its limit.
            if self.stopping():
                await self.tell(message)
            raise

    async def tell(self, message: UserMessage) -> None:
        """Tell every tab of the conversation that ``message`` did not go through."""
        conversation_id = message.sender_id
        message_id = message_id_of(message)
        bot = self.agent()
        if (
            message_id
            and bot is not None
            and await already_received(bot, conversation_id, message_id)
        ):
            log.info(
                "widget: message %s of %s was kept before its turn failed",
                message_id,
                conversation_id,
            )
            return
        if message_id:
            self.received.forget(conversation_id, message_id)
        replies = replies_sent(message)
        packet: dict[str, Any] = {
            "text": ANSWER_NOT_KEPT if replies else MESSAGE_NOT_THROUGH,
            FAILED_MESSAGE: message_id,
        }
        if replies:
            packet[REPLIES_NOT_KEPT] = replies
        await self.say(conversation_id, message_id, packet)

    async def not_ready(self, message: UserMessage) -> None:
        """Tell every tab that ``message`` came before the bot could handle it."""
        conversation_id = message.sender_id
        message_id = message_id_of(message)
        log.warning(
            "widget: message %s of %s came while no model is loaded",
            message_id,
            conversation_id,
        )
        if message_id:
            # its "Send again" must run once the model is loaded, not be
            # dropped as received; no claim in Redis was made for it
            self.received.forget(conversation_id, message_id)
        await self.say(
            conversation_id,
            message_id,
            {"text": STARTING_UP, FAILED_MESSAGE: message_id},
        )

    async def say(
        self, conversation_id: str, message_id: Optional[str], packet: dict[str, Any]
    ) -> None:
        """Send ``packet`` live to every tab of the conversation, never stored."""
        try:
            await self.sio.emit(self.bot_event, packet, room=conversation_id)
        except Exception:
            # Redis between the servers down too: the log is all there is.
            log.exception(
                "widget: could not tell %s that message %s failed",
                conversation_id,
                message_id,
            )
