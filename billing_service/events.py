"""Writing to and reading from the append-only event log."""

from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from .schema import Event, utcnow


def record_event(
    session: Session,
    type_: str,
    *,
    actor: str,
    customer_id: Optional[str] = None,
    subscription_id: Optional[str] = None,
    channel: Optional[str] = None,
    conversation_id: Optional[str] = None,
    **data: Any,
) -> None:
    """Append one event to the log, in the caller's transaction."""
    session.add(
        Event(
            type=type_,
            actor=actor,
            customer_id=customer_id,
            subscription_id=subscription_id,
            channel=channel,
            conversation_id=conversation_id,
            data=data,
            occurred_at=utcnow(),
        )
    )


def subscription_events(session: Session, subscription_id: str) -> list[Event]:
    """Return a subscription's events, oldest first."""
    query = (
        select(Event)
        .where(Event.subscription_id == subscription_id)
        .order_by(Event.occurred_at, Event.id)
    )
    return list(session.execute(query).scalars())
