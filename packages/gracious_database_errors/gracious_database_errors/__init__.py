"""Log a database error without the values it quotes.

A failed write's error, and every traceback that prints it, quotes the row
it refused: PostgreSQL's "DETAIL:  Key (email)=(ana@example.com) already
exists.", SQLAlchemy's parameters unless an engine hides them. The bot and
the reference billing service both log such errors, and neither may import
the other, so the one way they log them lives here, on the standard library
and SQLAlchemy alone.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from typing import Iterator, Optional

from sqlalchemy.exc import SQLAlchemyError

__all__ = ["describe_database_error", "is_database_error", "log_failure"]


def _driver_errors() -> tuple[type[BaseException], ...]:
    # psycopg2 is looked up, not imported: an installation without PostgreSQL
    # lacks it, and no psycopg2 error exists before the driver is loaded.
    psycopg2 = sys.modules.get("psycopg2")
    return (sqlite3.Error, psycopg2.Error) if psycopg2 else (sqlite3.Error,)


def is_database_error(error: BaseException) -> bool:
    """Return True for SQLAlchemy's errors and the database drivers' own."""
    return isinstance(error, (SQLAlchemyError, *_driver_errors()))


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


def _described_chain(error: BaseException) -> tuple[str, bool]:
    """Return the chain's description and whether a database error ends it."""
    described = []
    for link in _chain(error):
        described.append(_describe(link))
        if is_database_error(link):
            # what it wraps is the driver's error, described with it
            return ", from ".join(described), True
    return ", from ".join(described), False


def describe_database_error(error: BaseException) -> str:
    """Return the error's class and, for a database error, its SQLSTATE and names.

    Never an error's text: for an error raised from a unique violation,
    "RuntimeError, from IntegrityError (psycopg2.errors.UniqueViolation,
    SQLSTATE 23505, table customers, constraint customers_email_key)".
    """
    return _described_chain(error)[0]


def log_failure(
    logger: logging.Logger, error: BaseException, message: str, *args: object
) -> None:
    """Log ``error`` at ERROR level, with its traceback unless a database's.

    An error that is or carries a database error is described in one line,
    without its text, which quotes the customer's details it was writing; any
    other error keeps its traceback, as a bug needs it.
    """
    description, from_database = _described_chain(error)
    # stacklevel: the record names the caller's line, not this one
    if from_database:
        logger.error(message + ": %s", *args, description, stacklevel=2)
    else:
        logger.error(message, *args, exc_info=error, stacklevel=2)
