"""A widget message is acknowledged on receipt and runs once, however often sent."""

from __future__ import annotations

import asyncio
import threading
import uuid
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any, AsyncIterator, Optional

import pytest
import redis
from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.channels.widget import USER_EVENT, WidgetInput
from bot.channels.widget_claims import Claim, claims_in
from bot.channels.widget_delivery import (
    RecentMessages,
    client_id,
    received_in,
    run_once,
)
from bot.lock_store import ConversationLockStore
from bot.settings import Settings
from scripts.processes import free_port
from tests.support.services import needs_redis

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


def message(
    text: str = "4242", message_id: str = MESSAGE_ID, sender: str = CONVERSATION
) -> UserMessage:
    return UserMessage(
        text,
        sender_id=sender,
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
    await run_once(agent, message(), MESSAGE_ID)
    assert agent.processor.turns == []


async def test_a_resend_of_a_message_that_never_arrived_runs() -> None:
    agent = await agent_with(said("hello", "an-earlier-message"))
    await run_once(agent, message(), MESSAGE_ID)
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
    await run_once(agent, message(), MESSAGE_ID)
    await running
    assert len(agent.processor.turns) == 1


async def test_when_the_tracker_store_cannot_be_read_a_resend_runs() -> None:
    agent = await agent_with()

    async def unreachable(conversation_id: str) -> None:
        raise ConnectionError("tracker store down")

    agent.tracker_store.retrieve_full_tracker = unreachable
    await run_once(agent, message(), MESSAGE_ID)
    assert len(agent.processor.turns) == 1


class Channel:
    """The widget channel's user_uttered handler, on a socket in a conversation."""

    def __init__(self, agent: Any = None, conversation: str = CONVERSATION) -> None:
        self.turns: list[UserMessage] = []
        widget = WidgetInput(config=Settings(billing_api_key=KEY))
        webhook = widget.blueprint(self.on_new_message)
        if agent is not None:
            webhook.ctx.app = SimpleNamespace(ctx=SimpleNamespace(agent=agent))
        sio: Any = widget.sio
        self.session = {"session_id": conversation, "customer_id": None}

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
    agent = await agent_with()
    channel = Channel(agent)
    data = {"message": "cancel my subscription", "client_id": MESSAGE_ID}
    assert await channel.send(data) == {"received": MESSAGE_ID}
    # its acknowledgement was lost: sent again, on the same server
    assert await channel.send({**data, "resent": True}) == {"received": MESSAGE_ID}
    assert [turn.text for turn in agent.processor.turns] == ["cancel my subscription"]
    assert channel.turns == []  # not through Rasa's on_new_message
    [turn] = agent.processor.turns
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


# Several Rasa servers: one tracker store (PostgreSQL's place), one Redis.


class StalledLockStore:
    """A server's lock store, its turns held before they ask for the lock.

    As a server's event loop is held by other turns' NLU: the message is
    received (and claimed), its turn has not asked for the lock yet.
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self.shared_redis = getattr(store, "shared_redis", None)
        self.resume = asyncio.Event()
        self.turns_asked = self.turns_ended = 0

    @asynccontextmanager
    async def lock(self, conversation_id: str, *args: Any) -> AsyncIterator[Any]:
        self.turns_asked += 1
        await self.resume.wait()
        async with self.store.lock(conversation_id, *args) as held:
            yield held
        self.turns_ended += 1


def two_servers() -> tuple[Any, Any]:
    """Two Rasa servers locking conversations in the machine's Redis."""
    tracker_store = InMemoryTrackerStore(Domain.empty())
    prefix = f"test_lock_{uuid.uuid4().hex}:"
    servers = tuple(
        SimpleNamespace(
            tracker_store=tracker_store,
            lock_store=ConversationLockStore(
                EndpointConfig(
                    url="127.0.0.1", kind="redis", port="6379", key_prefix=prefix
                )
            ),
            processor=Processor(tracker_store),
            is_ready=lambda: True,
        )
        for _ in range(2)
    )
    return servers[0], servers[1]


async def until(condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the turns did not get there in 5 s")


@needs_redis
async def test_a_resend_that_overtakes_a_stalled_first_server_runs_once() -> None:
    """The first server took "no thanks" and stalled before its turn asked for
    the lock: no acknowledgement for 10 s, so the widget sent it again to the
    other server, which runs it. The first server's turn then stops."""
    first, second = two_servers()
    first.lock_store = StalledLockStore(first.lock_store)
    talk = uuid.uuid4().hex
    here, there = Channel(first, talk), Channel(second, talk)
    data = {"message": "no thanks", "client_id": MESSAGE_ID}
    assert await here.send(data) == {"received": MESSAGE_ID}
    assert await there.send({**data, "resent": True}) == {"received": MESSAGE_ID}
    # had the first server died there, the message would still have run
    await until(lambda: second.processor.turns)

    first.lock_store.resume.set()
    await until(lambda: first.lock_store.turns_ended)
    turns = first.processor.turns + second.processor.turns + here.turns
    assert [turn.text for turn in turns] == ["no thanks"]
    assert [turn.text for turn in second.processor.turns] == ["no thanks"]
    tracker = await second.tracker_store.retrieve_full_tracker(talk)
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == [
        "no thanks"
    ]


@needs_redis
async def test_a_resend_of_a_message_another_server_ran_is_dropped_on_receipt() -> None:
    first, second = two_servers()
    second.lock_store = StalledLockStore(second.lock_store)
    second.lock_store.resume.set()
    talk = uuid.uuid4().hex
    here, there = Channel(first, talk), Channel(second, talk)
    data = {"message": "4242", "client_id": MESSAGE_ID}
    assert await here.send(data) == {"received": MESSAGE_ID}
    await until(lambda: first.processor.turns)
    claims = claims_in(second.lock_store)
    assert claims is not None
    for _ in range(500):
        if await claims.state(talk, MESSAGE_ID) is Claim.DONE:
            break
        await asyncio.sleep(0.01)
    assert await claims.state(talk, MESSAGE_ID) is Claim.DONE

    async def unreadable(conversation_id: str) -> None:
        raise ConnectionError("tracker store down")

    # found done in Redis: the tracker, unreadable just now, is not needed
    second.tracker_store.retrieve_full_tracker = unreadable
    assert await there.send({**data, "resent": True}) == {"received": MESSAGE_ID}
    assert [turn.text for turn in first.processor.turns] == ["4242"]
    assert second.processor.turns == [] and there.turns == []
    assert second.lock_store.turns_asked == 0  # no turn even began


@needs_redis
async def test_a_turn_that_finds_its_message_done_under_the_lock_stops() -> None:
    """Another server ran it while this one's turn waited for the lock."""
    first, _ = two_servers()
    talk = uuid.uuid4().hex
    claims = claims_in(first.lock_store)
    assert claims is not None
    assert await claims.claim(talk, MESSAGE_ID) is Claim.FIRST
    await claims.mark_done(talk, MESSAGE_ID)

    async def unreadable(conversation_id: str) -> None:
        raise ConnectionError("tracker store down")

    first.tracker_store.retrieve_full_tracker = unreadable
    await run_once(first, message(sender=talk), MESSAGE_ID, claims, True)
    assert first.processor.turns == []


@needs_redis
async def test_a_claim_gone_before_the_first_turn_leaves_it_to_the_tracker() -> None:
    """It expired (the server stalled for an hour) or Redis lost it; the
    message ran meanwhile: the tracker holds it, and it does not run again."""
    first, second = two_servers()
    talk = uuid.uuid4().hex
    claims = claims_in(first.lock_store)
    assert claims is not None
    assert await claims.claim(talk, MESSAGE_ID) is Claim.FIRST
    await second.processor.handle_message(message(sender=talk))
    claims.red.delete(f"gracious_widget_message:{talk}:{MESSAGE_ID}")
    await run_once(first, message(sender=talk), MESSAGE_ID, claims, True)
    assert first.processor.turns == []
    assert await claims.state(talk, MESSAGE_ID) is Claim.DONE


async def test_when_redis_does_not_answer_the_claim_the_message_runs() -> None:
    agent = await agent_with(said("hello"))
    nowhere = redis.Redis(port=free_port(), socket_connect_timeout=1, socket_timeout=1)
    agent.lock_store.shared_redis = nowhere  # the lock itself still works
    channel = Channel(agent)
    data = {"message": "cancel my subscription", "client_id": MESSAGE_ID}
    assert await channel.send(data) == {"received": MESSAGE_ID}
    await until(lambda: agent.processor.turns)
    assert [turn.text for turn in agent.processor.turns] == ["cancel my subscription"]


class HeldRedis:
    """The machine's Redis, slow to answer the claim of one message.

    As a Redis that answers one client's call late: the claims after it are
    answered first.
    """

    def __init__(self, held_message_id: str) -> None:
        self.red = redis.Redis(port=6379, db=1)
        self.held_message_id = held_message_id
        self.asked = threading.Event()
        self.answer = threading.Event()

    def register_script(self, script: str) -> Any:
        run = self.red.register_script(script)

        def call(keys: list[str], args: list[Any]) -> Any:
            if keys[0].endswith(self.held_message_id):
                self.asked.set()
                self.answer.wait(10)
            return run(keys=keys, args=args)

        return call

    def __getattr__(self, name: str) -> Any:
        return getattr(self.red, name)


@needs_redis
async def test_messages_start_their_turns_in_the_order_they_came() -> None:
    """The customer sends "4242", then "no"; Redis is slow to answer "4242".

    Neither is acknowledged before its own claim; "no" is not even asked
    before "4242" is answered (the conversation's lane), and "4242" runs first.
    """
    agent = await agent_with(said("cancel my subscription"))
    held = HeldRedis(MESSAGE_ID)
    agent.lock_store.shared_redis = held
    talk = uuid.uuid4().hex
    channel = Channel(agent, talk)
    later_id = "1c7e4d2f-0b5e-4e3f-9a42-6d8b3c0f5e21"
    digits = asyncio.create_task(
        channel.handler("sid-1", {"message": "4242", "client_id": MESSAGE_ID})
    )
    await until(held.asked.is_set)
    no = asyncio.create_task(
        channel.handler("sid-1", {"message": "no", "client_id": later_id})
    )
    await asyncio.sleep(0.3)
    assert held.red.get(f"gracious_widget_message:{talk}:{later_id}") is None
    assert not digits.done()  # not acknowledged before it is claimed
    assert not no.done()  # nor is "no": its turn would overtake
    held.answer.set()
    assert await digits == {"received": MESSAGE_ID}
    assert await no == {"received": later_id}
    await until(lambda: len(agent.processor.turns) == 2)
    assert [turn.text for turn in agent.processor.turns] == ["4242", "no"]
