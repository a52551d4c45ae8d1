"""A person can write back to every customer who asks for one.

Over SMS and for a known customer the helpdesk has a way back. An anonymous
web visitor's chat lives only in the browser tab: the bot says so, and an
email they leave afterwards goes with the request to the helpdesk.
"""

from __future__ import annotations

import asyncio
from typing import Any, Iterator, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.handoff import ActionHandoff
from actions.other import ActionHandleOther
from bot import replies
from bot.database import engine_for
from bot.handoff import add_contact, handoff_contacts, handoff_requests
from bot.notes import DETAILS_ONLY
from bot.settings import settings


@pytest.fixture
def bot_db(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    monkeypatch.setenv("BILLING_API_KEY", "k" * 32)
    monkeypatch.setenv("BOT_DATABASE_URL", url)
    settings.cache_clear()  # read once per process otherwise
    yield url
    settings.cache_clear()


def tracker(
    text: str,
    channel: str = "widget",
    identity: Optional[dict[str, str]] = None,
    entities: Optional[list[dict[str, Any]]] = None,
    details_only: bool = False,
    **slots: Any,
) -> Tracker:
    gracious: dict[str, Any] = {"channel": channel}
    if identity:
        gracious["identity"] = identity
    message: dict[str, Any] = {
        "text": text,
        "intent": {"name": "out_of_scope", "confidence": 1.0},
        "entities": entities or [],
        "metadata": {"gracious": gracious},
    }
    if details_only:
        message[DETAILS_ONLY] = {"kinds": ["email"]}
    return Tracker("conv-1", slots, message, [], False, None, {}, "action_listen")


def run(action: Any, conversation: Tracker) -> list[str]:
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, conversation, {}))
    return [m["text"] for m in dispatcher.messages if m.get("text")]


def contacts(url: str) -> list[tuple[str, str]]:
    with engine_for(url).connect() as connection:
        rows = connection.execute(
            select(handoff_requests.c.conversation_id, handoff_contacts.c.email).join(
                handoff_contacts, handoff_contacts.c.request_id == handoff_requests.c.id
            )
        ).all()
    return [(row.conversation_id, row.email) for row in rows]


@pytest.mark.parametrize(
    "channel, identity, slots, expected",
    [
        ("widget", None, {}, replies.HANDOFF_ANONYMOUS[0]),
        ("widget", {"kind": "customer_id", "value": "cus_ana"}, {}, replies.HANDOFF[0]),
        ("widget", None, {"email": "ana@example.com"}, replies.HANDOFF[0]),
        ("rest", None, {"verified_customer": {"customer_id": "cus_ana"}}, None),
        ("sms", {"kind": "phone", "value": "+15550001111"}, {}, replies.HANDOFF[1]),
    ],
)
def test_the_reply_says_how_the_person_will_answer(
    bot_db: str,
    channel: str,
    identity: Optional[dict[str, str]],
    slots: dict[str, Any],
    expected: Optional[str],
) -> None:
    said = run(ActionHandoff(), tracker("a person please", channel, identity, **slots))
    assert said == [expected or replies.HANDOFF[0]]


def test_an_email_given_with_the_request_goes_with_it(bot_db: str) -> None:
    run(ActionHandoff(), tracker("a person please", email="ana@example.com"))
    assert contacts(bot_db) == [("conv-1", "ana@example.com")]


def test_an_email_left_after_asking_for_a_person_goes_to_the_helpdesk(
    bot_db: str,
) -> None:
    assert run(ActionHandoff(), tracker("talk to a human")) == [
        replies.HANDOFF_ANONYMOUS[0]
    ]
    email = {"entity": "email", "value": "ben@example.com", "start": 12, "end": 27}
    said = run(
        ActionHandleOther(),
        tracker(
            "my email is ben@example.com",
            entities=[email],
            details_only=True,
            handoff_requested=True,
        ),
    )
    assert said == [replies.HANDOFF_CONTACT_KEPT[0].format(email="ben@example.com")]
    assert contacts(bot_db) == [("conv-1", "ben@example.com")]
    # a corrected address replaces it; a request already picked up takes none
    assert add_contact(bot_db, "conv-1", "ben.b@example.com")
    assert contacts(bot_db) == [("conv-1", "ben.b@example.com")]
    with engine_for(bot_db).begin() as connection:
        connection.execute(
            handoff_requests.update().values(
                picked_up_at=handoff_requests.c.requested_at
            )
        )
    assert not add_contact(bot_db, "conv-1", "late@example.com")


def test_without_a_request_for_a_person_an_email_is_kept_as_before(
    bot_db: str,
) -> None:
    email = {"entity": "email", "value": "ben@example.com", "start": 0, "end": 15}
    said = run(
        ActionHandleOther(),
        tracker("ben@example.com", entities=[email], details_only=True),
    )
    assert said == [replies.DETAILS_KEPT[0]]
    assert contacts(bot_db) == []
