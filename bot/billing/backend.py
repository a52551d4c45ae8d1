"""The interface the actions depend on; one implementation per billing system."""

from __future__ import annotations

from typing import Optional, Protocol

from .models import (
    AccountRef,
    Caller,
    CancellationReceipt,
    RetentionOffer,
    Subscription,
    Verification,
)


class BillingBackend(Protocol):
    """Everything a cancellation conversation asks of billing.

    Every write takes an ``idempotency_key``: the same key must give the same
    answer, so a retried turn never acts twice. Failures are raised as the
    exceptions in ``bot.billing.errors``.
    """

    def verify(
        self, account: AccountRef, card_last4: str, caller: Caller, idempotency_key: str
    ) -> Verification:
        """Confirm identity, or raise VerificationFailed / CustomerLocked."""

    def subscriptions(self, verification: Verification) -> list[Subscription]:
        """Return all of the verified customer's subscriptions."""

    def subscription(
        self, verification: Verification, subscription_id: str
    ) -> Subscription:
        """Return one of the verified customer's subscriptions."""

    def retention_offer(
        self,
        verification: Verification,
        subscription_id: str,
        caller: Caller,
        idempotency_key: str,
        reason: Optional[str] = None,
    ) -> Optional[RetentionOffer]:
        """Return the one offer billing allows for this cancellation, if any."""

    def accept_offer(
        self,
        verification: Verification,
        offer_id: str,
        caller: Caller,
        idempotency_key: str,
    ) -> Subscription:
        """Accept and apply an offer; return the subscription as it now is."""

    def decline_offer(
        self,
        verification: Verification,
        offer_id: str,
        caller: Caller,
        idempotency_key: str,
    ) -> None:
        """Record that the customer said no."""

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
        """Cancel (at period end unless ``immediately``); safe to repeat."""

    def reactivate(
        self,
        verification: Verification,
        subscription_id: str,
        caller: Caller,
        idempotency_key: str,
    ) -> Subscription:
        """Undo a cancellation scheduled for period end."""
