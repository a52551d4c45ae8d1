"""What can go wrong when talking to billing, as the conversation sees it.

BillingError
├── BillingUnavailable   billing is down or too slow: say so, keep the request
├── VerificationFailed   the details did not match (or no such account)
├── CustomerLocked       too many failed checks: say when to try again
├── VerificationExpired  the proof of identity ran out: check again
├── NotFound             no such subscription or offer for this customer
├── BillingConflict      not possible in the current state (code says why)
└── BillingRejected      billing refused our request: a bug on our side
"""

from __future__ import annotations

import datetime as dt
from typing import Optional


class BillingError(Exception):
    """Base of every billing failure the actions can handle."""


class BillingUnavailable(BillingError):
    """Billing could not be reached or answered with a server error."""


class VerificationFailed(BillingError):
    """Identity not confirmed; deliberately silent on whether the account exists."""


class CustomerLocked(BillingError):
    """Identity checks are locked for this account until ``locked_until``."""

    def __init__(
        self, locked_until: Optional[dt.datetime], retry_after_seconds: int
    ) -> None:
        super().__init__(f"locked for {retry_after_seconds} s")
        self.locked_until = locked_until
        self.retry_after_seconds = retry_after_seconds


class VerificationExpired(BillingError):
    """The verification token is missing, invalid or expired."""


class NotFound(BillingError):
    """No such subscription or offer for this customer."""


class BillingConflict(BillingError):
    """The request is not possible now; ``code`` names the reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class BillingRejected(BillingError):
    """Billing refused the request as malformed: a defect on our side."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
