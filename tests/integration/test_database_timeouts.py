"""A database server that accepts connections but never answers fails fast.

The bot's own tables (handoff queue, saved cancellations, SMS replies) and
billing's: without a connect timeout, a handoff or a worker round used to
wait on such a server for as long as the operating system let it.
"""

from __future__ import annotations

import socket
import threading
from typing import Callable, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from billing_service.database import create_billing_engine
from bot.database import engine_for


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A PostgreSQL URL whose server takes the connection and says nothing."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"postgresql://nobody@127.0.0.1:{listener.getsockname()[1]}/silent"
    listener.close()
    for connection in held:
        connection.close()


@pytest.mark.parametrize(
    "make_engine", [engine_for, create_billing_engine], ids=["bot", "billing"]
)
def test_a_silent_database_server_fails_the_call(
    silent_server: str, make_engine: Callable[[str], Engine]
) -> None:
    outcome: list[BaseException] = []

    def connect() -> None:
        try:
            with make_engine(silent_server).connect() as connection:
                connection.execute(text("SELECT 1"))
        except BaseException as error:
            outcome.append(error)

    attempt = threading.Thread(target=connect, daemon=True)
    attempt.start()
    attempt.join(120)  # generous: the timeout is 5 s; this only stops a hang
    assert not attempt.is_alive(), "still waiting on a server that never answers"
    assert len(outcome) == 1 and isinstance(outcome[0], OperationalError)
    assert "timeout" in str(outcome[0]).lower()
