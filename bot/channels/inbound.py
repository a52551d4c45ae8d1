"""What every channel does to a customer's message before Rasa sees it."""

from __future__ import annotations

import logging
from typing import Any, Optional

from sanic import Blueprint, response
from sanic.request import Request

from bot.redaction import redact

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
    """Give a channel's blueprint the GET / health check every channel answers."""

    @webhook.route("/", methods=["GET"])
    async def health(request: Request) -> response.HTTPResponse:
        return response.json({"status": "ok"})

    return webhook
