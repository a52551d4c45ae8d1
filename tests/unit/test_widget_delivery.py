"""A widget message is acknowledged on receipt and runs once, however often sent."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, Optional

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.widget import USER_EVENT, WidgetInput
from bot.channels.widget_delivery import (
    RecentMessages,
    client_id,
    handle_resend,
    received_in,
)
from bot.settings import Settings

CONVERSATION = "c" * 32
MESSAGE_ID = "0b6f3c1e-9a4d-4d2e-8f31-5c7a2b9e4d10"
KEY = "k" * 40


def said(text: str, message_id: Optional[str] = None) -> UserUttered:
    gracious: dict[str, Any] = {"channel": "web"}
    if message_id:
        gracious["client_id"] = message_id
    return UserUttered(text, metadata={"gracious": gracious})


class Processor:
    """Rasa's processor, writing down the turns it would run."""

    def __init__(self, tracker_store: InMemoryTrackerStore) -> None:
        self.turns: list[UserMessage] = []
        self.tracker_store = tracker_store

    async def handle_message(self, message: UserMessage) -> None:
        self.turns.append(message)
        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(
            UserUttered(message.text, metadata=message.metadata),
        )
        await self.tracker_store.save(tracker)


async def agent_with(*events: Any) -> Any:
    store = InMemoryTrackerStore(Domain.empty())
    tracker = DialogueStateTracker(CONVERSATION, slots=[])
    for event in events:
        tracker.update(event)
    await store.save(tracker)
    return SimpleNamespace(
        tracker_store=store,
        lock_store=InMemoryLockStore(),
        processor=Processor(store),
        is_ready=lambda: True,
    )


def message(text: str = "4242", message_id: str = MESSAGE_ID) -> UserMessage:
    return UserMessage(
        text,
        sender_id=CONVERSATION,
        metadata={"gracious": {"channel": "web", "client_id": message_id}},
    )


@pytest.mark.parametrize(
    "value",
    [MESSAGE_ID, "0b6f3c1e9a4d4d2e8f315c7a2b9e4d10", "lq2w3e4r-5t6y7u8i9o0p"],
    ids=["random-uuid", "hex", "fallback"],
)
def test_the_widgets_ids_are_taken(value: str) -> None:
    assert client_id(value) == value


@pytest.mark.parametrize(
    "value",
    [None, 42, "", "short", "x" * 65, "has space inside it", "<script>alert</script>"],
)
def test_anything_else_is_no_id(value: Any) -> None:
    assert client_id(value) is None


def test_a_server_remembers_an_id_once_per_conversation() -> None:
    recent = RecentMessages()
    assert recent.first_time(CONVERSATION, MESSAGE_ID)
    assert not recent.first_time(CONVERSATION, MESSAGE_ID)
    assert recent.first_time("d" * 32, MESSAGE_ID)


def test_it_remembers_a_bounded_number_forgetting_the_oldest() -> None:
    recent = RecentMessages(limit=3)
    for number in range(4):
        assert recent.first_time(CONVERSATION, f"message-{number}")
    assert len(recent) == 3
    assert not recent.first_time(CONVERSATION, "message-3")
    assert recent.first_time(CONVERSATION, "message-0")  # forgotten
    assert len(recent) == 3


def test_the_tracker_knows_a_message_by_the_id_in_its_metadata() -> None:
    events = [said("hello"), said("4242", MESSAGE_ID), BotUttered("Thanks")]
    assert received_in(events, MESSAGE_ID)
    assert not received_in(events, "another-message-id")
    assert not received_in([UserUttered("4242"), BotUttered("x")], MESSAGE_ID)
    assert not received_in([UserUttered("4242", metadata={"gracious": "x"})], "x")


async def test_a_resend_the_conversation_already_has_is_not_run_again() -> None:
    agent = await agent_with(said("4242", MESSAGE_ID))
    await handle_resend(agent, message(), MESSAGE_ID)
    assert agent.processor.turns == []


async def test_a_resend_of_a_message_that_never_arrived_runs() -> None:
    agent = await agent_with(said("hello", "an-earlier-message"))
    await handle_resend(agent, message(), MESSAGE_ID)
    assert [turn.text for turn in agent.processor.turns] == ["4242"]


async def test_a_resend_waits_for_a_first_attempt_another_server_is_running() -> None:
    agent = await agent_with(said("hello"))
    started = asyncio.Event()

    async def first_attempt() -> None:
        async with agent.lock_store.lock(CONVERSATION):
            started.set()
            await asyncio.sleep(0.3)  # the turn; saved at its end
            await agent.processor.handle_message(message())

    running = asyncio.create_task(first_attempt())
    await started.wait()
    await handle_resend(agent, message(), MESSAGE_ID)
    await running
    assert len(agent.processor.turns) == 1


async def test_when_the_tracker_store_cannot_be_read_a_resend_runs() -> None:
    agent = await agent_with()

    async def unreachable(conversation_id: str) -> None:
        raise ConnectionError("tracker store down")

    agent.tracker_store.retrieve_full_tracker = unreachable
    await handle_resend(agent, message(), MESSAGE_ID)
    assert len(agent.processor.turns) == 1


class Channel:
    """The widget channel's user_uttered handler, on a socket in CONVERSATION."""

    def __init__(self, agent: Any = None) -> None:
        self.turns: list[UserMessage] = []
        widget = WidgetInput(config=Settings(billing_api_key=KEY))
        webhook = widget.blueprint(self.on_new_message)
        if agent is not None:
            webhook.ctx.app = SimpleNamespace(ctx=SimpleNamespace(agent=agent))
        sio: Any = widget.sio
        self.session = {"session_id": CONVERSATION, "customer_id": None}

        async def get_session(sid: str) -> dict[str, Any]:
            return self.session

        sio.get_session = get_session
        self.handler = sio.handlers["/"][USER_EVENT]

    async def on_new_message(self, message: UserMessage) -> None:
        self.turns.append(message)

    async def send(self, data: Any) -> Any:
        """Return the acknowledgement, once the turns it started have begun."""
        receipt = await self.handler("sid-1", data)
        for _ in range(10):
            await asyncio.sleep(0)
        return receipt


async def test_a_message_with_an_id_is_acknowledged_and_runs_once() -> None:
    channel = Channel()
    data = {"message": "cancel my subscription", "client_id": MESSAGE_ID}
    assert await channel.send(data) == {"received": MESSAGE_ID}
    # its acknowledgement was lost: sent again, on the same server
    assert await channel.send({**data, "resent": True}) == {"received": MESSAGE_ID}
    assert [turn.text for turn in channel.turns] == ["cancel my subscription"]
    [turn] = channel.turns
    assert turn.sender_id == CONVERSATION
    assert turn.metadata["gracious"] == {"channel": "web", "client_id": MESSAGE_ID}


async def test_a_resend_another_server_ran_is_acknowledged_and_not_run() -> None:
    agent = await agent_with(said("4242", MESSAGE_ID))
    channel = Channel(agent)
    data = {"message": "4242", "client_id": MESSAGE_ID, "resent": True}
    assert await channel.send(data) == {"received": MESSAGE_ID}
    assert channel.turns == [] and agent.processor.turns == []
    # one that never reached the other server runs, under the lock
    data = {"message": "no thanks", "client_id": "a-message-never-received"}
    assert await channel.send({**data, "resent": True}) == {
        "received": "a-message-never-received"
    }
    assert [turn.text for turn in agent.processor.turns] == ["no thanks"]


async def test_a_message_without_an_id_runs_as_before_unacknowledged() -> None:
    channel = Channel()
    for data in (
        {"message": "hello"},
        {"message": "hello", "client_id": "x" * 65},  # too long: no id
    ):
        assert await channel.handler("sid-1", data) is None
    assert [turn.text for turn in channel.turns] == ["hello", "hello"]
    assert all("client_id" not in turn.metadata["gracious"] for turn in channel.turns)


async def test_an_empty_message_is_acknowledged_and_nothing_runs() -> None:
    channel = Channel()
    assert await channel.send({"message": "  ", "client_id": MESSAGE_ID}) is None
    assert await channel.send("not an object") is None
    assert channel.turns == []
