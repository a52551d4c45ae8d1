"""Rasa's SQL tracker store, without the conversation in its errors.

Rasa 3.6 creates the store's engine without ``hide_parameters``, so a write
that failed put the events it was writing (what customers typed, their
emails) into the error the agent logs; and PostgreSQL's own message can quote
a refused row ("DETAIL:  Failing row contains (...)"). endpoints.yml names
this class instead of ``type: SQL``; Rasa passes it the same arguments (the
``url``, ``TRACKER_DATABASE_URL``, as ``host``), and the tables are Rasa's.

Also the start-up check every channel's server makes: Rasa 3.6 answers a
tracker store class it cannot import (or whose constructor raises an
AttributeError) with a warning and keeps conversations in memory, where no
other server sees them and a restart loses them.
``refuse_to_serve_from_memory`` stops such a server instead.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Generator

from gracious_database_errors import describe_database_error
from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    FailSafeTrackerStore,
    SQLTrackerStore,
    TrackerStore,
)
from rasa.shared.exceptions import RasaException
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


class TrackerDatabaseError(Exception):
    """The tracker database failed; the message names the error, not its values."""


class PrivateSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` whose database errors carry no conversation data."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Connection reads it when an error is raised, not at creation: a
        # statement's values stay out of errors from here on, wherever raised.
        self.engine.hide_parameters = True

    @contextlib.contextmanager
    def session_scope(self) -> Generator[Session, None, None]:
        """Provide Rasa's session; a database error leaves it described only.

        The agent logs the error's text (``FailSafeTrackerStore``), and a
        driver's text can quote the row it refused.
        """
        try:
            with super().session_scope() as session:
                yield session
        except SQLAlchemyError as error:
            raise TrackerDatabaseError(describe_database_error(error)) from None


class ConversationsNotKept(RasaException):
    """The Rasa server would keep conversations in memory: it must not serve."""


def conversation_store(agent: Any) -> TrackerStore:
    """Return the store that holds the agent's conversations, its wrappers removed.

    The agent wraps every store in ``FailSafeTrackerStore``, and a store with
    synchronous methods in ``AwaitableTrackerStore`` first.
    """
    store = agent.tracker_store
    while isinstance(store, (FailSafeTrackerStore, AwaitableTrackerStore)):
        store = store._tracker_store
    return store


def refuse_to_serve_from_memory(app: Any, loop: Any) -> None:
    """Stop the server unless its agent keeps conversations in our SQL store.

    A Sanic ``after_server_start`` listener: ``rasa run`` loads the agent
    before the server starts (``load_agent_on_start``), model or not. Sanic
    21.12 has no way to stop with a failure from a listener but an exception:
    it leaves ``app.run``, and ``rasa`` exits with 1; ``app.stop()`` would
    exit with 0, as if the server had been asked to stop. (With several Sanic
    workers each one stops so, and the main process then exits with 0.)

    Our store is required, not compared with what the endpoints file asked:
    Rasa keeps no record of that, and every Gracious server's names this one.
    """
    agent = getattr(app.ctx, "agent", None)
    if agent is None:
        problem = (
            "Rasa's agent was not loaded when the server started, so where it "
            "keeps conversations cannot be checked"
        )
    else:
        store = conversation_store(agent)
        if isinstance(store, PrivateSQLTrackerStore):
            return
        problem = (
            f"Rasa keeps conversations in {type(store).__name__}, not in "
            f"{PrivateSQLTrackerStore.__module__}.{PrivateSQLTrackerStore.__name__}"
            ": the endpoints file's tracker_store could not be loaded (Rasa's "
            "warning above names it). Other Rasa servers would not see these "
            "conversations and a restart would lose them"
        )
    log.error("%s; not serving.", problem)
    raise ConversationsNotKept(problem)
