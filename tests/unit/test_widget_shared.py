"""Several Rasa servers share the widget's sockets through Redis.

The whole path (two Rasa servers, a socket on each) runs in
tests/conversation/test_production_path.py; here, the start-up and a Redis
that cannot be reached.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from socketio import AsyncServer

from bot.channels.widget_shared import (
    SHARED_CHANNEL,
    SharedSockets,
    share_through_redis,
)
from tests.support.services import needs_redis


def shared_server(url: str) -> AsyncServer:
    return AsyncServer(
        async_mode="asgi", client_manager=SharedSockets(url, channel=SHARED_CHANNEL)
    )


async def stop(sio: AsyncServer) -> None:
    sio.manager.thread.cancel()
    await asyncio.gather(sio.manager.thread, return_exceptions=True)


@needs_redis
async def test_a_server_listens_before_its_first_socket_connects() -> None:
    sio = shared_server("redis://127.0.0.1:6379/1")
    await share_through_redis(sio)
    try:
        assert sio.manager_initialized and sio.manager.pubsub.subscribed
        # python-socketio's own first-request start does not run a second time
        listener = sio.manager.thread
        await share_through_redis(sio)
        assert sio.manager.thread is listener
    finally:
        await stop(sio)


def refused_port() -> int:
    """A local port nothing listens on: connecting is refused at once."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return int(listener.getsockname()[1])


async def test_an_unreachable_redis_is_retried_patiently_not_in_a_busy_loop(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    sio = shared_server(f"redis://127.0.0.1:{refused_port()}/0")
    with caplog.at_level(logging.WARNING, "bot.channels.widget_shared"):
        await share_through_redis(sio, wait_seconds=0.2)
        await asyncio.sleep(1.2)
        await stop(sio)
    tries = [r for r in caplog.records if "unreachable" in r.getMessage()]
    # Tries at 0, 0.5 and 1.5 s. python-socketio's own listener retried at
    # once, printing a traceback each time: thousands in the same second.
    assert 1 <= len(tries) <= 3, len(tries)
    assert "Traceback" not in capfd.readouterr().err
    assert "not yet subscribed" in caplog.text
    assert not sio.manager.pubsub.subscribed
