"""Engine creation and schema set-up for SQLite and PostgreSQL alike.

Also ``log_failure``, which logs a database error without the values it
quotes: the bot has its twin in bot/database.py, as this service imports
nothing of the bot's.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any, Iterator, Optional

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from .schema import Base

# A database error's message quotes the values it was writing (emails, phone
# numbers), and the service logs its errors: keep them out.
HIDE_PARAMETERS = True


def create_billing_engine(url: str) -> Engine:
    """Return an engine for ``url``; SQLite gets whole-transaction write locks.

    pysqlite starts transactions lazily, so two writers can both read and then
    fail to upgrade their lock. ``BEGIN IMMEDIATE`` takes the write lock at the
    start instead, which makes each request's read-then-write serial and lets
    concurrent requests wait (``timeout``) rather than fail.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        # a database that stops answering fails the request (503) in seconds
        # instead of holding it; a row lock waited on counts as a statement
        return create_engine(
            url,
            pool_pre_ping=True,
            future=True,
            hide_parameters=HIDE_PARAMETERS,
            connect_args={
                "connect_timeout": 5,
                "options": "-c statement_timeout=15000",
            },
        )
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url, pool_pre_ping=True, future=True, hide_parameters=HIDE_PARAMETERS
        )

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        future=True,
        hide_parameters=HIDE_PARAMETERS,
        connect_args={"timeout": 30, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys = ON")
        dbapi_connection.execute("PRAGMA journal_mode = WAL")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_schema(engine: Engine) -> None:
    """Create every missing table; existing tables and data are kept."""
    Base.metadata.create_all(engine)


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

    Never an error's text: for an IntegrityError on a duplicate email,
    "IntegrityError (psycopg2.errors.UniqueViolation, SQLSTATE 23505, table
    customers, constraint customers_email_key)".
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
