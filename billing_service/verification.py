"""Identity checks by card last 4, with a lockout shared by every channel.

Failures are counted per subject: the account when the identifier names one,
otherwise the identifier itself (hashed). Unknown identifiers therefore lock
exactly like real accounts, so neither the answers nor the lockout reveal
whether an account exists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any, Optional

import jwt
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .errors import VerificationRequired
from .payloads import AccountRef, VerificationRequest
from .schema import Customer, Lockout, VerificationFailure, utcnow
from .settings import Settings

NOT_VERIFIED: dict[str, Any] = {"verified": False}
TOKEN_AUDIENCE = "gracious-billing"
# Compared against when no account matches, so both paths do the same work.
_NO_CARD = "\x00\x00\x00\x00"
NEVER_LOCKED = dt.datetime(1970, 1, 1)


def find_customer(session: Session, account: AccountRef) -> Optional[Customer]:
    """Return the customer the identifier names, locked for this transaction."""
    if account.email is not None:
        condition = Customer.email == account.email.strip().lower()
    elif account.phone is not None:
        condition = Customer.phone == account.phone
    else:
        condition = Customer.id == account.customer_id
    query = select(Customer).where(condition).with_for_update()
    return session.execute(query).scalar_one_or_none()


def _subject(account: AccountRef, customer: Optional[Customer]) -> str:
    if customer is not None:
        return f"customer:{customer.id}"
    name = account.email.strip().lower() if account.email else account.phone
    name = name or f"id:{account.customer_id}"
    return "identifier:" + hashlib.sha256(name.encode()).hexdigest()[:40]


def _locked_until(
    session: Session, subject: str, now: dt.datetime
) -> Optional[dt.datetime]:
    """Return the subject's lock end, if locked; hold its row until commit.

    Holding the row (created unlocked if missing) makes concurrent checks of
    one subject wait for each other on PostgreSQL, so a burst of guesses is
    counted one by one and cannot slip a 4th try past the limit. Known
    accounts are also serialised by their customer row; this covers unknown
    identifiers the same way.
    """
    lockout = session.get(Lockout, subject, with_for_update=True)
    if lockout is None:
        try:
            with session.begin_nested():
                session.add(Lockout(subject=subject, locked_until=NEVER_LOCKED))
        except IntegrityError:
            pass  # a concurrent check made it first; wait for its row below
        lockout = session.get(
            Lockout, subject, with_for_update=True, populate_existing=True
        )
    if lockout is not None and lockout.locked_until > now:
        return lockout.locked_until
    return None


def _locked_answer(until: dt.datetime, now: dt.datetime) -> tuple[int, dict[str, Any]]:
    retry_after = max(1, int((until - now).total_seconds()))
    return 429, {
        "error": {
            "code": "account_locked",
            "message": "Too many failed checks. Try again later.",
            "locked_until": until.replace(tzinfo=dt.timezone.utc).isoformat(),
            "retry_after_seconds": retry_after,
        }
    }


def _record_failure(
    session: Session, settings: Settings, subject: str, channel: str, now: dt.datetime
) -> Optional[dt.datetime]:
    """Count a failure; return the lock's end if this one crossed the limit."""
    window_start = now - dt.timedelta(seconds=settings.lockout_window_seconds)
    session.execute(
        delete(VerificationFailure).where(
            VerificationFailure.subject == subject,
            VerificationFailure.failed_at < window_start,
        )
    )
    session.add(VerificationFailure(subject=subject, failed_at=now, channel=channel))
    session.flush()
    recent = session.execute(
        select(func.count()).where(
            VerificationFailure.subject == subject,
            VerificationFailure.failed_at >= window_start,
        )
    ).scalar_one()
    if recent < settings.lockout_max_failures:
        return None
    until = now + dt.timedelta(seconds=settings.lockout_seconds)
    session.merge(Lockout(subject=subject, locked_until=until))
    return until


def verify_identity(
    session: Session, settings: Settings, request: VerificationRequest
) -> tuple[int, dict[str, Any]]:
    """Check the card's last 4 for an account; answer verified, not, or locked."""
    now = utcnow()
    customer = find_customer(session, request.account)
    subject = _subject(request.account, customer)
    locked_until = _locked_until(session, subject, now)
    if locked_until is not None:
        return _locked_answer(locked_until, now)

    on_file = customer.card_last4 if customer is not None else _NO_CARD
    matches = hmac.compare_digest(on_file.encode(), request.card_last4.encode())
    if customer is None or not matches:
        locked_until = _record_failure(session, settings, subject, request.channel, now)
        if locked_until is not None:
            return _locked_answer(locked_until, now)
        return 200, dict(NOT_VERIFIED)

    session.execute(
        delete(VerificationFailure).where(VerificationFailure.subject == subject)
    )
    session.execute(delete(Lockout).where(Lockout.subject == subject))
    expires = now + dt.timedelta(seconds=settings.token_ttl_seconds)
    return 200, {
        "verified": True,
        "customer_id": customer.id,
        "first_name": customer.first_name,
        "token": issue_token(settings, customer.id, now, expires),
        "expires_at": expires.replace(tzinfo=dt.timezone.utc).isoformat(),
    }


def issue_token(
    settings: Settings, customer_id: str, now: dt.datetime, expires: dt.datetime
) -> str:
    """Return a signed, short-lived proof that ``customer_id`` was verified."""
    claims = {
        "sub": customer_id,
        "aud": TOKEN_AUDIENCE,
        "iat": int(now.replace(tzinfo=dt.timezone.utc).timestamp()),
        "exp": int(expires.replace(tzinfo=dt.timezone.utc).timestamp()),
    }
    return jwt.encode(claims, settings.token_secret.reveal(), algorithm="HS256")


def verified_customer_id(
    settings: Settings, token: Optional[str], leeway: int = 0
) -> str:
    """Return the customer a verification token proves, or raise if none.

    ``leeway``: seconds past its expiry that the token still counts.
    """
    if not token:
        raise VerificationRequired("Verify the customer's identity first.")
    try:
        claims = jwt.decode(
            token,
            settings.token_secret.reveal(),
            algorithms=["HS256"],
            audience=TOKEN_AUDIENCE,
            leeway=leeway,
            options={"require": ["sub", "exp", "aud"]},
        )
    except jwt.PyJWTError:
        raise VerificationRequired(
            "The verification token is missing, invalid or expired."
        ) from None
    return str(claims["sub"])
