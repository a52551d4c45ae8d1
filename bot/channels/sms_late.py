"""Replies to an SMS turn that outlived Twilio's webhook deadline.

Twilio waits 15 s for the webhook's answer. A turn still running then (a slow
billing call) goes on, and what it says must still reach the customer: it is
texted through the Messages API when outbound texts are configured, and kept
for the customer's next text otherwise. Until it has been read, that next
text must not reach the dialogue: it would answer a question the customer
never saw, and any answer to the retention offer but a clear yes cancels.

One row per phone number, in the bot's database, so every Rasa instance
behind the webhook sees it.
"""

from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from typing import Iterator, Union

from sqlalchemy import Column, DateTime, String, Table, Text, delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.database import engine_for, metadata, utcnow

# A turn still unfinished after this belongs to a process that died: its
# customer is not kept waiting for it.
TURN_ABANDONED_AFTER = dt.timedelta(minutes=2)

sms_late_replies = Table(
    "sms_late_replies",
    metadata,
    Column("sender", String(32), primary_key=True),
    Column("texts", Text),  # a JSON list of texts; NULL while the turn runs
    Column("started_at", DateTime, nullable=False),
)


class StillRunning:
    """The late turn has not finished yet."""


STILL_RUNNING = StillRunning()


class LateRepliesUnavailable(RuntimeError):
    """The database failed a late-reply read or write; the text names the error.

    Not SQLAlchemy's own message: it quotes the statement's values, which
    are the customer's phone number and the bot's texts to them.
    """


class LateReplies:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        try:
            with engine_for(self.database_url).begin() as connection:
                yield connection
        except SQLAlchemyError as error:
            cause = error.orig if isinstance(error, DBAPIError) else None
            named = type(error).__name__ + (
                f" ({type(cause).__name__})" if cause else ""
            )
            raise LateRepliesUnavailable(f"sms_late_replies: {named}") from None

    def begin(self, sender: str) -> None:
        """Note that a turn of ``sender``'s passed the deadline and still runs."""
        with self._transaction() as connection:
            connection.execute(
                delete(sms_late_replies).where(sms_late_replies.c.sender == sender)
            )
            connection.execute(
                sms_late_replies.insert().values(
                    sender=sender, texts=None, started_at=utcnow()
                )
            )

    def finish(self, sender: str, texts: list[str]) -> None:
        """Keep what the late turn said, ``texts``, until it is delivered."""
        with self._transaction() as connection:
            connection.execute(
                sms_late_replies.update()
                .where(sms_late_replies.c.sender == sender)
                .values(texts=json.dumps(texts))
            )

    def take(self, sender: str) -> Union[StillRunning, list[str], None]:
        """Return the late texts to deliver (once), STILL_RUNNING, or None.

        Taking deletes the row in the same statement that checks it holds
        texts, so two deliveries racing for it (an inbound text and the
        outbound sender) deliver them once.
        """
        table = sms_late_replies
        with self._transaction() as connection:
            row = connection.execute(
                select(table.c.texts, table.c.started_at).where(
                    table.c.sender == sender
                )
            ).first()
            if row is None:
                return None
            if row.texts is None:
                if utcnow() - row.started_at < TURN_ABANDONED_AFTER:
                    return STILL_RUNNING
                connection.execute(
                    delete(table).where(
                        table.c.sender == sender, table.c.texts.is_(None)
                    )
                )
                return None
            taken = connection.execute(
                delete(table).where(
                    table.c.sender == sender, table.c.texts == row.texts
                )
            )
        return list(json.loads(row.texts)) if taken.rowcount == 1 else None

    def forget_running(self, sender: str) -> None:
        """Drop the row of a late turn whose answer went out without it."""
        with self._transaction() as connection:
            connection.execute(
                delete(sms_late_replies).where(
                    sms_late_replies.c.sender == sender,
                    sms_late_replies.c.texts.is_(None),
                )
            )

    def put_back(self, sender: str, texts: list[str]) -> None:
        """Keep ``texts`` for the customer's next text, if nothing is kept yet.

        For texts taken for sending that could not be sent, and for a late
        turn whose row could not be written at the deadline.
        """
        with self._transaction() as connection:
            waiting = connection.execute(
                select(sms_late_replies.c.sender).where(
                    sms_late_replies.c.sender == sender
                )
            ).first()
            if waiting is None:
                connection.execute(
                    sms_late_replies.insert().values(
                        sender=sender, texts=json.dumps(texts), started_at=utcnow()
                    )
                )
