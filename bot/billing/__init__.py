"""Billing, as the conversation needs it: an interface, its errors, a client.

The actions depend on ``BillingBackend`` only. ``HttpBillingClient`` talks to
the Gracious billing API (our reference service); another billing system
(Stripe, Chargebee, a company's own API) is one more module implementing the
same interface.
"""

from .backend import BillingBackend
from .errors import (
    BillingConflict,
    BillingError,
    BillingRejected,
    BillingUnavailable,
    CustomerLocked,
    NotFound,
    VerificationExpired,
    VerificationFailed,
)
from .http import HttpBillingClient
from .models import (
    AccountRef,
    Caller,
    CancellationReceipt,
    Money,
    RetentionOffer,
    Subscription,
    Verification,
)

__all__ = [
    "AccountRef",
    "BillingBackend",
    "BillingConflict",
    "BillingError",
    "BillingRejected",
    "BillingUnavailable",
    "Caller",
    "CancellationReceipt",
    "CustomerLocked",
    "HttpBillingClient",
    "Money",
    "NotFound",
    "RetentionOffer",
    "Subscription",
    "Verification",
    "VerificationExpired",
    "VerificationFailed",
]
