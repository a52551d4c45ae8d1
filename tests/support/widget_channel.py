"""The widget's channel on a Sanic server of its own, its agent a stand-in.

No model is needed: Rasa's processor is replaced by one that answers every
message the same way and fails at the step a test chooses, the way a
tracker store or a lock store that stops answering makes a turn fail.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from contextlib import asynccontextmanager, contextmanager
from types import SimpleNamespace
from typing import Any, AsyncIterator, Iterator, Optional

import socketio
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, Sanic

from bot.channels.widget import SOCKET_PATH, WidgetInput
from bot.settings import Settings
from scripts.processes import free_port

KEY = "k" * 40
THANKS = "Thanks, Ana."


class TrackerDatabaseDown(ConnectionError):
    """The tracker store's database, unreachable."""


class Processor:
    """Rasa's processor: answers, saves, and fails when the test says so.

    ``fail_at`` is the step the next turn fails at: "start" (the tracker
    could not be read), "save" (the answer went out, the save failed) or
    "after save" (the lock could not be released); None, it succeeds.
    """

    def __init__(self, tracker_store: InMemoryTrackerStore) -> None:
        self.tracker_store = tracker_store
        self.turns: list[str] = []
        self.fail_at: Optional[str] = None

    async def handle_message(self, message: UserMessage) -> None:
        self.turns.append(message.text)
        failing, self.fail_at = self.fail_at, None
        if failing == "start":
            raise TrackerDatabaseDown("tracker store down")
        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(UserUttered(message.text, metadata=message.metadata))
        await message.output_channel.send_text_message(message.sender_id, THANKS)
        tracker.update(BotUttered(THANKS))
        if failing == "save":
            raise TrackerDatabaseDown("tracker store down")
        await self.tracker_store.save(tracker)
        if failing == "after save":
            raise ConnectionError("lock store down")


async def stray_message(message: UserMessage) -> None:
    raise AssertionError("messages with an id go through run_once")


def agent_on(lock_store: Optional[Any] = None) -> Any:
    """Rasa's agent as the widget's channel uses it, with a stand-in processor."""
    store = InMemoryTrackerStore(Domain.empty())
    return SimpleNamespace(
        tracker_store=store,
        lock_store=lock_store or InMemoryLockStore(),
        processor=Processor(store),
        is_ready=lambda: True,
        handle_message=stray_message,
    )


def agent_without_model() -> Agent:
    """Rasa's own agent before a model is loaded: it drops every message.

    ``load_model_now`` loads one, as Rasa's model server pulling does.
    """
    domain = Domain.empty()
    return Agent(
        domain=domain,
        tracker_store=InMemoryTrackerStore(domain),
        lock_store=InMemoryLockStore(),
    )


def load_model_now(agent: Agent) -> Processor:
    """Give ``agent`` its (stand-in) processor; return it."""
    processor = Processor(agent.tracker_store)
    agent.processor = processor  # type: ignore[assignment]
    return processor


@asynccontextmanager
async def channel_server(
    agent: Any, blueprint: Blueprint, url_prefix: str, port: Optional[int] = None
) -> AsyncIterator[str]:
    """Serve one channel's blueprint on a free port; yield the server's URL.

    Sanic 21.12 rewrites its connection code on a server's start, once per
    process unless ``Sanic.test_mode`` is set: callers set it (as
    sanic-testing does) to start several.
    """
    app = Sanic(f"gracious_test_{uuid.uuid4().hex}")
    app.ctx.agent = agent
    app.blueprint(blueprint, url_prefix=url_prefix)
    port = port or free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True
    )
    assert server is not None
    # Without the start listeners: one refuses a tracker store in memory.
    await server.startup()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def widget_server(
    agent: Any, config: Optional[Settings] = None, port: Optional[int] = None
) -> AsyncIterator[str]:
    """Serve the widget's channel on a free port; yield the server's URL."""

    async def rasa_handler(message: UserMessage) -> None:
        # Rasa's own, as rasa.core.channels.channel.register hands it over
        await agent.handle_message(message)

    channel = WidgetInput(config=config or Settings(billing_api_key=KEY))
    blueprint = channel.blueprint(rasa_handler)
    async with channel_server(agent, blueprint, "/webhooks/widget", port) as url:
        yield url


class SocketTab:
    """One browser tab's socket, speaking to the channel as the widget does."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.client = socketio.AsyncClient(reconnection=False)
        self.packets: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.client.on("bot_uttered", self.packets.put_nowait)

    async def open(self, conversation: str) -> None:
        """Connect and join ``conversation``, as the widget does on load."""
        confirmed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", confirmed.set_result)
        await self.client.connect(
            self.server,
            socketio_path=SOCKET_PATH,
            transports=["websocket"],
            wait_timeout=10,
        )
        await self.client.emit("session_request", {"session_id": conversation})
        assert await asyncio.wait_for(confirmed, 10) == conversation


@contextmanager
def widget_server_in_thread(
    agent: Any, config: Optional[Settings] = None, port: Optional[int] = None
) -> Iterator[str]:
    """``widget_server`` on an event loop of its own, for synchronous tests."""
    loop = asyncio.new_event_loop()
    started: "asyncio.Future[str]" = loop.create_future()
    stop = asyncio.Event()

    async def serve() -> None:
        async with widget_server(agent, config, port) as url:
            started.set_result(url)
            await stop.wait()

    async def address() -> str:
        return await started

    def run() -> None:
        loop.run_until_complete(serve())
        # what the sockets left (engine.io's pings) ends before the loop does
        left = asyncio.all_tasks(loop)
        for task in left:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(address(), loop).result(30)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
