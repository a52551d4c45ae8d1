"""The bot's billing client against the real service, and against outages."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest

from bot.billing import (
    AccountRef,
    BillingConflict,
    BillingUnavailable,
    Caller,
    CustomerLocked,
    HttpBillingClient,
    NotFound,
    Verification,
    VerificationExpired,
    VerificationFailed,
)
from scripts.processes import free_port
from tests.support.billing import API_KEY, BillingService
from tests.support.fake_http import ScriptedServer
from tests.support.proxy import CuttableProxy

SMS = Caller(channel="sms", conversation_id="+15550001111")


def key() -> str:
    return secrets.token_hex(8)


@pytest.fixture
def client(billing: BillingService):
    client = HttpBillingClient(billing.url, API_KEY)
    yield client
    client.close()


def test_a_whole_cancellation_through_the_client(
    billing: BillingService, client
) -> None:
    customer = billing.new_customer("premium-monthly")
    verification = client.verify(
        AccountRef("phone", customer.phone), customer.card_last4, SMS, key()
    )
    assert verification.customer_id == customer.id and verification.first_name == "Test"

    [subscription] = client.subscriptions(verification)
    assert (
        subscription.plan_name == "Premium" and str(subscription.price) == "15.00 USD"
    )
    offer = client.retention_offer(verification, subscription.id, SMS, key())
    assert offer is not None and offer.kind == "discount"
    client.decline_offer(verification, offer.id, SMS, key())
    assert client.retention_offer(verification, subscription.id, SMS, key()) is None

    cancel_key = key()
    receipt = client.cancel(verification, subscription.id, SMS, cancel_key)
    assert receipt.confirmation_code.startswith("GR-")
    assert receipt.effective_date == subscription.current_period_end
    assert (
        str(receipt.cancelled_charge) == "15.00 USD" and not receipt.already_cancelled
    )
    assert client.cancel(verification, subscription.id, SMS, cancel_key) == receipt
    again = client.cancel(verification, subscription.id, SMS, key())
    assert (
        again.already_cancelled and again.confirmation_code == receipt.confirmation_code
    )

    status = client.subscription(verification, subscription.id)
    assert (
        status.cancel_at_period_end
        and status.confirmation_code == receipt.confirmation_code
    )
    back = client.reactivate(verification, subscription.id, SMS, key())
    assert back.status == "active" and not back.cancel_at_period_end


def test_errors_arrive_as_the_documented_exceptions(
    billing: BillingService, client
) -> None:
    customer = billing.new_customer("premium-yearly")
    wrong = f"{(int(customer.card_last4) + 1) % 10_000:04d}"
    with pytest.raises(VerificationFailed):
        client.verify(AccountRef("email", customer.email), wrong, SMS, key())
    with pytest.raises(VerificationFailed):
        client.verify(AccountRef("email", "nobody@example.com"), "1234", SMS, key())

    verification = client.verify(
        AccountRef("customer_id", customer.id), customer.card_last4, SMS, key()
    )
    with pytest.raises(NotFound):
        client.subscription(verification, "sub_not_mine")
    with pytest.raises(BillingConflict) as conflict:
        client.cancel(
            verification, f"sub_{customer.id[4:]}_1", SMS, key(), immediately=True
        )
    assert conflict.value.code == "immediate_cancel_not_allowed"

    stale = Verification(
        customer.id, "Test", "not-a-token", dt.datetime.now(dt.timezone.utc)
    )
    with pytest.raises(VerificationExpired):
        client.subscriptions(stale)

    # The success above reset the count: two more failures, then the third locks.
    for _ in range(2):
        with pytest.raises(VerificationFailed):
            client.verify(AccountRef("email", customer.email), wrong, SMS, key())
    with pytest.raises(CustomerLocked):
        client.verify(AccountRef("phone", customer.phone), wrong, SMS, key())
    with pytest.raises(CustomerLocked) as locked:
        client.verify(
            AccountRef("email", customer.email), customer.card_last4, SMS, key()
        )
    assert 0 < locked.value.retry_after_seconds <= 900
    assert locked.value.locked_until is not None


def test_billing_down_is_reported_as_unavailable() -> None:
    client = HttpBillingClient(f"http://127.0.0.1:{free_port()}", API_KEY, retries=1)
    with pytest.raises(BillingUnavailable):
        client.verify(AccountRef("email", "ana@example.com"), "4242", SMS, key())


def test_a_stalled_billing_times_out_and_the_write_counts_once(
    billing: BillingService, client
) -> None:
    customer = billing.new_customer("premium-monthly")
    verification = client.verify(
        AccountRef("email", customer.email), customer.card_last4, SMS, key()
    )
    [subscription] = client.subscriptions(verification)
    proxy = CuttableProxy(int(billing.url.rsplit(":", 1)[1]))
    stalled = HttpBillingClient(proxy.url, API_KEY, timeout=(1.0, 0.5), retries=1)
    try:
        cancel_key = key()
        # billing gets the request and its retry; the answers never come back
        with proxy.one_way(), pytest.raises(BillingUnavailable):
            stalled.cancel(verification, subscription.id, SMS, cancel_key)
        # asked again with the same key once the network is back: the first
        # answer, and billing cancelled once, whatever reached it
        receipt = stalled.cancel(verification, subscription.id, SMS, cancel_key)
    finally:
        stalled.close()
        proxy.close()
    assert not receipt.already_cancelled
    assert billing.subscription(customer).cancellation_code == (
        receipt.confirmation_code
    )
    mails = billing.sql("SELECT id FROM outbox WHERE customer_id = :c", c=customer.id)
    cancels = billing.sql(
        "SELECT id FROM events WHERE subscription_id = :s AND type LIKE '%cancel%'",
        s=subscription.id,
    )
    assert len(mails) == 1 and len(cancels) == 1, (mails, cancels)


# A stub only where the real service cannot be made to answer a 503 or a
# 500 on cue: what the client does with such answers.
def test_a_retried_write_sends_the_same_idempotency_key() -> None:
    verified = (
        b'{"verified": true, "customer_id": "c1", "first_name": "Ana", '
        b'"token": "t", "expires_at": "2030-01-01T00:00:00+00:00"}'
    )

    def script(n: int) -> tuple[int, bytes, float]:
        if n == 1:
            return 503, b'{"error": {"code": "x", "message": "busy"}}', 0
        return 200, verified, 0

    with ScriptedServer(script) as server:
        client = HttpBillingClient(server.url, API_KEY, retries=2)
        result = client.verify(
            AccountRef("email", "ana@example.com"), "4242", SMS, "key-1"
        )
        assert result.first_name == "Ana"
        assert [r["idempotency-key"] for r in server.requests] == ["key-1", "key-1"]
        assert all(r["authorization"] == f"Bearer {API_KEY}" for r in server.requests)


def test_a_server_error_that_persists_is_unavailable_not_a_crash() -> None:
    with ScriptedServer(lambda n: (500, b"<html>oops</html>", 0)) as server:
        client = HttpBillingClient(server.url, API_KEY, retries=0)
        with pytest.raises(BillingUnavailable):
            client.verify(AccountRef("email", "ana@example.com"), "4242", SMS, key())
