"""Request bodies, validated strictly: wrong types are refused, not coerced."""

from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, Extra, Field, StrictStr, root_validator

CHANNEL = r"^(web|sms|rest|api|agent)$"
EMAIL = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$"
E164 = r"^\+[1-9][0-9]{6,14}$"


class Strict(BaseModel):
    class Config:
        extra = Extra.forbid


class WriteContext(Strict):
    """Where a write comes from, for the event log."""

    channel: StrictStr = Field("api", regex=CHANNEL)
    conversation_id: Optional[StrictStr] = Field(None, min_length=1, max_length=128)


class AccountRef(Strict):
    """Exactly one way of naming an account."""

    email: Optional[StrictStr] = Field(None, max_length=254, regex=EMAIL)
    phone: Optional[StrictStr] = Field(None, regex=E164)
    customer_id: Optional[StrictStr] = Field(None, min_length=1, max_length=40)

    @root_validator(skip_on_failure=True)
    def _exactly_one(cls, values: dict[str, Any]) -> dict[str, Any]:
        given = [name for name, value in values.items() if value is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of email, phone or customer_id")
        return values


class VerificationRequest(WriteContext):
    account: AccountRef
    card_last4: StrictStr = Field(..., regex=r"^[0-9]{4}$")


class OfferRequest(WriteContext):
    reason: Optional[StrictStr] = Field(None, max_length=500)


class CancelRequest(WriteContext):
    when: StrictStr = Field("period_end", regex=r"^(period_end|immediately)$")
    reason: Optional[StrictStr] = Field(None, max_length=500)


class DecisionRequest(WriteContext):
    """Accepting, declining, reactivating: nothing but the context."""
