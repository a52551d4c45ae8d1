"""A Rasa server whose tracker store cannot be loaded refuses to run.

Rasa 3.6 answers a tracker store class it cannot import with a warning and a
store in memory: the server ran, and its conversations were neither shared
with the other servers nor kept over a restart. Now it stops, saying why.
The real ``rasa run``, with our channels and no model (``--enable-api``
lets it start without one; the check needs none).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
import requests
from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    FailSafeTrackerStore,
    InMemoryTrackerStore,
)
from rasa.shared.core.domain import Domain

from bot.settings import rasa_environment
from bot.tracker_store import (
    ConversationsNotKept,
    PrivateSQLTrackerStore,
    conversation_store,
    refuse_to_serve_from_memory,
)
from scripts.processes import ROOT, ServiceProcess, free_port
from tests.support.billing import API_KEY

STORE = "bot.tracker_store.PrivateSQLTrackerStore"
MISSPELT_STORE = "bot.tracker_stores.PrivateSQLTrackerStore"  # no such module
NOT_SERVING = "not in bot.tracker_store.PrivateSQLTrackerStore"


def endpoints(folder: Path, store_type: str) -> Path:
    path = folder / "endpoints.yml"
    path.write_text(
        f"tracker_store:\n  type: {store_type}\n"
        f"  url: sqlite:///{folder / 'tracker.sqlite3'}\n"
    )
    return path


def rasa_run(folder: Path, store_type: str, port: int) -> list[str]:
    no_model = folder / "no-model"
    no_model.mkdir()
    return [
        *(sys.executable, "-m", "rasa", "run", "--enable-api"),
        *("--model", str(no_model)),
        *("--endpoints", str(endpoints(folder, store_type))),
        *("--credentials", str(ROOT / "credentials.yml")),
        *("--port", str(port), "--interface", "127.0.0.1"),
    ]


@pytest.fixture
def env() -> dict[str, str]:
    """What every channel of credentials.yml needs to start."""
    return rasa_environment(
        {
            **rasa_environment(),
            "BILLING_API_KEY": API_KEY,
            "LOCK_STORE_TYPE": "in_memory",
            "GRACIOUS_REST_IDENTITY_KEY": "i" * 32,
            "TWILIO_AUTH_TOKEN": "t" * 32,
            "GRACIOUS_NOTICE_KEY": "n" * 32,
            "WIDGET_JWT_SECRET": "w" * 32,
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "RASA_TELEMETRY_ENABLED": "false",
        }
    )


def test_a_server_whose_tracker_store_cannot_be_imported_stops(
    tmp_path: Path, env: dict[str, str]
) -> None:
    port = free_port()
    log = tmp_path / "rasa.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            rasa_run(tmp_path, MISSPELT_STORE, port),
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = process.wait(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    logged = log.read_text(errors="replace")
    assert code != 0, logged[-3000:]
    assert "Using `InMemoryTrackerStore` instead" in logged  # Rasa's own warning
    assert f"Rasa keeps conversations in InMemoryTrackerStore, {NOT_SERVING}" in (
        logged
    )
    assert "not serving" in logged


def test_a_server_with_its_sql_tracker_store_serves(
    tmp_path: Path, env: dict[str, str]
) -> None:
    port = free_port()
    rasa = ServiceProcess(
        rasa_run(tmp_path, STORE, port),
        env,
        tmp_path / "rasa.log",
        f"http://127.0.0.1:{port}/webhooks/rest/",
    )
    rasa.wait_healthy(300)
    try:
        health = requests.get(f"http://127.0.0.1:{port}/webhooks/sms/", timeout=5)
        assert health.json() == {"status": "ok"}
    finally:
        rasa.stop()
    assert NOT_SERVING not in rasa.log.read_text(errors="replace")


# The check itself, on the stores Rasa's agent holds.


class App:
    """What a listener reads of the Sanic app: ``ctx.agent``."""

    def __init__(self, agent: object) -> None:
        self.ctx = type("Context", (), {"agent": agent})()


class Agent:
    def __init__(self, tracker_store: object) -> None:
        self.tracker_store = tracker_store


@pytest.fixture
def sql_store(tmp_path: Path) -> Iterator[PrivateSQLTrackerStore]:
    store = PrivateSQLTrackerStore(
        Domain.empty(), host=f"sqlite:///{tmp_path / 'tracker.sqlite3'}"
    )
    yield store
    store.engine.dispose()


def test_the_agents_sql_store_is_found_under_rasas_wrappers(
    sql_store: PrivateSQLTrackerStore,
) -> None:
    wrapped = FailSafeTrackerStore(AwaitableTrackerStore(sql_store))
    assert conversation_store(Agent(wrapped)) is sql_store
    refuse_to_serve_from_memory(App(Agent(wrapped)), None)  # serves


def test_conversations_in_memory_stop_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fallen_back = FailSafeTrackerStore(InMemoryTrackerStore(Domain.empty()))
    with pytest.raises(ConversationsNotKept, match=NOT_SERVING):
        refuse_to_serve_from_memory(App(Agent(fallen_back)), None)
    assert "InMemoryTrackerStore" in caplog.text and "not serving" in caplog.text


def test_a_server_without_an_agent_at_start_stops() -> None:
    with pytest.raises(ConversationsNotKept, match="was not loaded"):
        refuse_to_serve_from_memory(App(None), None)
