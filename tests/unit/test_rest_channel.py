"""The REST channel answers a turn that failed with a clear 503, and logs no words."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from sanic import Sanic
from sqlalchemy.exc import IntegrityError

from bot.channels.rest import TURN_FAILED, RestChannel
from bot.settings import settings
from tests.support.widget_channel import channel_server

Handler = Callable[[UserMessage], Awaitable[Any]]


@asynccontextmanager
async def rest_server(handler: Handler, agent: Any = None) -> AsyncIterator[str]:
    """Serve the REST channel with ``handler`` as Rasa's; yield the webhook's URL."""
    blueprint = RestChannel().blueprint(handler)
    async with channel_server(agent, blueprint, "/webhooks/rest") as url:
        yield f"{url}/webhooks/rest/webhook"


async def post(url: str, message: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        body = {"sender": "rest-test", "message": message}
        async with session.post(url, json=body, timeout=10) as answer:
            return answer.status, await answer.json(content_type=None)


@pytest.fixture(autouse=True)
def many_servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(Sanic, "test_mode", True)
    # the channel reads the identity key from the settings: these, not .env's
    for name in ("GRACIOUS_REST_IDENTITY_KEY", "BILLING_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BILLING_API_KEY", "k" * 32)
    settings.cache_clear()  # read once per process otherwise
    yield
    settings.cache_clear()


async def test_a_turn_answers_with_the_bots_replies() -> None:
    async def handler(message: UserMessage) -> None:
        await message.output_channel.send_text_message(message.sender_id, "hi")

    async with rest_server(handler) as url:
        status, body = await post(url, "hello")
    assert status == 200
    assert body == [{"recipient_id": "rest-test", "text": "hi"}]


async def test_a_failed_turn_says_so_and_logs_no_words(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(message: UserMessage) -> None:
        # SQLAlchemy's text quotes the statement's parameters: the message
        raise IntegrityError(
            "INSERT INTO events (data) VALUES (?)",
            {"data": message.text},
            sqlite3.IntegrityError("UNIQUE constraint failed: events.id"),
        )

    caplog.set_level(logging.INFO)
    async with rest_server(handler) as url:
        status, body = await post(url, "cancel, my email is ana@example.com")
    assert status == 503
    assert body == {"error": TURN_FAILED}
    assert "rest: a turn failed: IntegrityError (sqlite3.IntegrityError)" in (
        caplog.text
    )
    assert "ana@example.com" not in caplog.text


async def test_a_turn_kept_before_it_failed_answers_its_replies() -> None:
    """The turn was saved, then releasing the lock failed: sent again, it would
    run twice, so the caller gets the replies and no error."""
    store = InMemoryTrackerStore(Domain.empty())
    agent = SimpleNamespace(tracker_store=store)

    async def handler(message: UserMessage) -> None:
        tracker = await store.get_or_create_tracker(message.sender_id)
        tracker.update(UserUttered(message.text, metadata=message.metadata))
        await store.save(tracker)
        await message.output_channel.send_text_message(message.sender_id, "Done.")
        raise ConnectionError("the lock store's Redis went away")

    async with rest_server(handler, agent) as url:
        status, body = await post(url, "no")
    assert status == 200
    assert body == [{"recipient_id": "rest-test", "text": "Done."}]
