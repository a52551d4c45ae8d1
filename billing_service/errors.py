"""The API's error answers: an HTTP status, a stable code and a plain message."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the client caused or must handle; never a server fault."""

    status = 400
    code = "invalid_request"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        """Return the JSON body: ``{"error": {"code", "message", ...}}``."""
        return {"error": {"code": self.code, "message": self.message, **self.details}}


class MalformedJson(ApiError):
    code = "malformed_json"


class InvalidRequest(ApiError):
    status = 422
    code = "invalid_request"


class IdempotencyKeyRequired(ApiError):
    code = "idempotency_key_required"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class VerificationRequired(ApiError):
    status = 401
    code = "verification_required"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"

    def __init__(self, message: str, code: str = "conflict", **details: Any) -> None:
        super().__init__(message, **details)
        self.code = code


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class AccountLocked(ApiError):
    status = 429
    code = "account_locked"
