"""What the channels share.

The message prepared before Rasa sees it, a health route, clear errors,
shared-key checks and the conversation's lock.
"""

from __future__ import annotations

import hmac
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Optional

from sanic import Blueprint, response
from sanic.request import Request

from bot.redaction import redact
from bot.tracker_store import refuse_to_serve_from_memory

log = logging.getLogger(__name__)
IDENTITY_KINDS = ("phone", "customer_id")


def prepare(
    text: Optional[str], channel: str, identity: Optional[dict[str, str]] = None
) -> tuple[str, dict[str, Any]]:
    """Return the message to hand to Rasa and its metadata.

    The text loses any full card number here, so neither the NLU, the tracker
    store nor a log line ever holds one. ``identity`` is only what the channel
    itself verified (a Twilio-signed sender, a company-signed web token).
    """
    cleaned = redact(text or "")
    if cleaned.had_card_number:
        log.info(
            "removed %d card number(s) from a %s message", cleaned.removed, channel
        )
    gracious: dict[str, Any] = {"channel": channel}
    if identity and identity.get("kind") in IDENTITY_KINDS and identity.get("value"):
        gracious["identity"] = {
            "kind": identity["kind"],
            "value": str(identity["value"]),
        }
    if cleaned.had_card_number:
        gracious["card_number_removed"] = True
    return cleaned.text, {"gracious": gracious}


def add_health_route(webhook: Blueprint) -> Blueprint:
    """Give a channel's blueprint the GET / health check every channel answers.

    And the start-up check: a server whose conversations would stay in
    memory stops instead of answering healthy (bot/tracker_store.py).
    """
    # every channel registers it; the first to run stops a failing server
    webhook.listener("after_server_start")(refuse_to_serve_from_memory)

    @webhook.route("/", methods=["GET"])
    async def health(request: Request) -> response.HTTPResponse:
        return response.json({"status": "ok"})

    return webhook


def problem(message: str, status: int = 400) -> response.HTTPResponse:
    """Answer a request the route cannot take, saying why."""
    return response.json({"error": message}, status=status)


def json_body(request: Request) -> Any:
    """Return the request's JSON body, or None if it has none that parses."""
    try:
        return request.json
    except Exception:  # Sanic's own error for a body that is not JSON
        return None


def has_key(request: Request, header: str, key: str) -> bool:
    """Whether the request carries ``key`` in ``header``; never with no key set."""
    given = request.headers.get(header, "")
    return bool(key) and hmac.compare_digest(given.encode(), key.encode())


# Rasa polls a held lock every second by default: too slow for a widget
# showing "Reconnecting". A turn in progress is waited for, not for ever.
LOCK_POLL_SECONDS = 0.1
LOCK_LIFETIME_SECONDS = 30


@asynccontextmanager
async def conversation_lock(agent: Any, conversation_id: str) -> AsyncIterator[None]:
    """Hold the lock Rasa holds while it handles a message of the conversation."""
    async with agent.lock_store.lock(
        conversation_id,
        lock_lifetime=LOCK_LIFETIME_SECONDS,
        wait_time_in_seconds=LOCK_POLL_SECONDS,
    ):
        yield
