"""Identity checks: right and wrong details, no enumeration, a shared lockout."""

from __future__ import annotations

import datetime as dt
import secrets
from concurrent.futures import ThreadPoolExecutor

import jwt

from tests.support.billing import TOKEN_SECRET, BillingService


def verify(billing: BillingService, account: dict, last4: str, channel: str = "web"):
    return billing.call(
        "POST",
        "/v1/verifications",
        key=secrets.token_hex(8),
        json={"account": account, "card_last4": last4, "channel": channel},
    )


def test_the_right_last4_verifies_by_email_phone_or_id(billing: BillingService) -> None:
    customer = billing.new_customer()
    for account in (
        {"email": customer.email.upper()},
        {"phone": customer.phone},
        {"customer_id": customer.id},
    ):
        reply = verify(billing, account, customer.card_last4)
        assert reply.status_code == 200
        body = reply.json()
        assert body["verified"] is True
        assert body["customer_id"] == customer.id
        assert body["first_name"] == "Test"
        claims = jwt.decode(
            body["token"],
            TOKEN_SECRET,
            algorithms=["HS256"],
            audience="gracious-billing",
        )
        assert claims["sub"] == customer.id


def wrong(last4: str) -> str:
    return f"{(int(last4) + 1) % 10_000:04d}"


def test_unknown_account_and_wrong_last4_get_the_same_answer(
    billing: BillingService,
) -> None:
    customer = billing.new_customer()
    wrong_card = verify(billing, {"email": customer.email}, wrong(customer.card_last4))
    unknown = verify(
        billing, {"email": f"nobody-{secrets.token_hex(4)}@example.com"}, "4242"
    )
    assert wrong_card.status_code == unknown.status_code == 200
    assert wrong_card.content == unknown.content == b'{"verified":false}'
    assert wrong_card.headers["content-type"] == unknown.headers["content-type"]


def test_three_failures_lock_the_account_across_channels(
    billing: BillingService,
) -> None:
    customer = billing.new_customer()
    bad = wrong(customer.card_last4)
    # Three different "clients": web by email, SMS by phone, the API by id.
    assert verify(billing, {"email": customer.email}, bad, "web").json() == {
        "verified": False
    }
    assert verify(billing, {"phone": customer.phone}, bad, "sms").json() == {
        "verified": False
    }
    third = verify(billing, {"customer_id": customer.id}, bad, "rest")
    assert third.status_code == 429
    assert third.json()["error"]["code"] == "account_locked"
    assert 0 < int(third.headers["Retry-After"]) <= 900

    # Now even the right last 4 is refused, with the very same kind of answer.
    right = verify(billing, {"email": customer.email}, customer.card_last4, "sms")
    still_wrong = verify(billing, {"phone": customer.phone}, bad, "web")
    assert right.status_code == still_wrong.status_code == 429
    assert right.json()["error"].keys() == still_wrong.json()["error"].keys()
    assert "verified" not in right.text


def test_unknown_accounts_lock_too_so_lockout_reveals_nothing(
    billing: BillingService,
) -> None:
    email = f"ghost-{secrets.token_hex(4)}@example.com"
    answers = [verify(billing, {"email": email}, "1234") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"]["code"] == "account_locked"


def test_the_lock_ends_and_success_clears_the_count(billing: BillingService) -> None:
    customer = billing.new_customer()
    bad = wrong(customer.card_last4)
    for _ in range(3):
        verify(billing, {"email": customer.email}, bad)
    billing.sql(
        "UPDATE lockouts SET locked_until = :past WHERE subject = :subject",
        past=dt.datetime(2000, 1, 1),
        subject=f"customer:{customer.id}",
    )
    # The three failures are still inside the counting window: only the
    # success below can make the next two not lock the account again.
    assert verify(billing, {"email": customer.email}, customer.card_last4).json()[
        "verified"
    ]
    # Two more failures after a success do not lock: the count started again.
    assert verify(billing, {"email": customer.email}, bad).status_code == 200
    assert verify(billing, {"email": customer.email}, bad).status_code == 200


def test_a_token_is_needed_and_must_be_valid(billing: BillingService) -> None:
    customer = billing.new_customer()
    assert billing.call("GET", "/v1/subscriptions").status_code == 401
    forged = jwt.encode(
        {"sub": customer.id, "aud": "gracious-billing", "exp": 4102444800},
        "not-the-secret-" * 3,
        algorithm="HS256",
    )
    expired = jwt.encode(
        {"sub": customer.id, "aud": "gracious-billing", "exp": 946684800},
        TOKEN_SECRET,
        algorithm="HS256",
    )
    for token in (forged, expired, "garbage"):
        reply = billing.call("GET", "/v1/subscriptions", token=token)
        assert reply.status_code == 401
        assert reply.json()["error"]["code"] == "verification_required"


def test_a_customer_cannot_see_another_customers_subscription(
    billing: BillingService,
) -> None:
    ana_like, other = billing.new_customer(), billing.new_customer()
    token = billing.verify(other)
    reply = billing.call(
        "GET", f"/v1/subscriptions/sub_{ana_like.id[4:]}_1", token=token
    )
    assert reply.status_code == 404


def test_a_burst_of_guesses_is_counted_one_by_one(billing: BillingService) -> None:
    """Twelve wrong checks at once, for an account and for an unknown email:
    only the first two are answered "not verified", every other one is locked."""
    customer = billing.new_customer()
    for account, last4 in (
        ({"email": customer.email}, wrong(customer.card_last4)),
        ({"email": f"burst-{secrets.token_hex(4)}@example.com"}, "1234"),
    ):
        with ThreadPoolExecutor(max_workers=12) as pool:
            guesses = [pool.submit(verify, billing, account, last4) for _ in range(12)]
            answers = [guess.result() for guess in guesses]
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200] * 2 + [429] * 10, statuses
