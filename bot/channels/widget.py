"""The website chat widget's channel: a socket.io server, signed logins, the demo.

The widget (``widget_static/gracious-widget.js``) opens a socket to this
channel, asks for a conversation (``session_request``, answered with
``session_confirm``), sends ``user_uttered`` and receives ``bot_uttered``.

A company's page may pass a token it signed (a JWT whose ``sub`` is the
customer id, with ``exp``). The channel checks it once per socket and hands
the customer id to the actions as the channel's identity. A token that fails
any check makes the visitor anonymous, and nothing tells the browser why.

Rasa's stock socketio channel calls ``AsyncServer.enter_room`` without
awaiting it, which python-socketio made a coroutine in 5.10: replies then
never reach the room (RasaHQ/rasa#13027). This channel awaits it when it is
one, so it works on the pinned 5.9 and on current releases alike.

With several Rasa servers every emit passes through Redis, so a reply
reaches a socket on any of them (bot/channels/widget_shared.py).

A message that carries the widget's id for it is acknowledged on receipt and
its turn runs once, however often it is sent (bot/channels/widget_delivery.py).
If that turn fails, or no model is loaded to run it, the conversation is told
to send it again (bot/channels/widget_failures.py). When the server stops,
the turns running are seen through and new messages are not acknowledged,
so the widget sends them again to the next server (bot/channels/stopping.py).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import time
import uuid
from html import escape
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable, Optional

import jwt
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import (
    SocketBlueprint,
    SocketIOInput,
    SocketIOOutput,
)
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from socketio import AsyncServer

from bot.channels.inbound import add_health_route, prepare
from bot.channels.stopping import see_through
from bot.channels.widget_claims import Claim, claims_in
from bot.channels.widget_delivery import RecentMessages, client_id, run_once
from bot.channels.widget_failures import FailedTurns
from bot.channels.widget_replay import rejoin, seen_count
from bot.channels.widget_shared import (
    SHARED_CHANNEL,
    SharedSockets,
    share_through_redis,
)
from bot.database import log_failure
from bot.settings import Settings, SettingsError, settings

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "widget_static"
WIDGET_SCRIPT = "gracious-widget.js"
SOCKET_PATH = "/webhooks/widget/socket.io"
USER_EVENT, BOT_EVENT = "user_uttered", "bot_uttered"
MAX_TEXT_LENGTH = 2_000
MAX_TOKEN_LENGTH = 8_192
MAX_CUSTOMER_ID_LENGTH = 128
# A conversation id the widget may bring back after a reload: one we issued.
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
DEMO_CUSTOMER_ID = "cus_ana"
DEMO_TOKEN_SECONDS = 15 * 60
# The company's servers and ours keep their own clocks: a token minted a
# second "in the future" must not turn a logged-in customer anonymous.
CLOCK_SKEW_SECONDS = 30


class TokenVerifier:
    """Checks the company's signed login tokens (HS256 secret or RS256 key).

    With an audience (or issuer) configured, a token must name it: the
    company's identity provider may sign tokens for other services with the
    same key, and one of those must not log a visitor into the chat. Without
    one, a token that names any audience was meant for someone else.
    """

    def __init__(
        self,
        secret: str = "",
        public_key: str = "",
        audience: str = "",
        issuer: str = "",
    ) -> None:
        self._audience = audience
        self._issuer = issuer
        self._keys: dict[str, Any] = {}
        if secret:
            self._keys["HS256"] = secret
        if public_key:
            try:
                self._keys["RS256"] = jwt.algorithms.RSAAlgorithm(
                    jwt.algorithms.RSAAlgorithm.SHA256
                ).prepare_key(public_key)
            except Exception as error:
                raise SettingsError(
                    "WIDGET_JWT_PUBLIC_KEY is not an RSA public key in PEM form"
                ) from error

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def customer_id(self, token: Any) -> Optional[str]:
        """Return the customer id of a valid, unexpired token; None otherwise.

        The algorithm named in the token only chooses among the keys we hold,
        so a token can never make us verify an RS256 key as an HMAC secret.
        """
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH:
            return None
        try:
            algorithm = str(jwt.get_unverified_header(token).get("alg"))
            key = self._keys.get(algorithm)
            if key is None:
                return None
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._audience or None,
                issuer=self._issuer or None,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": self._required_claims()},
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            return None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.strip():
            return None
        if len(subject) > MAX_CUSTOMER_ID_LENGTH:
            return None
        return subject

    def _required_claims(self) -> list[str]:
        required = ["exp", "sub"]
        if self._audience:
            required.append("aud")
        if self._issuer:
            required.append("iss")
        return required


class OriginPolicy:
    """Which web pages may open the widget's socket: an exact list, no wildcard."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed = frozenset(origin.rstrip("/").lower() for origin in allowed)

    def allows(self, origin: Optional[str]) -> bool:
        if not origin:
            return False
        return origin.rstrip("/").lower() in self.allowed


async def join_conversation(sio: AsyncServer, sid: str, room: str) -> None:
    """Put socket ``sid`` in ``room``, on python-socketio before and after 5.10."""
    entered = sio.enter_room(sid, room)
    if inspect.isawaitable(entered):
        await entered


async def leave_conversation(sio: AsyncServer, sid: str, room: str) -> None:
    left = sio.leave_room(sid, room)
    if inspect.isawaitable(left):
        await left


class WidgetSocketBlueprint(SocketBlueprint):
    """Routes the socket.io endpoint into Sanic, quietly closing WebSockets."""

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        sio: AsyncServer = self.ctx.sio
        self.ctx.app = app  # its ctx.agent holds the tracker and lock stores

        async def engineio(request: Request) -> Optional[response.HTTPResponse]:
            return await sio.handle_request(request)

        # When a WebSocket ends engine.io returns None, which Sanic 21.12 logs
        # as a server error unless the handler says it serves WebSockets.
        setattr(engineio, "is_websocket", True)  # noqa: B010
        app.add_route(
            engineio,
            "/" + str(self.ctx.socketio_path).strip("/") + "/",
            methods=["GET", "POST", "OPTIONS"],
            name="gracious_widget_socketio",
        )
        app.enable_websocket()
        Blueprint.register(self, app, options)


class WidgetOutput(SocketIOOutput):
    """The bot's replies, to every socket in the conversation's room."""

    def __init__(self, sio: Any, bot_message_evt: str) -> None:
        super().__init__(sio, bot_message_evt)
        # what a failed turn had shown already (bot/channels/widget_failures.py)
        self.replies_sent = 0

    @classmethod
    def name(cls) -> str:
        return "widget"

    async def _send_message(self, socket_id: str, response: Any) -> None:
        await super()._send_message(socket_id, response)
        self.replies_sent += 1

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        # The stock channel spreads the message into emit()'s arguments, which
        # fails for ours ({"handoff": ...}); the widget gets it as data.
        await self._send_message(recipient_id, {"custom": json_message})


class WidgetInput(SocketIOInput):
    """The web chat widget, its static files and (in development) a demo page."""

    @classmethod
    def name(cls) -> str:
        return "widget"

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(socketio_path=credentials.get("socketio_path") or SOCKET_PATH)

    def __init__(
        self, socketio_path: str = SOCKET_PATH, config: Optional[Settings] = None
    ) -> None:
        super().__init__(
            user_message_evt=USER_EVENT,
            bot_message_evt=BOT_EVENT,
            session_persistence=True,
            socketio_path=socketio_path,
        )
        self._config = config

    @property
    def config(self) -> Settings:
        return self._config or settings()

    def get_output_channel(self) -> Optional[OutputChannel]:
        if self.sio is None:
            return None
        return WidgetOutput(self.sio, BOT_EVENT)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        config = self.config
        verifier = TokenVerifier(
            config.widget_jwt_secret,
            config.widget_jwt_public_key,
            audience=config.widget_jwt_audience,
            issuer=config.widget_jwt_issuer,
        )
        origins = OriginPolicy(config.widget_allowed_origins)
        shared = config.widget_redis_url
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=origins.allows,
            max_http_buffer_size=64 * 1024,
            **(
                {"client_manager": SharedSockets(shared, channel=SHARED_CHANNEL)}
                if shared
                else {}
            ),
        )
        self.sio = sio
        webhook = add_health_route(
            WidgetSocketBlueprint(
                sio, self.socketio_path or SOCKET_PATH, "gracious_widget", __name__
            )
        )

        def agent() -> Optional[Any]:
            app = getattr(webhook.ctx, "app", None)
            return getattr(getattr(app, "ctx", None), "agent", None)

        received = RecentMessages()
        turns: set[asyncio.Task[Any]] = set()
        server_stopping = asyncio.Event()
        failures = FailedTurns(
            sio, BOT_EVENT, received, agent, stopping=server_stopping.is_set
        )

        def after_receipt(work: Awaitable[Any]) -> None:
            # The acknowledgement goes out when the handler returns; the work
            # goes on without it (tasks start in order, so turns keep theirs,
            # and a notice reaches the widget after the acknowledgement that
            # moved its message to those it can send again).
            task = asyncio.ensure_future(work)
            turns.add(task)
            task.add_done_callback(turn_over)

        def run_after_receipt(turn: Awaitable[Any], message: UserMessage) -> None:
            # A turn that fails is told to the customer, who holds no message
            # to resend otherwise.
            after_receipt(failures.run(turn, message))

        def turn_over(task: asyncio.Task[Any]) -> None:
            turns.discard(task)
            error = None if task.cancelled() else task.exception()
            if error is not None:
                log_failure(log, error, "widget: a turn failed")

        @webhook.listener("after_server_start")
        async def subscribe(app: Sanic, loop: Any) -> None:
            await share_through_redis(sio)

        @webhook.listener("before_server_stop")
        async def see_turns_through(app: Sanic, loop: Any) -> None:
            # Each message running was acknowledged, so the widget will not
            # send it again: its turn ends here, while the sockets are still
            # open for its replies, or (with one server) it is lost.
            server_stopping.set()
            await see_through(turns, "widget turn", app)

        async def identify(sid: str, token: Any) -> None:
            customer_id = verifier.customer_id(token) if token else None
            if token and customer_id is None:
                # Logged for the operator; the visitor just goes on anonymous.
                log.info("widget socket %s: login token rejected", sid)
            session = await sio.get_session(sid)
            session["customer_id"] = customer_id
            await sio.save_session(sid, session)

        @sio.on("connect")
        async def connect(sid: str, environ: dict, auth: Any = None) -> bool:
            if server_stopping.is_set():
                # refused, the widget tries again later: another server, or
                # this one restarted, rather than one about to close it
                return False
            await sio.save_session(sid, {"customer_id": None, "session_id": None})
            if isinstance(auth, dict) and auth.get("token"):
                await identify(sid, auth["token"])
            return True

        @sio.on("session_request")
        async def session_request(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            if "token" in data:
                await identify(sid, data["token"])
            wanted = data.get("session_id")
            continuing = isinstance(wanted, str) and SESSION_ID.match(wanted)
            session_id = wanted if continuing else uuid.uuid4().hex
            session = await sio.get_session(sid)
            previous = session.get("session_id")
            if previous and previous != session_id:
                await leave_conversation(sio, sid, previous)
            session["session_id"] = session_id
            await sio.save_session(sid, session)

            async def welcome(missed: list[Any]) -> None:
                await sio.emit("session_confirm", session_id, room=sid)
                for packet in missed:
                    await sio.emit(BOT_EVENT, packet, room=sid)

            # A socket already in this conversation (a new token from
            # setToken) has had every reply live: replaying after its count
            # would show a turn's replies twice and push the count past them.
            replay = continuing and previous != session_id
            await rejoin(
                agent(),
                session_id,
                seen_count(data.get("bot_seen")) if replay else None,
                lambda: join_conversation(sio, sid, session_id),
                welcome,
                lambda recorder: WidgetOutput(recorder, BOT_EVENT),
            )

        @sio.on(USER_EVENT)
        async def user_uttered(sid: str, data: Any) -> Any:
            """Take a customer's message; with the widget's id for it, acknowledge.

            python-socketio sends what this returns as the acknowledgement,
            None included; all but its ``not_handled``.
            """
            session = await sio.get_session(sid)
            session_id = session.get("session_id")
            if not session_id or not isinstance(data, dict):
                return None
            text = data.get("message")
            if not isinstance(text, str) or not text.strip():
                return None
            if server_stopping.is_set():
                # Not acknowledged: the widget keeps it in its outbox and sends
                # it again once its socket, which the stop closes, reconnects
                # (another server, or this one restarted). A turn begun now
                # could be cut off after its acknowledgement, and lost.
                log.info("widget: the server is stopping; a message is left unread")
                return sio.not_handled
            message_id = client_id(data.get("client_id"))
            receipt = {"received": message_id} if message_id else None
            if message_id and not received.first_time(session_id, message_id):
                return receipt
            identity = None
            if session.get("customer_id"):
                identity = {"kind": "customer_id", "value": session["customer_id"]}
            text, metadata = prepare(text[:MAX_TEXT_LENGTH], "web", identity)
            if message_id:
                metadata["gracious"]["client_id"] = message_id
            message = UserMessage(
                text,
                WidgetOutput(sio, BOT_EVENT),
                session_id,
                input_channel=self.name(),
                metadata=metadata,
            )
            if not message_id:
                # an older widget or another client: no acknowledgement, as before
                await on_new_message(message)
                return None
            bot = agent()
            if bot is None or not bot.is_ready():
                # No model loaded: Rasa's on_new_message would log the message
                # and drop it. Acknowledged, and the customer told at once that
                # we are starting up, with "Send again". Not left unacknowledged
                # for the widget to resend: it resends only after taking the
                # socket for dead (10 s without the acknowledgement), so every
                # open widget would show "Connection lost" and reconnect about
                # every 10 s for as long as no model comes (a server started
                # before its model exists waits for one to be PUT or pulled),
                # and the customer would never learn why.
                after_receipt(failures.not_ready(message))
                return receipt
            # With one server (the lock store in memory) there is no claim to
            # make: the memory of ids above has made it.
            claims = claims_in(bot.lock_store)
            claim = (
                await claims.claim(session_id, message_id) if claims else Claim.FIRST
            )
            if claim is not Claim.DONE:
                first = claim is Claim.FIRST and data.get("resent") is not True
                run_after_receipt(
                    run_once(bot, message, message_id, claims, first), message
                )
            return receipt

        @webhook.route(f"/static/{WIDGET_SCRIPT}", methods=["GET"])
        async def widget_script(request: Request) -> response.HTTPResponse:
            return await response.file(
                STATIC / WIDGET_SCRIPT,
                mime_type="text/javascript",
                headers={"Cache-Control": "public, max-age=300"},
            )

        @webhook.route("/demo", methods=["GET"])
        async def demo(request: Request) -> response.HTTPResponse:
            if not config.demo_page:
                return response.json({"error": "not found"}, status=404)
            logged_in = request.args.get("as") == "ana"
            return response.html(demo_page(logged_in, verifier.enabled))

        @webhook.route("/demo/token", methods=["GET"])
        async def demo_token(request: Request) -> response.HTTPResponse:
            if not config.demo_page or not config.widget_jwt_secret:
                return response.json({"error": "not found"}, status=404)
            token = mint_token(
                DEMO_CUSTOMER_ID,
                config.widget_jwt_secret,
                audience=config.widget_jwt_audience,
                issuer=config.widget_jwt_issuer,
            )
            return response.json(
                {"token": token}, headers={"Cache-Control": "no-store"}
            )

        return webhook


def mint_token(
    customer_id: str,
    secret: str,
    seconds: int = DEMO_TOKEN_SECONDS,
    audience: str = "",
    issuer: str = "",
) -> str:
    """Return an HS256 login token, as a company's back end would sign one."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": customer_id, "iat": now, "exp": now + seconds}
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")


def demo_page(logged_in: bool, tokens_enabled: bool) -> str:
    """Return the demo shop page, anonymous or logged in as Ana."""
    attributes = {
        "src": f"static/{WIDGET_SCRIPT}",
        "data-storage-key": "gracious-demo-" + ("ana" if logged_in else "anonymous"),
    }
    if logged_in:
        attributes["data-token-url"] = "demo/token"
    tag = " ".join(f'{name}="{escape(value)}"' for name, value in attributes.items())
    who = (
        "You are logged in as <strong>ana@example.com</strong>: the widget "
        "knows it is Ana and asks only for the card's last 4 digits (4242)."
        if logged_in
        else "You are an anonymous visitor: the widget asks for your email "
        "(try ana@example.com, card 4242)."
    )
    if logged_in and not tokens_enabled:
        who += " (WIDGET_JWT_SECRET is not set, so the login is ignored.)"
    page = (STATIC / "demo.html").read_text(encoding="utf-8")
    return (
        page.replace("{{who}}", who)
        .replace("{{anonymous_current}}", "" if logged_in else ' aria-current="page"')
        .replace("{{ana_current}}", ' aria-current="page"' if logged_in else "")
        .replace("{{widget}}", f"<script {tag} defer></script>")
    )
