"""Rasa's SQL tracker store, without the conversation in its errors.

Rasa 3.6 creates the store's engine without ``hide_parameters``, so a write
that failed put the events it was writing (what customers typed, their
emails) into the error the agent logs; and PostgreSQL's own message can quote
a refused row ("DETAIL:  Failing row contains (...)"). endpoints.yml names
this class instead of ``type: SQL``; Rasa passes it the same arguments (the
``url``, ``TRACKER_DATABASE_URL``, as ``host``), and the tables are Rasa's.
"""

from __future__ import annotations

import contextlib
from typing import Any, Generator

from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.database import describe_database_error


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
