"""Replaying the first answer to a write that is sent again with the same key.

The key is stored in the same transaction as the write it guards, so the
record and the effect commit together or not at all. Two requests racing with
one key meet at the key's primary key: on PostgreSQL the second insert waits
for the first transaction and then fails, on SQLite the second transaction
waits for the write lock; either way the loser reads the winner's answer.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Tuple

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .errors import Conflict
from .schema import IdempotencyRecord, utcnow

Answer = Tuple[int, Any]
MAX_KEY_LENGTH = 255
ATTEMPTS = 3


def fingerprint(*parts: Any) -> str:
    """Return a stable hash of a request's method, path, caller and body."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_once(
    engine: Engine,
    key: str,
    request_fingerprint: str,
    write: Callable[[Session], Answer],
) -> Answer:
    """Run ``write`` at most once per key; replay its answer for a repeat.

    A repeat with another body is a conflict: the client reused a key for a
    different request, and guessing which one it meant would be unsafe.
    Writes that raise ApiError roll back and store nothing, so the client may
    correct the request and retry with the same key.
    """
    for attempt in range(ATTEMPTS):
        try:
            with Session(engine) as session, session.begin():
                existing = session.get(IdempotencyRecord, key)
                if existing is not None:
                    if existing.fingerprint != request_fingerprint:
                        raise Conflict(
                            "This Idempotency-Key was already used for a different "
                            "request. Use a new key for a new request.",
                            code="idempotency_key_reused",
                        )
                    return existing.status_code, existing.response
                record = IdempotencyRecord(
                    key=key,
                    fingerprint=request_fingerprint,
                    status_code=102,
                    response=None,
                    created_at=utcnow(),
                )
                session.add(record)
                session.flush()
                status, body = write(session)
                record.status_code, record.response = status, body
                return status, body
        except IntegrityError:
            # Another request committed this key (or a row this write needs)
            # first; read the state again.
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
