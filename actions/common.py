"""What every action shares: the billing backend and reading the conversation."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.billing import AccountRef, BillingBackend, Caller
from bot.billing.http import client_from_settings
from bot.flow import Reply
from bot.settings import settings

_shared_billing: Optional[BillingBackend] = None


def default_billing() -> BillingBackend:
    """Return the process's billing client, made on first use from settings."""
    global _shared_billing
    if _shared_billing is None:
        _shared_billing = client_from_settings(settings())
    return _shared_billing


def gracious_metadata(tracker: Tracker) -> dict[str, Any]:
    """Return what our channels attached to the latest message."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    value = metadata.get("gracious") if isinstance(metadata, dict) else None
    return value if isinstance(value, dict) else {}


def channel_identity(tracker: Tracker) -> Optional[AccountRef]:
    """Return the account the channel vouches for (SMS sender, signed web login)."""
    identity = gracious_metadata(tracker).get("identity") or {}
    kind, value = identity.get("kind"), identity.get("value")
    if kind in ("phone", "customer_id") and isinstance(value, str) and value:
        return AccountRef(kind, value)
    return None


def caller(tracker: Tracker) -> Caller:
    channel = gracious_metadata(tracker).get("channel") or "rest"
    return Caller(channel=str(channel), conversation_id=tracker.sender_id)


def is_sms(tracker: Tracker) -> bool:
    """SMS gets the short, GSM-7 forms of every line (see bot/replies.py)."""
    return caller(tracker).channel == "sms"


def card_number_was_removed(tracker: Tracker) -> bool:
    return bool(gracious_metadata(tracker).get("card_number_removed"))


def say(dispatcher: CollectingDispatcher, replies: list[Reply]) -> None:
    for reply in replies:
        buttons = [
            {"title": title, "payload": payload} for title, payload in reply.buttons
        ]
        dispatcher.utter_message(text=reply.text, buttons=buttons or None)


class BillingAction(Action, ABC):
    """An action that talks to billing; tests inject a backend."""

    def __init__(self, billing: Optional[BillingBackend] = None) -> None:
        self._billing = billing

    @property
    def billing(self) -> BillingBackend:
        return self._billing or default_billing()

    @abstractmethod
    def name(self) -> str:
        """Return the action's name in the domain."""
