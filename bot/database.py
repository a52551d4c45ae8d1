"""The bot's own database (handoff queue, SMS replay store): one engine per URL.

SQLite by default, PostgreSQL in production (``BOT_DATABASE_URL``). Tables
are created on first use; each module owns its tables in ``metadata``.
Its errors are logged with ``log_failure``, which keeps their values out
(the gracious_database_errors package, which the billing service shares).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

# the bot's modules log from here, beside the tables they write
from gracious_database_errors import log_failure as log_failure
from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Engine, make_url

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
