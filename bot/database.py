"""The bot's own database (handoff queue, SMS replay store): one engine per URL.

SQLite by default, PostgreSQL in production (``BOT_DATABASE_URL``). Tables
are created on first use; each module owns its tables in ``metadata``.
Its errors are logged with ``log_failure``, which keeps their values out.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Optional

from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

metadata = MetaData()


def utcnow() -> dt.datetime:
    """Now in UTC, naive: how every bot table stores its times."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    """Return one engine per database URL, with every bot table created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # PostgreSQL: a server that stops answering fails the call in seconds
    # (the handoff queue, saved cancellations, SMS replies) instead of holding
    # the action or the worker; SQLite waits at most 5 s for a lock.
    connect_args: dict[str, object] = {"timeout": 5}
    if parsed.get_backend_name() == "postgresql":
        connect_args = {"connect_timeout": 5, "options": "-c statement_timeout=10000"}
    # hide_parameters: a database error's message would quote the values it
    # was writing (phone numbers, emails), and errors are logged
    engine = create_engine(
        url,
        future=True,
        pool_pre_ping=True,
        hide_parameters=True,
        connect_args=connect_args,
    )
    metadata.create_all(engine)
    return engine


# A driver's own message quotes the row it refused (psycopg2: "DETAIL:  Key
# (email)=(ana@example.com) already exists."), and so does every traceback
# that prints it, wrapped or chained.
_DRIVER_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error,)
try:
    import psycopg2
except ImportError:  # a SQLite-only installation
    pass
else:
    _DRIVER_ERRORS += (psycopg2.Error,)


def is_database_error(error: BaseException) -> bool:
    """Return True for SQLAlchemy's errors and the database drivers' own."""
    return isinstance(error, (SQLAlchemyError, *_DRIVER_ERRORS))


def _chain(error: BaseException) -> Iterator[BaseException]:
    """Yield ``error`` and each error a traceback of it would print too."""
    seen: set[int] = set()
    link: Optional[BaseException] = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        # as traceback.print_exception: "from None" hides the context
        link = link.__cause__ or (
            None if link.__suppress_context__ else link.__context__
        )


def _describe(error: BaseException) -> str:
    name = type(error).__name__
    if not is_database_error(error):
        return name
    driver = getattr(error, "orig", None) or error
    details = []
    if driver is not error:  # as SQLAlchemy names it: "sqlite3.IntegrityError"
        details.append(f"{type(driver).__module__}.{type(driver).__qualname__}")
    sqlstate = getattr(driver, "pgcode", None)  # sqlite has none
    if sqlstate:
        details.append(f"SQLSTATE {sqlstate}")
    diag = getattr(driver, "diag", None)
    for part in ("table", "column", "constraint"):  # names, never values
        identifier = getattr(diag, f"{part}_name", None)
        if identifier:
            details.append(f"{part} {identifier}")
    return f"{name} ({', '.join(details)})" if details else name


def describe_database_error(error: BaseException) -> str:
    """Return the error's class and, for a database error, its SQLSTATE and names.

    Never an error's text: for an error raised from a unique violation,
    "RuntimeError, from IntegrityError (psycopg2.errors.UniqueViolation,
    SQLSTATE 23505, table handoff_contacts, constraint handoff_contacts_pkey)".
    """
    described = []
    for link in _chain(error):
        described.append(_describe(link))
        if is_database_error(link):
            break  # what it wraps is the driver's error, described with it
    return ", from ".join(described)


def log_failure(
    logger: logging.Logger, error: BaseException, message: str, *args: object
) -> None:
    """Log ``error`` at ERROR level, with its traceback unless a database's.

    An error that is or carries a database error is described in one line,
    without its text, which quotes the customer's details it was writing; any
    other error keeps its traceback, as a bug needs it.
    """
    # stacklevel: the record names the caller's line, not this one
    if any(is_database_error(link) for link in _chain(error)):
        logger.error(
            message + ": %s", *args, describe_database_error(error), stacklevel=2
        )
    else:
        logger.error(message, *args, exc_info=error, stacklevel=2)
