"""A widget message whose turn fails after its acknowledgement is not lost in silence.

The channel runs here on a real Sanic server, and the tabs are real
socket.io clients speaking to it as the widget does; only Rasa's processor
is a stand-in, which fails where each test chooses.
"""

from __future__ import annotations

import asyncio
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.utils.endpoints import EndpointConfig
from sanic import Sanic

from bot.channels.widget_delivery import RecentMessages
from bot.channels.widget_failures import FailedTurns
from bot.lock_store import ConversationLockStore
from bot.replies import ANSWER_NOT_KEPT, MESSAGE_NOT_THROUGH, STARTING_UP
from tests.support.services import redis_reachable
from tests.support.widget_channel import (
    THANKS,
    SocketTab,
    TrackerDatabaseDown,
    agent_on,
    agent_without_model,
    load_model_now,
    widget_server,
)

MESSAGE_ID = "0b6f3c1e-9a4d-4d2e-8f31-5c7a2b9e4d10"
# Long enough for a notice that is coming to arrive on this loop.
QUIET_SECONDS = 0.5


@pytest.fixture(autouse=True)
def several_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let each test start a Sanic app of its own, as sanic-testing does."""
    monkeypatch.setattr(Sanic, "test_mode", True)


class Tab(SocketTab):
    """One browser tab's socket, sending the one message the tests send."""

    async def send(self, text: str, resent: bool = False) -> Any:
        """Send with the widget's id; return the acknowledgement."""
        data: dict[str, Any] = {"message": text, "client_id": MESSAGE_ID}
        if resent:
            data["resent"] = True
        return await self.client.call("user_uttered", data, timeout=10)

    async def next_packet(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.packets.get(), 10)

    async def quiet(self) -> bool:
        """Return whether nothing more arrives."""
        await asyncio.sleep(QUIET_SECONDS)
        return self.packets.empty()


@asynccontextmanager
async def two_tabs(agent: Any) -> AsyncIterator[tuple[Tab, Tab, str]]:
    """Two tabs of one conversation: the customer types in the first."""
    conversation = uuid.uuid4().hex
    async with widget_server(agent) as url:
        here, there = Tab(url), Tab(url)
        await here.open(conversation)
        await there.open(conversation)
        try:
            yield here, there, conversation
        finally:
            await here.client.disconnect()
            await there.client.disconnect()


def in_memory() -> Any:
    return InMemoryLockStore()


def in_redis() -> Any:
    """Several servers' lock store, the widget's claims beside it."""
    if not redis_reachable():
        pytest.skip("needs Redis on 127.0.0.1:6379 (CI has it)")
    prefix = f"test_lock_{uuid.uuid4().hex}:"
    return ConversationLockStore(
        EndpointConfig(url="127.0.0.1", kind="redis", port="6379", key_prefix=prefix)
    )


@pytest.mark.parametrize("lock_store", [in_memory, in_redis], ids=["one", "several"])
async def test_a_turn_that_fails_is_told_to_every_tab_and_the_resend_runs(
    lock_store: Callable[[], Any],
) -> None:
    agent = agent_on(lock_store())
    agent.processor.fail_at = "start"
    async with two_tabs(agent) as (here, there, conversation):
        assert await here.send("4242") == {"received": MESSAGE_ID}
        notice = {"text": MESSAGE_NOT_THROUGH, "failed_message": MESSAGE_ID}
        assert await here.next_packet() == notice
        assert await there.next_packet() == notice

        # "Send again": the same message, the same id, marked as a resend
        assert await here.send("4242", resent=True) == {"received": MESSAGE_ID}
        assert await here.next_packet() == {"text": THANKS}
        assert await there.next_packet() == {"text": THANKS}
        assert agent.processor.turns == ["4242", "4242"]
        # the notice was said, never kept as the bot's line
        tracker = await agent.tracker_store.retrieve_full_tracker(conversation)
        said = [e.text for e in tracker.events if isinstance(e, BotUttered)]
        assert said == [THANKS]


async def test_an_answer_shown_before_the_save_failed_is_said_not_kept() -> None:
    agent = agent_on(in_memory())
    agent.processor.fail_at = "save"
    async with two_tabs(agent) as (here, there, conversation):
        assert await here.send("4242") == {"received": MESSAGE_ID}
        assert await here.next_packet() == {"text": THANKS}
        # the widget counted THANKS among the replies; the tracker has none
        notice = {
            "text": ANSWER_NOT_KEPT,
            "failed_message": MESSAGE_ID,
            "replies_not_kept": 1,
        }
        assert await here.next_packet() == notice
        assert await there.next_packet() == {"text": THANKS}
        assert await there.next_packet() == notice
        tracker = await agent.tracker_store.retrieve_full_tracker(conversation)
        assert not any(isinstance(e, UserUttered) for e in tracker.events)

        assert await here.send("4242", resent=True) == {"received": MESSAGE_ID}
        assert await here.next_packet() == {"text": THANKS}
        assert agent.processor.turns == ["4242", "4242"]


async def test_a_turn_that_failed_after_it_was_saved_is_not_said_to_have_failed() -> (
    None
):
    agent = agent_on(in_memory())
    agent.processor.fail_at = "after save"
    async with two_tabs(agent) as (here, _, _conversation):
        assert await here.send("4242") == {"received": MESSAGE_ID}
        assert await here.next_packet() == {"text": THANKS}
        assert await here.quiet()
        # the conversation has it: a resend is acknowledged and not run again
        assert await here.send("4242", resent=True) == {"received": MESSAGE_ID}
        assert await here.quiet()
        assert agent.processor.turns == ["4242"]


async def test_a_message_before_the_model_loads_is_told_and_runs_when_sent_again() -> (
    None
):
    agent = agent_without_model()
    async with two_tabs(agent) as (here, there, conversation):
        assert await here.send("4242") == {"received": MESSAGE_ID}
        notice = {"text": STARTING_UP, "failed_message": MESSAGE_ID}
        assert await here.next_packet() == notice
        assert await there.next_packet() == notice
        # "Send again" too soon: still starting, told again, nothing run
        assert await here.send("4242", resent=True) == {"received": MESSAGE_ID}
        assert await here.next_packet() == notice
        assert await there.next_packet() == notice

        processor = load_model_now(agent)
        assert await here.send("4242", resent=True) == {"received": MESSAGE_ID}
        assert await here.next_packet() == {"text": THANKS}
        assert await there.next_packet() == {"text": THANKS}
        assert await here.quiet()
        assert processor.turns == ["4242"]
        tracker = await agent.tracker_store.retrieve_full_tracker(conversation)
        said = [e.text for e in tracker.events if isinstance(e, BotUttered)]
        assert said == [THANKS]


async def test_a_message_before_the_agent_is_loaded_is_told_we_are_starting() -> None:
    async with two_tabs(None) as (here, there, _conversation):
        assert await here.send("4242") == {"received": MESSAGE_ID}
        notice = {"text": STARTING_UP, "failed_message": MESSAGE_ID}
        assert await here.next_packet() == notice
        assert await there.next_packet() == notice


class Room:
    """The socket.io server, as far as a notice needs it: what it emitted."""

    def __init__(self) -> None:
        self.emitted: list[tuple[str, Any, Any]] = []

    async def emit(self, event: str, data: Any, room: Any = None) -> None:
        self.emitted.append((event, data, room))


def failed_turns(room: Room, received: RecentMessages) -> FailedTurns:
    agent = agent_on(in_memory())
    return FailedTurns(room, "bot_uttered", received, lambda: agent)  # type: ignore[arg-type]


def acknowledged_message(conversation: str) -> UserMessage:
    return UserMessage(
        "4242",
        sender_id=conversation,
        metadata={"gracious": {"channel": "web", "client_id": MESSAGE_ID}},
    )


async def test_a_turn_cancelled_as_the_server_stops_is_no_failure() -> None:
    room, received = Room(), RecentMessages()
    received.first_time("c" * 32, MESSAGE_ID)

    async def turn_stopped() -> None:
        await asyncio.Event().wait()

    running: asyncio.Task[None] = asyncio.ensure_future(
        failed_turns(room, received).run(turn_stopped(), acknowledged_message("c" * 32))
    )
    await asyncio.sleep(0)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert room.emitted == []
    assert not received.first_time("c" * 32, MESSAGE_ID)  # still remembered


async def test_a_turn_cut_off_by_the_stopping_server_is_told() -> None:
    """Past the stop's limit (bot/channels/stopping.py) the turn is cancelled:
    its customer holds an acknowledgement, and is told to send it again."""
    room, received = Room(), RecentMessages()
    received.first_time("d" * 32, MESSAGE_ID)
    agent = agent_on(in_memory())
    failures = FailedTurns(
        room,  # type: ignore[arg-type]
        "bot_uttered",
        received,
        lambda: agent,
        stopping=lambda: True,
    )

    async def turn_stuck() -> None:
        await asyncio.Event().wait()

    running: asyncio.Task[None] = asyncio.ensure_future(
        failures.run(turn_stuck(), acknowledged_message("d" * 32))
    )
    await asyncio.sleep(0)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert [packet["text"] for _, packet, _ in room.emitted] == [MESSAGE_NOT_THROUGH]
    assert received.first_time("d" * 32, MESSAGE_ID)  # a resend is news again


async def test_a_notice_that_cannot_be_sent_is_logged_and_ends_the_turn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class NoRoom(Room):
        async def emit(self, event: str, data: Any, room: Any = None) -> None:
            raise ConnectionError("the servers' Redis is down too")

    async def turn(fails: Awaitable[None]) -> None:
        await fails

    async def failing() -> None:
        raise TrackerDatabaseDown("tracker store down")

    turns = failed_turns(NoRoom(), RecentMessages())
    await turns.run(turn(failing()), acknowledged_message("c" * 32))
    assert "could not tell" in caplog.text
