"""Messages the bot sends later, into a conversation the customer already had.

A cancellation that billing could not take at the time is finished by the
retry worker minutes or hours later (bot/retry_worker.py). The customer was
told "it will go through as soon as billing is back"; this route lets the
worker keep that promise in the chat itself. It is not a channel customers
write to: it is registered as one (credentials.yml) because that is how a
route gets onto the Rasa server that holds the conversations.

``POST /webhooks/notices/conversations/<conversation_id>`` with the header
``X-Gracious-Notice-Key`` (GRACIOUS_NOTICE_KEY) and ``{"text": ...}``: the
text becomes the bot's message in the conversation's tracker, under the
conversation's lock, and goes out at once through the channel the customer
last wrote on, when that channel can send on its own (the widget: every open
tab of the conversation). A widget that is closed gets it when it reconnects
(bot/channels/widget_replay.py); the REST channel's callers read the tracker.
Without the key set, the route refuses everything.

A ``"notice_id"`` makes the call idempotent: a notice whose id the
conversation already holds is not added or sent again (a worker that died
after posting and before writing it down posts again).

``{"text": ..., "sent_by": "sms"}`` only records a text the worker already
sent itself (Twilio's Messages API): the SMS conversation's transcript then
shows what the customer was told, and nothing is sent twice.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Optional, Union

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered
from sanic import Blueprint, response
from sanic.request import Request

from bot.channels.inbound import (
    add_health_route,
    conversation_lock,
    has_key,
    json_body,
    problem,
)
from bot.channels.notice_contract import (
    KEY_HEADER,
    MAX_NOTICE_ID_LENGTH,
    MAX_NOTICE_LENGTH,
)
from bot.settings import settings

log = logging.getLogger(__name__)

# Channels the worker texts on itself; the route only records those notices.
SENT_ELSEWHERE = ("sms",)


def read_notice(body: Any) -> Union[tuple[str, Optional[str], Optional[str]], str]:
    """Return the notice's (text, sent_by, notice_id), or what is wrong with it."""
    body = body if isinstance(body, dict) else {}
    text, sent_by, notice_id = (body.get(k) for k in ("text", "sent_by", "notice_id"))
    if not isinstance(text, str) or not 0 < len(text) <= MAX_NOTICE_LENGTH:
        return f'The body must be {{"text": ...}}, 1-{MAX_NOTICE_LENGTH} characters.'
    if sent_by is not None and sent_by not in SENT_ELSEWHERE:
        return f'"sent_by" may only be one of {", ".join(SENT_ELSEWHERE)}.'
    if notice_id is not None and not (
        isinstance(notice_id, str) and 0 < len(notice_id) <= MAX_NOTICE_ID_LENGTH
    ):
        return f'"notice_id" must be a string of 1-{MAX_NOTICE_ID_LENGTH} characters.'
    return text, sent_by, notice_id


async def _already_told(agent: Any, conversation_id: str, notice_id: str) -> bool:
    # Every session of the conversation: a repeat may come after a new one began.
    tracker = await agent.tracker_store.retrieve_full_tracker(conversation_id)
    return tracker is not None and any(
        isinstance(event, BotUttered)
        and (event.metadata or {}).get("notice_id") == notice_id
        for event in tracker.events
    )


def _live_output(app: Any, channel_name: Optional[str]) -> Optional[OutputChannel]:
    """Return the output of the channel last written on, if it can send unasked."""
    for channel in getattr(app.ctx, "input_channels", None) or []:
        if channel.name() == channel_name:
            output = channel.get_output_channel()
            if output is not None:
                return output
    return None


class NoticeChannel(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "notices"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = add_health_route(Blueprint("gracious_notices", __name__))

        # unquote: an SMS conversation's id is a phone number, "+" sent as %2B.
        @webhook.route(
            "/conversations/<conversation_id>", methods=["POST"], unquote=True
        )
        async def notice(request: Request, conversation_id: str) -> Any:
            if not has_key(request, KEY_HEADER, settings().notice_key):
                return problem("A valid X-Gracious-Notice-Key header is needed.", 403)
            body = json_body(request)
            notice = read_notice(body)
            if isinstance(notice, str):
                return problem(notice, 400)
            text, sent_by, notice_id = notice
            agent = request.app.ctx.agent
            # The customer may be mid-turn: the notice comes after that turn.
            async with conversation_lock(agent, conversation_id):
                tracker = await agent.tracker_store.retrieve(conversation_id)
                # A notice never starts a conversation of its own.
                if tracker is None or not tracker.events:
                    return problem("No such conversation.", 404)
                if notice_id and await _already_told(agent, conversation_id, notice_id):
                    log.info("notice %s already in %s", notice_id, conversation_id)
                    return response.json({"sent_live": False, "already_told": True})
                metadata = {
                    "gracious_notice": True,
                    "sent_by": sent_by or "bot",
                    "notice_id": notice_id,
                }
                event = BotUttered(text, metadata=metadata)
                tracker.update(event)
                await agent.tracker_store.save(tracker)
                output = None
                if sent_by is None:
                    channel = tracker.get_latest_input_channel()
                    output = _live_output(request.app, channel)
                if output is not None:
                    await output.send_response(conversation_id, event.message())
            log.info(
                "notice added to %s (%s)",
                conversation_id,
                "sent live" if output else f"recorded ({sent_by or 'no live channel'})",
            )
            return response.json({"sent_live": output is not None})

        return webhook
