"""A server asked to stop answers the turns it runs before it goes, within a limit.

The widget's channel runs in a process of its own under Sanic's ``app.run``,
as ``rasa run`` serves it, and is stopped with SIGTERM as an orchestrator
stops it in a deploy; the tab is a real socket.io client speaking to it as
the widget does. Only Rasa's processor is a stand-in, whose turn for "take N
seconds" runs that long. The SMS channel's late turns are seen through by
its own stop listener, called as Sanic calls it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, AsyncIterator, Optional

import pytest
import socketio
from rasa.core.channels.channel import UserMessage

from bot.channels import sms, stopping
from bot.channels.sms import SmsChannel
from bot.channels.sms_late import LateReplies
from bot.channels.widget import SOCKET_PATH
from bot.replies import MESSAGE_NOT_THROUGH
from scripts.processes import free_port
from tests.support.stopping_widget_server import SERVING
from tests.support.widget_channel import THANKS, SocketTab

ROOT = Path(__file__).resolve().parents[2]
PHONE = "+15550001111"
OFFER = "Before you go: 50% off your next 3 months. Reply 1 to take it or 2 to cancel."
# Long enough for an acknowledgement that is coming to arrive.
ACK_WAIT_SECONDS = 1.0


class WidgetServer:
    """The widget's channel in a process of its own, and what it logs."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.log: list[str] = []
        self._lines: asyncio.Queue[str] = asyncio.Queue()
        self._reading = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.log.append(line)
            self._lines.put_nowait(line)

    async def logged(self, words: str, seconds: float = 20) -> None:
        """Wait until a line of the log holds ``words``."""
        if any(words in line for line in self.log):
            return
        deadline = time.monotonic() + seconds
        while True:
            line = await asyncio.wait_for(
                self._lines.get(), max(deadline - time.monotonic(), 0.01)
            )
            if words in line:
                return

    def stop(self) -> None:
        """Ask it to stop, as an orchestrator does in a deploy."""
        self.process.send_signal(signal.SIGTERM)

    async def gone(self, seconds: float) -> int:
        """Wait for the process to exit; return its exit status."""
        status = await asyncio.wait_for(self.process.wait(), seconds)
        await asyncio.wait_for(self._reading, 5)
        return status

    def logs(self, words: str) -> bool:
        return any(words in line for line in self.log)


@asynccontextmanager
async def widget_server(turns_within_seconds: float) -> AsyncIterator[Any]:
    """Start the server with that limit on a stop's wait; yield it and its URL."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.stopping_widget_server",
        str(port),
        str(turns_within_seconds),
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    server = WidgetServer(process)
    try:
        await server.logged(SERVING, seconds=60)
        yield server, f"http://127.0.0.1:{port}"
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        print("\n".join(server.log))  # shown when a test fails


class Tab(SocketTab):
    """One browser tab's socket, in a conversation of its own."""

    async def open(self) -> None:  # type: ignore[override]
        await super().open(uuid.uuid4().hex)

    async def send(self, text: str) -> asyncio.Future[Any]:
        """Send with an id of the widget's; return the acknowledgement to come."""
        acknowledged: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self.client.emit(
            "user_uttered",
            {"message": text, "client_id": str(uuid.uuid4())},
            callback=lambda *ack: acknowledged.set_result(ack),
        )
        return acknowledged

    async def next_packet(self, seconds: float = 10) -> Optional[dict[str, Any]]:
        """The next reply, or None if none comes in ``seconds``."""
        try:
            return await asyncio.wait_for(self.packets.get(), seconds)
        except asyncio.TimeoutError:
            return None


async def test_a_widget_turn_running_when_the_server_stops_is_answered_first() -> None:
    async with widget_server(turns_within_seconds=10) as (server, url):
        tab = Tab(url)
        await tab.open()
        first = await tab.send("take 3 seconds")
        assert await asyncio.wait_for(first, 10)
        await asyncio.sleep(0.2)  # the turn has begun

        server.stop()
        await server.logged("Stopping worker")  # Sanic's, before the listeners
        await asyncio.sleep(0.3)
        # typed while the server stops: not acknowledged, so the widget keeps
        # it to send again after reconnecting
        second = await tab.send("cancel my subscription")
        # a tab opened now is turned away, to try another server or later
        newcomer = socketio.AsyncClient(reconnection=False)
        turned_away: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        newcomer.on("connect_error", lambda *_: turned_away.set_result(True))
        connecting = asyncio.ensure_future(
            newcomer.connect(
                url, socketio_path=SOCKET_PATH, transports=["websocket"], wait_timeout=1
            )
        )
        assert await asyncio.wait_for(turned_away, 5)

        reply = await tab.next_packet()
        still_serving = server.process.returncode is None
        await asyncio.sleep(ACK_WAIT_SECONDS)
        second_acknowledged = second.done()
        status = await server.gone(seconds=20)
        await tab.client.disconnect()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await connecting

    assert reply is not None and reply["text"] == THANKS
    assert still_serving
    assert not second_acknowledged
    assert server.logs("a message is left unread")
    assert server.logs("every widget turn has ended")
    assert not server.logs("cancelled")
    assert status == 0
    # the message left unread had no turn, and no answer
    assert tab.packets.empty()


async def test_a_widget_turn_longer_than_the_limit_is_cancelled_logged_and_told() -> (
    None
):
    async with widget_server(turns_within_seconds=1) as (server, url):
        tab = Tab(url)
        await tab.open()
        assert await asyncio.wait_for(await tab.send("take 60 seconds"), 10)
        await asyncio.sleep(0.2)

        began = time.monotonic()
        server.stop()
        status = await server.gone(seconds=20)
        took = time.monotonic() - began
        reply = await tab.next_packet(seconds=0.5)
        if tab.client.connected:
            await tab.client.disconnect()

    assert server.logs(
        "1 widget turn(s) still running when its 1 s for turns ran out, cancelled"
    )
    # told while its socket was still open: it holds an acknowledgement
    assert reply is not None and reply["text"] == MESSAGE_NOT_THROUGH
    assert reply["failed_message"]
    assert status == 0
    assert took < 10  # the limit and Sanic's closing, not the turn's 60 s


# -- SMS: a late turn's answer, kept when it ends ---------------------------


class SlowDialogue:
    """Answers every text with an offer after ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def __call__(self, message: UserMessage) -> None:
        await asyncio.sleep(self.seconds)
        await message.output_channel.send_text_message(message.sender_id, OFFER)


def sms_channel(tmp_path: Path) -> SmsChannel:
    """The channel's late-turn handling alone, on its own SQLite file."""
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    phone = SmsChannel.__new__(SmsChannel)
    phone.database_url = url
    phone.late = LateReplies(url)
    phone.texter = None
    phone._late_turns = set()
    phone._unnoted = {}
    phone.skip_signature = True
    return phone


async def server_stops(phone: SmsChannel) -> None:
    """Run the channel's ``before_server_stop`` listeners, as Sanic does."""
    app = SimpleNamespace(ctx=SimpleNamespace())
    blueprint = phone.blueprint(SlowDialogue(0))
    for future in blueprint._future_listeners:
        if future.event == "before_server_stop":
            await future.listener(app, asyncio.get_running_loop())


@pytest.fixture(autouse=True)
def short_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sms, "TWILIO_DEADLINE_SECONDS", 0.1)
    monkeypatch.setattr(sms, "REPLAY_WAIT_SECONDS", 0.1)
    monkeypatch.setattr(sms, "TURN_SECONDS_AT_LEAST", 0.01)


async def test_a_late_sms_turn_running_when_the_server_stops_keeps_its_answer(
    tmp_path: Path,
) -> None:
    phone = sms_channel(tmp_path)
    first = await phone._run_turn(SlowDialogue(1.0), PHONE, "cancel my plan")
    assert sms.STILL_WORKING in first

    await server_stops(phone)

    assert not phone._late_turns
    # the customer's next text, after the restart, gets the answer promised
    assert await phone._late_answer(PHONE, "status") == [OFFER]


async def test_a_late_sms_turn_longer_than_the_limit_is_cancelled_and_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(stopping, "TURNS_FINISH_WITHIN_SECONDS", 0.3)
    phone = sms_channel(tmp_path)
    await phone._run_turn(SlowDialogue(60), PHONE, "cancel my plan")
    [late] = phone._late_turns

    began = time.monotonic()
    with caplog.at_level(logging.INFO, logger=stopping.__name__):
        await server_stops(phone)

    assert late.cancelled()
    assert time.monotonic() - began < 5
    assert (
        "1 late SMS turn(s) still running when its 0.3 s for turns ran out"
        in caplog.text
    )
