"""Handing a conversation to a person: a durable queue for the company's helpdesk.

The helpdesk (or a small job forwarding to Zendesk, Freshdesk...) reads
``handoff_requests`` and marks rows picked up. A database rather than a log
line, because a request for a person must not be lost, and several bot
instances may write at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Column, DateTime, Integer, String, Table, Text

from bot.database import engine_for, metadata

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


def request_person(
    url: str,
    conversation_id: str,
    channel: str,
    customer_id: Optional[str],
    last_message: Optional[str],
) -> int:
    """Queue a handoff; return its number for the helpdesk."""
    with engine_for(url).begin() as connection:
        result = connection.execute(
            handoff_requests.insert().values(
                conversation_id=conversation_id,
                channel=channel,
                customer_id=customer_id,
                last_message=(last_message or "")[:1000],
                requested_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
            )
        )
        return int(result.inserted_primary_key[0])
