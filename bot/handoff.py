"""Handing a conversation to a person: a durable queue for the company's helpdesk.

The helpdesk (or a small job forwarding to Zendesk, Freshdesk...) reads
``handoff_requests`` and marks rows picked up. A database rather than a log
line, because a request for a person must not be lost, and several bot
instances may write at once.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import Column, DateTime, Integer, String, Table, Text, delete, select

from bot.database import engine_for, metadata, utcnow

handoff_requests = Table(
    "handoff_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(128), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("customer_id", String(40)),
    Column("last_message", Text),
    Column("requested_at", DateTime, nullable=False),
    Column("picked_up_at", DateTime),
)


# Where a person can write back to a visitor the bot could not place: an
# anonymous web chat lives only in that browser tab. A table of its own, so
# databases made before it need no migration (create_all adds tables only).
handoff_contacts = Table(
    "handoff_contacts",
    metadata,
    Column("request_id", Integer, primary_key=True),
    Column("email", String(254), nullable=False),
    Column("added_at", DateTime, nullable=False),
)


def request_person(
    url: str,
    conversation_id: str,
    channel: str,
    customer_id: Optional[str],
    last_message: Optional[str],
    email: Optional[str] = None,
) -> int:
    """Queue a handoff; return its number for the helpdesk."""
    with engine_for(url).begin() as connection:
        result = connection.execute(
            handoff_requests.insert().values(
                conversation_id=conversation_id,
                channel=channel,
                customer_id=customer_id,
                last_message=(last_message or "")[:1000],
                requested_at=utcnow(),
            )
        )
        number = int(result.inserted_primary_key[0])
        if email:
            connection.execute(
                handoff_contacts.insert().values(
                    request_id=number, email=email[:254], added_at=utcnow()
                )
            )
        return number


def add_contact(url: str, conversation_id: str, email: str) -> bool:
    """Give the conversation's open handoff an email to answer; False if none.

    An email given later replaces one given before: the customer's latest word.
    """
    with engine_for(url).begin() as connection:
        waiting = connection.execute(
            select(handoff_requests.c.id)
            .where(
                handoff_requests.c.conversation_id == conversation_id,
                handoff_requests.c.picked_up_at.is_(None),
            )
            .order_by(handoff_requests.c.id.desc())
            .limit(1)
        ).first()
        if waiting is None:
            return False
        connection.execute(
            delete(handoff_contacts).where(handoff_contacts.c.request_id == waiting.id)
        )
        connection.execute(
            handoff_contacts.insert().values(
                request_id=waiting.id, email=email[:254], added_at=utcnow()
            )
        )
        return True
