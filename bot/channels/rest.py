"""The REST channel: JSON in, the bot's replies as a JSON list out.

For the company's own front ends and for tests. A caller may vouch for the
customer's identity (``metadata.identity``) only by sending the shared
``X-Gracious-Identity-Key``; without it the conversation is anonymous and the
bot asks for the email. A turn that fails answers 503 with a JSON error
(send it again), logged without the customer's words; one whose turn was
kept before the failure answers its replies, as it would have.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    UserMessage,
)
from sanic import Blueprint, response
from sanic.request import Request

from bot.channels.inbound import add_health_route, has_key, prepare, problem
from bot.channels.widget_delivery import already_received
from bot.database import log_failure
from bot.settings import settings

log = logging.getLogger(__name__)

MAX_SENDER_LENGTH = 128
MAX_TEXT_LENGTH = 10_000
# A turn that failed on our side: what it did not keep, the caller sends again.
TURN_FAILED = (
    "The message was not handled, because of a failure on our side. Send it again."
)


class RestChannel(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def _trusted_identity(
        self, request: Request, body: dict[str, Any]
    ) -> Optional[dict]:
        if not has_key(
            request, "x-gracious-identity-key", settings().rest_identity_key
        ):
            return None
        metadata = body.get("metadata")
        identity = metadata.get("identity") if isinstance(metadata, dict) else None
        return identity if isinstance(identity, dict) else None

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = add_health_route(Blueprint("gracious_rest_webhook", __name__))

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> response.HTTPResponse:
            try:
                body = request.json
            except Exception:
                return problem(
                    'The body must be JSON: {"sender": ..., "message": ...}.'
                )
            if not isinstance(body, dict):
                return problem("The body must be a JSON object.")
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER_LENGTH:
                return problem(
                    f"'sender' must be a string of 1-{MAX_SENDER_LENGTH} characters."
                )
            if text is not None and not isinstance(text, str):
                return problem("'message' must be a string.")
            text = (text or "")[:MAX_TEXT_LENGTH]
            text, metadata = prepare(
                text, self.name(), self._trusted_identity(request, body)
            )
            # Names the message in the tracker, to tell after a failure
            # whether its turn was kept.
            message_id = uuid.uuid4().hex
            metadata["gracious"]["client_id"] = message_id
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        sender,
                        input_channel=self.name(),
                        metadata=metadata,
                    )
                )
            except Exception as error:
                # Sanic's own 500 would log the error's text and answer the
                # caller with a page; the caller needs to know to send again,
                # unless the turn was kept before what failed (releasing the
                # lock): sent again, it would run twice.
                log_failure(log, error, "rest: a turn failed")
                agent = getattr(request.app.ctx, "agent", None)
                if agent is None or not await already_received(
                    agent, sender, message_id
                ):
                    return problem(TURN_FAILED, 503)
            return response.json(collector.messages)

        return webhook
