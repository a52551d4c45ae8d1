"""The HTTP API: one table of operations, served by Sanic and described by OpenAPI.

Handlers are thin: parse and check the request, then run one domain function
in a worker thread (SQLAlchemy here is synchronous and must not block the
event loop) inside one transaction.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, Optional, Type

from gracious_database_errors import log_failure
from pydantic import BaseModel, ValidationError
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from . import cancellation, events, offers, subscriptions, verification
from .errors import (
    ApiError,
    IdempotencyKeyRequired,
    InvalidRequest,
    MalformedJson,
    NotFound,
)
from .idempotency import MAX_KEY_LENGTH, fingerprint, run_once
from .payloads import CancelRequest, DecisionRequest, OfferRequest, VerificationRequest
from .schema import Subscription, utcnow
from .settings import Settings

log = logging.getLogger(__name__)
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,%d}$" % MAX_KEY_LENGTH)


@dataclass(frozen=True)
class Call:
    """What an operation receives besides the session."""

    settings: Settings
    catalog: list[offers.CatalogOffer]
    body: Any
    customer_id: Optional[str]
    params: dict[str, str]


@dataclass(frozen=True)
class Operation:
    """One endpoint: the route, what it needs, and the domain function it runs."""

    method: str
    path: str
    name: str
    summary: str
    run: Callable[[Session, Call], tuple[int, Any]]
    body: Optional[Type[BaseModel]] = None
    needs_token: bool = False
    # Only cancelling, and listing the plans to find the one asked for,
    # honour a verification token past its expiry (within
    # BILLING_CANCEL_GRACE_SECONDS): a cancellation the customer asked for
    # while billing was down is completed late rather than lost.
    late_token_ok: bool = False
    writes: bool = False
    responses: dict[int, str] = field(default_factory=dict)


def _verify(session: Session, call: Call) -> tuple[int, Any]:
    return verification.verify_identity(session, call.settings, call.body)


def _list_subscriptions(session: Session, call: Call) -> tuple[int, Any]:
    now = utcnow()
    found = subscriptions.customer_subscriptions(session, str(call.customer_id))
    return 200, {
        "subscriptions": [subscriptions.subscription_body(s, now) for s in found]
    }


def _get_subscription(session: Session, call: Call) -> tuple[int, Any]:
    found = subscriptions.customer_subscription(
        session, str(call.customer_id), call.params["subscription_id"]
    )
    return 200, subscriptions.subscription_body(found, utcnow())


def _offer(session: Session, call: Call) -> tuple[int, Any]:
    return offers.evaluate_offer(
        session,
        call.catalog,
        timedelta(days=call.settings.offer_cooldown_days),
        str(call.customer_id),
        call.params["subscription_id"],
        call.body,
    )


def _decide(decision: str) -> Callable[[Session, Call], tuple[int, Any]]:
    def run(session: Session, call: Call) -> tuple[int, Any]:
        return offers.decide_offer(
            session,
            str(call.customer_id),
            call.params["offer_id"],
            decision,
            call.body,
            timedelta(days=call.settings.offer_cooldown_days),
        )

    return run


def _cancel(session: Session, call: Call) -> tuple[int, Any]:
    return cancellation.cancel_subscription(
        session, str(call.customer_id), call.params["subscription_id"], call.body
    )


def _reactivate(session: Session, call: Call) -> tuple[int, Any]:
    return cancellation.reactivate_subscription(
        session, str(call.customer_id), call.params["subscription_id"], call.body
    )


def _events(session: Session, call: Call) -> tuple[int, Any]:
    subscription_id = call.params["subscription_id"]
    if session.get(Subscription, subscription_id) is None:
        raise NotFound("No such subscription.")
    return 200, {
        "subscription_id": subscription_id,
        "events": [
            {
                "id": event.id,
                "type": event.type,
                "actor": event.actor,
                "channel": event.channel,
                "conversation_id": event.conversation_id,
                "occurred_at": subscriptions.iso(event.occurred_at),
                "data": event.data,
            }
            for event in events.subscription_events(session, subscription_id)
        ],
    }


SUB = "/v1/subscriptions/{subscription_id}"
OPERATIONS = [
    Operation(
        "POST",
        "/v1/verifications",
        "verifyIdentity",
        "Check an account's card last 4; answer verified, not verified, or locked.",
        _verify,
        VerificationRequest,
        writes=True,
        responses={
            200: "Verified, or not (identical for unknown accounts)",
            429: "Locked after too many failures",
        },
    ),
    Operation(
        "GET",
        "/v1/subscriptions",
        "listSubscriptions",
        "List the verified customer's subscriptions.",
        _list_subscriptions,
        needs_token=True,
        late_token_ok=True,
        responses={200: "The subscriptions"},
    ),
    Operation(
        "GET",
        SUB,
        "getSubscription",
        "One of the verified customer's subscriptions.",
        _get_subscription,
        needs_token=True,
        responses={200: "The subscription", 404: "Not this customer's"},
    ),
    Operation(
        "POST",
        SUB + "/retention-offer",
        "evaluateRetentionOffer",
        "Present the one eligible retention offer, if any.",
        _offer,
        OfferRequest,
        needs_token=True,
        writes=True,
        responses={
            200: "No offer, or the offer already presented",
            201: "An offer was presented",
            404: "Not this customer's",
        },
    ),
    Operation(
        "POST",
        "/v1/retention-offers/{offer_id}/accept",
        "acceptRetentionOffer",
        "Accept an offer; it applies at once.",
        _decide("accepted"),
        DecisionRequest,
        needs_token=True,
        writes=True,
        responses={
            200: "Accepted and applied",
            404: "Not this customer's",
            409: "Already decided otherwise",
        },
    ),
    Operation(
        "POST",
        "/v1/retention-offers/{offer_id}/decline",
        "declineRetentionOffer",
        "Decline an offer.",
        _decide("declined"),
        DecisionRequest,
        needs_token=True,
        writes=True,
        responses={
            200: "Declined",
            404: "Not this customer's",
            409: "Already decided otherwise",
        },
    ),
    Operation(
        "POST",
        SUB + "/cancel",
        "cancelSubscription",
        "Cancel at period end (default) or immediately where the plan allows.",
        _cancel,
        CancelRequest,
        needs_token=True,
        late_token_ok=True,
        writes=True,
        responses={
            200: "Already cancelled: the first receipt",
            201: "Cancelled: the receipt",
            404: "Not this customer's",
            409: "Not possible for this subscription or plan",
        },
    ),
    Operation(
        "POST",
        SUB + "/reactivate",
        "reactivateSubscription",
        "Undo a cancellation scheduled for period end.",
        _reactivate,
        DecisionRequest,
        needs_token=True,
        writes=True,
        responses={
            200: "Reactivated",
            404: "Not this customer's",
            409: "Not cancelled, or already ended",
        },
    ),
    Operation(
        "GET",
        SUB + "/events",
        "listSubscriptionEvents",
        "The subscription's audit log (company key only).",
        _events,
        responses={200: "Events, oldest first", 404: "No such subscription"},
    ),
]


def _parse_body(request: Request, model: Type[BaseModel]) -> BaseModel:
    raw = request.body or b"{}"
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise MalformedJson("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    try:
        return model.parse_obj(data)
    except ValidationError as invalid:
        problems = [
            {
                "field": ".".join(str(part) for part in error["loc"]),
                "problem": error["msg"],
            }
            for error in invalid.errors()
        ]
        raise InvalidRequest(
            "Some fields are missing or invalid.", problems=problems
        ) from None


def _authorised(request: Request, settings: Settings) -> bool:
    given = request.headers.get("authorization", "")
    expected = "Bearer " + settings.api_key.reveal()
    return hmac.compare_digest(given.encode(), expected.encode())


def _error(status: int, code: str, message: str) -> response.HTTPResponse:
    return response.json({"error": {"code": code, "message": message}}, status=status)


def _answer(status: int, body: Any) -> response.HTTPResponse:
    headers = {}
    if status == 429 and isinstance(body, dict):
        headers["Retry-After"] = str(body["error"]["retry_after_seconds"])
    return response.json(body, status=status, headers=headers)


def _handler(app: Sanic, operation: Operation) -> Callable[..., Any]:
    async def handle(request: Request, **params: str) -> response.HTTPResponse:
        settings: Settings = app.ctx.settings
        engine: Engine = app.ctx.engine
        body = _parse_body(request, operation.body) if operation.body else None
        customer_id = None
        if operation.needs_token:
            customer_id = verification.verified_customer_id(
                settings,
                request.headers.get("x-verification-token"),
                leeway=settings.cancel_grace_seconds if operation.late_token_ok else 0,
            )
        call = Call(settings, app.ctx.catalog, body, customer_id, params)

        if not operation.writes:

            def read() -> tuple[int, Any]:
                with Session(engine) as session, session.begin():
                    return operation.run(session, call)

            return _answer(*await asyncio.to_thread(read))

        key = request.headers.get("idempotency-key", "")
        if not IDEMPOTENCY_KEY.match(key):
            raise IdempotencyKeyRequired(
                f"Send an Idempotency-Key header (1-{MAX_KEY_LENGTH} printable "
                "characters) with every write."
            )
        request_fingerprint = fingerprint(
            operation.name, params, customer_id, body.dict() if body else None
        )
        status, answer = await asyncio.to_thread(
            run_once, engine, key, request_fingerprint, lambda s: operation.run(s, call)
        )
        return _answer(status, answer)

    handle.__name__ = operation.name
    return handle


def create_app(
    settings: Settings, engine: Engine, name: str = "gracious-billing"
) -> Sanic:
    """Return the billing API bound to ``engine``; the caller runs it."""
    app = Sanic(name, configure_logging=False)
    app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.settings = settings
    app.ctx.engine = engine
    app.ctx.catalog = offers.load_catalog(settings.offer_catalog)

    from .openapi import openapi_document

    document = openapi_document(OPERATIONS)

    @app.middleware("request")
    async def require_api_key(request: Request) -> Optional[response.HTTPResponse]:
        if request.path.startswith("/v1/") and not _authorised(request, settings):
            return _error(
                401,
                "unauthorized",
                "Send the API key as 'Authorization: Bearer <key>'.",
            )
        return None

    @app.get("/healthz")
    async def healthz(request: Request) -> response.HTTPResponse:
        def ping() -> None:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))

        await asyncio.to_thread(ping)
        return response.json({"status": "ok"})

    @app.get("/openapi.json")
    async def openapi(request: Request) -> response.HTTPResponse:
        return response.json(document)

    for operation in OPERATIONS:
        path = re.sub(r"\{(\w+)\}", r"<\1:str>", operation.path)
        app.add_route(
            _handler(app, operation),
            path,
            methods=[operation.method],
            name=operation.name,
        )

    @app.exception(ApiError)
    async def api_error(request: Request, error: ApiError) -> response.HTTPResponse:
        return response.json(error.body(), status=error.status)

    @app.exception(SanicException)
    async def http_error(
        request: Request, error: SanicException
    ) -> response.HTTPResponse:
        status = getattr(error, "status_code", 400) or 400
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        if status >= 500:
            log.error("HTTP error %s on %s %s", status, request.method, request.path)
        return _error(
            status, code.get(status, "bad_request"), str(error) or "Bad request."
        )

    @app.exception(Exception)
    async def unexpected(request: Request, error: Exception) -> response.HTTPResponse:
        log_failure(
            log, error, "Unexpected error on %s %s", request.method, request.path
        )
        return _error(500, "internal_error", "Something went wrong on our side.")

    return app
