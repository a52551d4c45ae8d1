"""The bot's own database (handoff queue, SMS replay store): one engine per URL.

SQLite by default, PostgreSQL in production (``BOT_DATABASE_URL``). Tables
are created on first use; each module owns its tables in ``metadata``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Engine, make_url

metadata = MetaData()


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    """Return one engine per database URL, with every bot table created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, pool_pre_ping=True)
    metadata.create_all(engine)
    return engine
