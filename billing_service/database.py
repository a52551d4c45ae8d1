"""Engine creation and schema set-up for SQLite and PostgreSQL alike.

Its errors are logged with ``log_failure`` of the gracious_database_errors
package, which keeps the values they quote out; the bot shares it, as this
service imports nothing of the bot's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

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
