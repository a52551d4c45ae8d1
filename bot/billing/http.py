"""The billing client for the Gracious HTTP billing API (the reference service)."""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any, Optional

import requests

from .errors import (
    BillingConflict,
    BillingRejected,
    BillingUnavailable,
    CustomerLocked,
    NotFound,
    VerificationExpired,
    VerificationFailed,
)
from .models import (
    AccountRef,
    Caller,
    CancellationReceipt,
    RetentionOffer,
    Subscription,
    Verification,
)

if TYPE_CHECKING:
    from bot.settings import Settings

DEFAULT_TIMEOUT = (2.0, 4.0)  # (connect, read) seconds: a chat turn can't wait longer
DEFAULT_RETRIES = 1
RETRY_STATUSES = frozenset({502, 503, 504})
RETRY_BACKOFF_SECONDS = 0.3


class HttpBillingClient:
    """Talks to the billing API over one ``requests.Session``.

    Every request has a timeout. Failed requests are retried a bounded number
    of times only when repeating them is harmless: reads, and writes (which
    always carry the same Idempotency-Key on the retry).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        session: Optional[requests.Session] = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._retries = retries
        self._session = session or requests.Session()
        self._session.headers["Authorization"] = f"Bearer {api_key}"
        self._session.headers["User-Agent"] = "gracious-bot/1"

    def close(self) -> None:
        self._session.close()

    # -- the BillingBackend interface ------------------------------------

    def verify(
        self, account: AccountRef, card_last4: str, caller: Caller, idempotency_key: str
    ) -> Verification:
        body = self._write(
            "/v1/verifications",
            idempotency_key,
            caller,
            None,
            {
                "account": {account.kind: account.value},
                "card_last4": card_last4,
            },
        )
        if not body.get("verified"):
            raise VerificationFailed()
        return Verification(
            customer_id=body["customer_id"],
            first_name=body["first_name"],
            token=body["token"],
            expires_at=dt.datetime.fromisoformat(body["expires_at"]),
        )

    def subscriptions(self, verification: Verification) -> list[Subscription]:
        body = self._request("GET", "/v1/subscriptions", verification)
        return [Subscription.from_json(item) for item in body["subscriptions"]]

    def subscription(
        self, verification: Verification, subscription_id: str
    ) -> Subscription:
        body = self._request(
            "GET", f"/v1/subscriptions/{subscription_id}", verification
        )
        return Subscription.from_json(body)

    def retention_offer(
        self,
        verification: Verification,
        subscription_id: str,
        caller: Caller,
        idempotency_key: str,
        reason: Optional[str] = None,
    ) -> Optional[RetentionOffer]:
        payload = {"reason": reason} if reason else {}
        body = self._write(
            f"/v1/subscriptions/{subscription_id}/retention-offer",
            idempotency_key,
            caller,
            verification,
            payload,
        )
        offer = body.get("offer")
        if offer is None or offer.get("status") != "presented":
            return None
        return RetentionOffer.from_json(offer)

    def accept_offer(
        self,
        verification: Verification,
        offer_id: str,
        caller: Caller,
        idempotency_key: str,
    ) -> Subscription:
        body = self._write(
            f"/v1/retention-offers/{offer_id}/accept",
            idempotency_key,
            caller,
            verification,
            {},
        )
        return Subscription.from_json(body["subscription"])

    def decline_offer(
        self,
        verification: Verification,
        offer_id: str,
        caller: Caller,
        idempotency_key: str,
    ) -> None:
        self._write(
            f"/v1/retention-offers/{offer_id}/decline",
            idempotency_key,
            caller,
            verification,
            {},
        )

    def cancel(
        self,
        verification: Verification,
        subscription_id: str,
        caller: Caller,
        idempotency_key: str,
        *,
        immediately: bool = False,
        reason: Optional[str] = None,
    ) -> CancellationReceipt:
        payload: dict[str, Any] = {
            "when": "immediately" if immediately else "period_end"
        }
        if reason:
            payload["reason"] = reason[:500]
        body = self._write(
            f"/v1/subscriptions/{subscription_id}/cancel",
            idempotency_key,
            caller,
            verification,
            payload,
        )
        return CancellationReceipt.from_json(body)

    def reactivate(
        self,
        verification: Verification,
        subscription_id: str,
        caller: Caller,
        idempotency_key: str,
    ) -> Subscription:
        body = self._write(
            f"/v1/subscriptions/{subscription_id}/reactivate",
            idempotency_key,
            caller,
            verification,
            {},
        )
        return Subscription.from_json(body["subscription"])

    # -- transport ----------------------------------------------------------

    def _write(
        self,
        path: str,
        idempotency_key: str,
        caller: Caller,
        verification: Optional[Verification],
        payload: dict[str, Any],
    ) -> dict[str, Any]:
        payload = {**payload, "channel": caller.channel}
        if caller.conversation_id:
            payload["conversation_id"] = caller.conversation_id[:128]
        return self._request(
            "POST", path, verification, payload, {"Idempotency-Key": idempotency_key}
        )

    def _request(
        self,
        method: str,
        path: str,
        verification: Optional[Verification],
        payload: Optional[dict[str, Any]] = None,
        headers: Optional[dict[str, str]] = None,
    ) -> dict[str, Any]:
        headers = dict(headers or {})
        if verification is not None:
            headers["X-Verification-Token"] = verification.token
        for attempt in range(self._retries + 1):
            last_try = attempt == self._retries
            try:
                reply = self._session.request(
                    method,
                    self._base + path,
                    json=payload,
                    headers=headers,
                    timeout=self._timeout,
                )
            except requests.RequestException as problem:
                if last_try:
                    raise BillingUnavailable(f"{method} {path}: {problem}") from problem
            else:
                if reply.status_code not in RETRY_STATUSES or last_try:
                    return _answer(reply)
            time.sleep(RETRY_BACKOFF_SECONDS * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover


def _answer(reply: requests.Response) -> dict[str, Any]:
    """Return the JSON of a success, or raise the error it stands for."""
    try:
        body = reply.json()
    except ValueError:
        body = {}
    if reply.status_code < 400 and isinstance(body, dict):
        return body
    error = body.get("error", {}) if isinstance(body, dict) else {}
    code, message = error.get("code", ""), error.get("message", reply.reason or "")
    status = reply.status_code
    if status >= 500 or not isinstance(body, dict):
        raise BillingUnavailable(f"billing answered {status}")
    if status == 429:
        until = error.get("locked_until")
        raise CustomerLocked(
            dt.datetime.fromisoformat(until) if until else None,
            int(
                error.get("retry_after_seconds")
                or reply.headers.get("Retry-After")
                or 0
            ),
        )
    if status == 401 and code == "verification_required":
        raise VerificationExpired(message)
    if status == 404:
        raise NotFound(message)
    if status == 409:
        raise BillingConflict(code, message)
    raise BillingRejected(status, code, message)


def client_from_settings(settings: Settings) -> HttpBillingClient:
    """Return the billing client a bot process uses, configured from settings."""
    return HttpBillingClient(
        settings.billing_url,
        settings.billing_api_key,
        timeout=(settings.billing_connect_timeout, settings.billing_read_timeout),
        retries=settings.billing_retries,
    )
