"""The REST channel answers a turn that failed with a clear 503, and logs no words."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic
from sqlalchemy.exc import IntegrityError

from bot.channels.rest import TURN_FAILED, RestChannel
from tests.support.widget_channel import free_port

Handler = Callable[[UserMessage], Awaitable[Any]]


@asynccontextmanager
async def rest_server(handler: Handler) -> AsyncIterator[str]:
    """Serve the REST channel with ``handler`` as Rasa's; yield the webhook's URL."""
    app = Sanic(f"gracious_rest_test_{uuid.uuid4().hex}")
    app.blueprint(RestChannel().blueprint(handler), url_prefix="/webhooks/rest")
    port = free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True
    )
    assert server is not None
    # Without the start listeners: one refuses a server with no agent.
    await server.startup()
    try:
        yield f"http://127.0.0.1:{port}/webhooks/rest/webhook"
    finally:
        server.close()
        await server.wait_closed()


async def post(url: str, message: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        body = {"sender": "rest-test", "message": message}
        async with session.post(url, json=body, timeout=10) as answer:
            return answer.status, await answer.json(content_type=None)


@pytest.fixture(autouse=True)
def many_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Sanic, "test_mode", True)


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
