"""Taking a new request: what it keeps from the conversation and what it drops.

The actions alone, on trackers written here; the whole path on the running
bot is in tests/conversation/test_identity.py and test_requests.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.identity import ValidateIdentityForm
from actions.other import ActionHandleOther
from actions.requests import ActionTakeRequest
from bot import replies

ANA = "ana@example.com"


def verified(email: str = ANA, minutes: int = 10) -> dict[str, Any]:
    """The verified_customer slot as bot/flow.py writes it."""
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)
    return {
        "customer_id": "cus_ana",
        "first_name": "Ana",
        "token": "t",
        "expires_at": expires.isoformat(),
        "account": ["email", email],
    }


def tracker(
    text: str,
    intent: str = "cancel_subscription",
    entities: tuple[dict[str, Any], ...] = (),
    loop: str | None = None,
    **slots: Any,
) -> Tracker:
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": list(entities),
        "metadata": {"gracious": {"channel": "rest"}},
    }
    return Tracker(
        "c1",
        slots,
        message,
        [],
        False,
        None,
        {"name": loop} if loop else {},
        "action_listen",
    )


def taken(conversation: Tracker) -> dict[str, Any]:
    events = asyncio.run(
        ActionTakeRequest().run(CollectingDispatcher(), conversation, {})
    )
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_another_email_since_verifying_asks_for_that_accounts_card() -> None:
    """Verified as Ana, "cancel the plan of ben@..." used to act on Ana's."""
    other = "ben@example.com"
    slots = taken(
        tracker(
            f"cancel the plan of {other} too",
            entities=({"entity": "email", "value": other},),
            email=other,
            card_last4="4242",
            verified_customer=verified(),
        )
    )
    assert slots["verified_customer"] is None and slots["card_last4"] is None
    assert slots["goal"] == "cancel"


def test_the_same_account_keeps_its_verification() -> None:
    slots = taken(
        tracker("cancel it", email=ANA, card_last4="4242", verified_customer=verified())
    )
    assert "verified_customer" not in slots and "card_last4" not in slots


def test_an_expired_verification_is_dropped_but_digits_just_given_are_kept() -> None:
    """An expired one stayed in its slot and kept the form from asking: silence."""
    slots = taken(
        tracker(
            "cancel, card ends 4242",
            entities=({"entity": "card_last4", "value": "4242"},),
            email=ANA,
            card_last4="4242",
            verified_customer=verified(minutes=-5),
        )
    )
    assert slots["verified_customer"] is None and "card_last4" not in slots


def test_the_identity_form_asks_again_once_a_verification_expired() -> None:
    conversation = tracker("cancel", verified_customer=verified(minutes=-5))
    asked = asyncio.run(
        ValidateIdentityForm().required_slots(
            ["email", "card_last4"], CollectingDispatcher(), conversation, {}
        )
    )
    assert asked == ["email", "card_last4"]


@pytest.mark.parametrize(
    "text, entities, goal",
    [
        # it used to become "nothing changes": an earlier cancellation may be
        # waiting to take effect
        ("sorry, I meant undo my cancellation", (), "reactivate"),
        # it used to stay a cancel request because the message held an email
        (f"{ANA}, I actually want to reactivate", ({"entity": "email"},), "reactivate"),
        ("I changed my mind", (), "stop"),
    ],
)
def test_an_undo_while_asked_for_details_of_a_cancellation(
    text: str, entities: tuple[dict[str, Any], ...], goal: str
) -> None:
    conversation = tracker(
        text,
        intent="reactivate",
        entities=entities,
        loop="identity_form",
        goal="cancel",
    )
    assert taken(conversation)["goal"] == goal


def test_a_new_cancel_request_forgets_a_yes_billing_could_not_take() -> None:
    """ "Forget the offer, just cancel" after a failed yes used to accept it."""
    slots = taken(
        tracker(
            "forget the offer, just cancel it",
            offer={"id": "off_1"},
            offer_answer="yes",
            pending_retry=True,
            goal="cancel",
        )
    )
    assert slots["offer_answer"] is None and slots["no_offers"] is True
    assert "offer" not in slots  # still made: no second one


def test_never_mind_instead_of_try_again_ends_the_request() -> None:
    """It used to be carried out like "try again" once billing was back."""
    dispatcher = CollectingDispatcher()
    conversation = tracker(
        "never mind", intent="out_of_scope", pending_retry=True, goal="cancel"
    )
    events = asyncio.run(ActionHandleOther().run(dispatcher, conversation, {}))
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert [m["text"] for m in dispatcher.messages] == [replies.NOT_CANCELLING[0]]
    assert slots["goal"] is None and slots["pending_retry"] is False
    assert not any(e.get("event") == "followup" for e in events)
