"""A widget that reconnects gets the replies it missed, once, in order."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.widget import BOT_EVENT, WidgetOutput
from bot.channels.widget_replay import PacketRecorder, rejoin, seen_count

CONVERSATION = "c" * 32
HANDOFF = {"handoff": {"reason": "asked for a person"}}


async def agent_with(*bot_messages: BotUttered) -> Any:
    store = InMemoryTrackerStore(Domain.empty())
    tracker = DialogueStateTracker(CONVERSATION, slots=[])
    tracker.update(UserUttered("cancel my subscription"))
    for message in bot_messages:
        tracker.update(ActionExecuted("utter_something"))
        tracker.update(message)
    await store.save(tracker)
    return SimpleNamespace(tracker_store=store, lock_store=InMemoryLockStore())


def widget_output(recorder: Any) -> WidgetOutput:
    return WidgetOutput(recorder, BOT_EVENT)


async def live_packets(*bot_messages: BotUttered) -> list[Any]:
    """What the live channel sent for these messages (as Rasa's processor does)."""
    recorder = PacketRecorder()
    for message in bot_messages:
        await widget_output(recorder).send_response(CONVERSATION, message.message())
    return recorder.packets


class Socket:
    """Records what the channel does to a reconnecting socket, in order."""

    def __init__(self) -> None:
        self.steps: list[Any] = []

    async def join(self) -> None:
        self.steps.append("joined")

    async def welcome(self, missed: list[Any]) -> None:
        self.steps.append(("welcomed", missed))


async def reconnect(agent: Any, seen: Any) -> list[Any]:
    socket = Socket()
    await rejoin(agent, CONVERSATION, seen, socket.join, socket.welcome, widget_output)
    return socket.steps


MESSAGES = (
    BotUttered("Which email is the account under?"),
    BotUttered("Done.\n\nYour confirmation code is GR-1234."),
    BotUttered(data={"custom": HANDOFF}),
)


async def test_the_replies_after_the_seen_ones_come_again_as_they_were_sent() -> None:
    agent = await agent_with(*MESSAGES)
    sent = await live_packets(*MESSAGES)
    # a text with a blank line was two packets, the handoff one packet
    assert [p.get("text") for p in sent] == [
        "Which email is the account under?",
        "Done.",
        "Your confirmation code is GR-1234.",
        None,
    ]
    assert sent[3] == {"custom": HANDOFF}

    assert await reconnect(agent, 1) == ["joined", ("welcomed", sent[1:])]
    assert await reconnect(agent, 0) == ["joined", ("welcomed", sent)]
    assert await reconnect(agent, len(sent)) == ["joined", ("welcomed", [])]


async def test_nothing_comes_again_without_a_count_or_for_an_unknown_conversation() -> (
    None
):
    agent = await agent_with(*MESSAGES)
    assert await reconnect(agent, None) == ["joined", ("welcomed", [])]
    assert await reconnect(None, 0) == ["joined", ("welcomed", [])]
    empty = SimpleNamespace(
        tracker_store=InMemoryTrackerStore(Domain.empty()),
        lock_store=InMemoryLockStore(),
    )
    assert await reconnect(empty, 0) == ["joined", ("welcomed", [])]


def test_only_a_plain_non_negative_count_is_taken() -> None:
    assert seen_count(3) == 3
    assert seen_count(0) == 0
    for bad in (-1, True, "3", 3.0, None, [], 10**9):
        assert seen_count(bad) is None


async def test_a_turn_in_progress_finishes_before_the_socket_is_welcomed() -> None:
    agent = await agent_with(MESSAGES[0])
    socket = Socket()
    async with agent.lock_store.lock(CONVERSATION):
        # Rasa handles a message under this lock and saves the tracker in it
        waiting = asyncio.create_task(
            rejoin(agent, CONVERSATION, 1, socket.join, socket.welcome, widget_output)
        )
        await asyncio.sleep(0.3)
        assert socket.steps == []
        tracker = await agent.tracker_store.retrieve(CONVERSATION)
        tracker.update(BotUttered("Sent while the socket was away."))
        await agent.tracker_store.save(tracker)
    await asyncio.wait_for(waiting, 5)
    assert socket.steps == [
        "joined",
        ("welcomed", [{"text": "Sent while the socket was away."}]),
    ]


async def test_a_broken_store_still_gives_the_socket_its_conversation() -> None:
    class BrokenStore:
        async def retrieve_full_tracker(self, conversation_id: str) -> None:
            raise ConnectionError("tracker store down")

    agent = SimpleNamespace(tracker_store=BrokenStore(), lock_store=InMemoryLockStore())
    steps = await reconnect(agent, 0)
    assert steps[-1] == ("welcomed", [])
    assert "joined" in steps
