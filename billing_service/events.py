"""Writing to and reading from the append-only event log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .payloads import WriteContext
from .schema import Event, utcnow


def record_event(
    session: Session,
    type_: str,
    customer_id: str,
    subscription_id: str,
    context: WriteContext,
    **data: Any,
) -> None:
    """Append what a verified customer did, in the caller's transaction."""
    session.add(
        Event(
            type=type_,
            actor=f"customer:{customer_id}",
            customer_id=customer_id,
            subscription_id=subscription_id,
            channel=context.channel,
            conversation_id=context.conversation_id,
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
