"""Cancellations billing could not take yet: kept in the bot's database until it can.

When billing is down after the customer has proved who they are and said
"cancel", the request is written here, with the verification token and the
very idempotency key of the attempt that failed (if that attempt did reach
billing, the retry gets its receipt instead of a second cancellation). The
retry worker (``bot.retry_worker``) carries it out once billing answers.

Several workers may run (one per bot instance): a row is claimed with a
short lease by a conditional UPDATE, which works alike on SQLite and
PostgreSQL, so only one of them calls billing for it at a time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    and_,
    or_,
    select,
    update,
)

from bot.database import engine_for, metadata, utcnow

pending_cancellations = Table(
    "pending_cancellations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(255), nullable=False, unique=True),
    Column("conversation_id", String(128), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("reply_to", String(32)),  # the SMS sender, to text the receipt
    Column("customer_id", String(40), nullable=False),
    Column("first_name", String(80), nullable=False),
    Column("token", Text, nullable=False),
    Column("token_expires_at", DateTime, nullable=False),
    Column("subscription_id", String(40)),  # None: their one cancellable plan
    Column("reason", Text),
    Column("requested_at", DateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("lease_until", DateTime),
    Column("finished_at", DateTime),
    # "cancelled" | "nothing_to_cancel" | "handed_to_staff", or closed in the
    # conversation: "withdrawn" (the customer changed their mind) | "done_in_chat"
    Column("result", String(20)),
    Column("detail", Text),  # receipt JSON, or why it went to staff
)

LEASE = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class PendingCancellation:
    idempotency_key: str
    conversation_id: str
    channel: str
    customer_id: str
    first_name: str
    token: str
    token_expires_at: dt.datetime  # naive UTC
    subscription_id: Optional[str] = None
    reason: Optional[str] = None
    reply_to: Optional[str] = None
    id: Optional[int] = None
    attempts: int = 0


class PendingStore:
    """The table above, behind the few verbs the flow and the worker use."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url

    def keep(self, pending: PendingCancellation) -> None:
        """Write the request down once.

        The same idempotency key is kept once, and so is a second request for
        a plan already waiting ("cancel" asked again in a later turn while
        billing is still down): one receipt, not two.
        """
        now = utcnow()
        table = pending_cancellations
        engine = engine_for(self.url)
        with engine.begin() as connection:
            exists = connection.execute(
                select(table.c.id).where(
                    or_(
                        table.c.idempotency_key == pending.idempotency_key,
                        and_(
                            table.c.finished_at.is_(None),
                            table.c.customer_id == pending.customer_id,
                            _same_plan(pending.subscription_id),
                        ),
                    )
                )
            ).first()
            if exists is not None:
                return
            row = dataclasses.asdict(pending) | {
                "reason": (pending.reason or "")[:500] or None,
                "requested_at": now,
                "next_attempt_at": now,
                "attempts": 0,
            }
            del row["id"]
            connection.execute(pending_cancellations.insert().values(**row))

    def claim_due(self, limit: int = 20) -> list[PendingCancellation]:
        """Lease and return the unfinished requests whose next attempt is due."""
        now = utcnow()
        table = pending_cancellations
        due_ids = []
        with engine_for(self.url).begin() as connection:
            due_ids = list(
                connection.execute(
                    select(table.c.id)
                    .where(
                        table.c.finished_at.is_(None),
                        table.c.next_attempt_at <= now,
                        or_(table.c.lease_until.is_(None), table.c.lease_until < now),
                    )
                    .order_by(table.c.next_attempt_at)
                    .limit(limit)
                ).scalars()
            )
        claimed = []
        for row_id in due_ids:
            with engine_for(self.url).begin() as connection:
                taken = connection.execute(
                    update(table)
                    .where(
                        and_(
                            table.c.id == row_id,
                            table.c.finished_at.is_(None),
                            or_(
                                table.c.lease_until.is_(None),
                                table.c.lease_until < now,
                            ),
                        )
                    )
                    .values(lease_until=now + LEASE, attempts=table.c.attempts + 1)
                )
                if taken.rowcount != 1:
                    continue  # another worker got it first
                row = connection.execute(
                    select(table).where(table.c.id == row_id)
                ).one()
            claimed.append(_from_row(row._mapping))
        return claimed

    def retry_later(
        self, pending: PendingCancellation, error: str, base_seconds: float = 30.0
    ) -> dt.datetime:
        """Release the lease; each next attempt waits twice as long (cap 15 min)."""
        delay = min(15 * 60.0, base_seconds * 2 ** min(pending.attempts, 10))
        when = utcnow() + dt.timedelta(seconds=delay)
        self._set(pending, next_attempt_at=when, lease_until=None, detail=error[:500])
        return when

    def finish(self, pending: PendingCancellation, result: str, detail: Any) -> None:
        """Record the outcome; the verification token is no longer needed."""
        self._set(
            pending,
            token="",  # a finished row must not hold a live credential
            finished_at=utcnow(),
            lease_until=None,
            result=result,
            detail=detail
            if isinstance(detail, str)
            else json.dumps(detail, default=str),
        )

    def waiting(self, customer_id: str) -> list[PendingCancellation]:
        """Return the customer's requests not yet carried out."""
        table = pending_cancellations
        with engine_for(self.url).connect() as connection:
            rows = connection.execute(
                select(table).where(
                    table.c.finished_at.is_(None), table.c.customer_id == customer_id
                )
            ).all()
        return [_from_row(row._mapping) for row in rows]

    def close(
        self,
        customer_id: str,
        result: str,
        subscription_ids: Optional[list[str]] = None,
        wait_seconds: float = 5.0,
    ) -> int:
        """Close the customer's waiting requests (for those plans); return how many.

        A request a worker holds right now is not closed under it (it is
        calling billing, and would lose what it learns): its lease is waited
        for, up to ``wait_seconds``; one still held then is left to the worker.
        """
        table = pending_cancellations
        theirs = [table.c.finished_at.is_(None), table.c.customer_id == customer_id]
        if subscription_ids is not None:
            theirs.append(table.c.subscription_id.in_(subscription_ids))
        closed = 0
        deadline = time.monotonic() + wait_seconds
        while True:
            now = utcnow()
            free = or_(table.c.lease_until.is_(None), table.c.lease_until < now)
            with engine_for(self.url).begin() as connection:
                done = connection.execute(
                    update(table)
                    .where(*theirs, free)
                    .values(
                        token="",
                        finished_at=now,
                        lease_until=None,
                        result=result,
                        detail="closed in the conversation",
                    )
                )
                closed += int(done.rowcount or 0)
                held = connection.execute(
                    select(table.c.id).where(*theirs).limit(1)
                ).first()
            if held is None or time.monotonic() >= deadline:
                return closed
            time.sleep(0.2)

    def unfinished(self) -> list[dict[str, Any]]:
        """Every request not yet carried out (for operators and tests)."""
        table = pending_cancellations
        with engine_for(self.url).connect() as connection:
            rows = connection.execute(
                select(table).where(table.c.finished_at.is_(None))
            ).all()
        return [dict(row._mapping) for row in rows]

    def _set(self, pending: PendingCancellation, **values: Any) -> None:
        with engine_for(self.url).begin() as connection:
            connection.execute(
                update(pending_cancellations)
                .where(pending_cancellations.c.id == pending.id)
                .values(**values)
            )


def _same_plan(subscription_id: Optional[str]) -> Any:
    column = pending_cancellations.c.subscription_id
    return column.is_(None) if subscription_id is None else column == subscription_id


def _from_row(row: Any) -> PendingCancellation:
    return PendingCancellation(
        **{f.name: row[f.name] for f in dataclasses.fields(PendingCancellation)}
    )
