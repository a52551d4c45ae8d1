"""Cancelling, reactivating, idempotent writes, and the audit trail."""

from __future__ import annotations

import datetime as dt
import secrets
from concurrent.futures import ThreadPoolExecutor

from tests.support.billing import BillingService


def sub_id(customer, number: int = 1) -> str:
    return f"sub_{customer.id[4:]}_{number}"


def cancel(
    billing: BillingService,
    token: str,
    subscription: str,
    key: str | None = None,
    **body,
):
    return billing.call(
        "POST",
        f"/v1/subscriptions/{subscription}/cancel",
        key=key or secrets.token_hex(8),
        token=token,
        json=body,
    )


def test_cancel_at_period_end_gives_a_receipt_and_an_email(
    billing: BillingService,
) -> None:
    customer = billing.new_customer("premium-monthly")
    token = billing.verify(customer)
    before = billing.call(
        "GET", f"/v1/subscriptions/{sub_id(customer)}", token=token
    ).json()

    reply = cancel(
        billing, token, sub_id(customer), channel="sms", conversation_id="conv-1"
    )

    assert reply.status_code == 201
    receipt = reply.json()
    assert (
        receipt["confirmation_code"].startswith("GR-")
        and len(receipt["confirmation_code"]) == 9
    )
    assert receipt["effective_date"] == before["current_period_end"][:10]
    assert (
        receipt["immediate"] is False
        and receipt["reversible_until"] == receipt["effective_date"]
    )
    assert receipt["charges"]["further_charges"] is False
    assert receipt["charges"]["cancelled_charge"] == {
        "amount_cents": 1500,
        "currency": "USD",
        "would_have_been_on": receipt["effective_date"],
    }
    after = billing.call(
        "GET", f"/v1/subscriptions/{sub_id(customer)}", token=token
    ).json()
    assert after["status"] == "active" and after["cancel_at_period_end"] is True
    assert after["next_charge"] is None
    mail = billing.sql(
        "SELECT to_email, subject, body FROM outbox WHERE customer_id = :c",
        c=customer.id,
    )
    assert len(mail) == 1
    assert mail[0].to_email == customer.email
    assert receipt["confirmation_code"] in mail[0].body


def test_cancelling_twice_is_safe(billing: BillingService) -> None:
    customer = billing.new_customer()
    token = billing.verify(customer)
    first = cancel(billing, token, sub_id(customer), key="same-key")
    replay = cancel(billing, token, sub_id(customer), key="same-key")
    again = cancel(billing, token, sub_id(customer))  # a new key: a second request
    assert replay.status_code == first.status_code == 201
    assert replay.json() == first.json()
    assert again.status_code == 200 and again.json()["already_cancelled"] is True
    assert again.json()["confirmation_code"] == first.json()["confirmation_code"]
    assert (
        len(billing.sql("SELECT id FROM outbox WHERE customer_id = :c", c=customer.id))
        == 1
    )


def test_a_key_reused_for_another_request_is_a_conflict(
    billing: BillingService,
) -> None:
    customer = billing.new_customer()
    token = billing.verify(customer)
    assert (
        cancel(
            billing, token, sub_id(customer), key="k-reuse", channel="web"
        ).status_code
        == 201
    )
    reused = cancel(billing, token, sub_id(customer), key="k-reuse", channel="sms")
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"


def test_concurrent_cancels_with_one_key_act_once(billing: BillingService) -> None:
    customer = billing.new_customer()
    token = billing.verify(customer)
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(
            pool.map(
                lambda _: cancel(billing, token, sub_id(customer), key="race-key"),
                range(6),
            )
        )
    assert {r.status_code for r in replies} == {201}
    assert len({r.text for r in replies}) == 1
    events = billing.sql(
        "SELECT type FROM events WHERE subscription_id = :s", s=sub_id(customer)
    )
    assert [e.type for e in events] == ["subscription.cancellation_scheduled"]


def test_concurrent_cancels_with_different_keys_give_one_code(
    billing: BillingService,
) -> None:
    customer = billing.new_customer()
    token = billing.verify(customer)
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(
            pool.map(lambda _: cancel(billing, token, sub_id(customer)), range(4))
        )
    assert sorted(r.status_code for r in replies) == [200, 200, 200, 201]
    assert len({r.json()["confirmation_code"] for r in replies}) == 1


def test_writes_need_an_idempotency_key(billing: BillingService) -> None:
    customer = billing.new_customer()
    token = billing.verify(customer)
    for key in (None, "", "has space", "x" * 256):
        headers = {} if key is None else {"Idempotency-Key": key}
        reply = billing.call(
            "POST",
            f"/v1/subscriptions/{sub_id(customer)}/cancel",
            token=token,
            json={},
            headers=headers,
        )
        assert reply.status_code == 400, key
        assert reply.json()["error"]["code"] == "idempotency_key_required"


def test_immediate_cancel_where_the_plan_allows(billing: BillingService) -> None:
    monthly = billing.new_customer("premium-monthly")
    token = billing.verify(monthly)
    receipt = cancel(billing, token, sub_id(monthly), when="immediately").json()
    assert receipt["immediate"] is True and receipt["reversible_until"] is None
    assert (
        receipt["effective_date"] == dt.datetime.now(dt.timezone.utc).date().isoformat()
    )
    status = billing.call(
        "GET", f"/v1/subscriptions/{sub_id(monthly)}", token=token
    ).json()
    assert status["status"] == "canceled"

    yearly = billing.new_customer("premium-yearly")
    token = billing.verify(yearly)
    refused = cancel(billing, token, sub_id(yearly), when="immediately")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "immediate_cancel_not_allowed"
    assert cancel(billing, token, sub_id(yearly)).status_code == 201


def test_reactivate_before_the_end_date_only(billing: BillingService) -> None:
    customer = billing.new_customer()
    token = billing.verify(customer)
    path = f"/v1/subscriptions/{sub_id(customer)}/reactivate"
    not_cancelled = billing.call(
        "POST", path, key=secrets.token_hex(8), token=token, json={}
    )
    assert not_cancelled.status_code == 409
    assert not_cancelled.json()["error"]["code"] == "not_cancelled"

    cancel(billing, token, sub_id(customer))
    back = billing.call("POST", path, key=secrets.token_hex(8), token=token, json={})
    assert back.status_code == 200
    assert back.json()["subscription"]["status"] == "active"
    assert back.json()["subscription"]["cancel_at_period_end"] is False
    assert back.json()["subscription"]["cancellation"] is None

    cancel(billing, token, sub_id(customer))
    billing.sql(
        "UPDATE subscriptions SET cancellation_effective_at = :past, "
        "current_period_end = :past WHERE id = :s",
        past=dt.datetime(2020, 1, 1),
        s=sub_id(customer),
    )
    too_late = billing.call(
        "POST", path, key=secrets.token_hex(8), token=token, json={}
    )
    assert too_late.status_code == 409
    assert too_late.json()["error"]["code"] == "cannot_reactivate"
    ended = billing.call(
        "GET", f"/v1/subscriptions/{sub_id(customer)}", token=token
    ).json()
    assert ended["status"] == "canceled"


def test_the_event_log_tells_who_did_what_when_and_where(
    billing: BillingService,
) -> None:
    customer = billing.new_customer()
    token = billing.verify(customer)
    offer = billing.call(
        "POST",
        f"/v1/subscriptions/{sub_id(customer)}/retention-offer",
        key=secrets.token_hex(8),
        token=token,
        json={"channel": "sms", "conversation_id": "c-42"},
    ).json()["offer"]
    billing.call(
        "POST",
        f"/v1/retention-offers/{offer['id']}/decline",
        key=secrets.token_hex(8),
        token=token,
        json={"channel": "sms", "conversation_id": "c-42"},
    )
    cancel(billing, token, sub_id(customer), channel="sms", conversation_id="c-42")
    billing.call(
        "POST",
        f"/v1/subscriptions/{sub_id(customer)}/reactivate",
        key=secrets.token_hex(8),
        token=token,
        json={"channel": "web"},
    )

    log = billing.call("GET", f"/v1/subscriptions/{sub_id(customer)}/events").json()[
        "events"
    ]
    assert [e["type"] for e in log] == [
        "retention_offer.presented",
        "retention_offer.declined",
        "subscription.cancellation_scheduled",
        "subscription.reactivated",
    ]
    assert {e["actor"] for e in log} == {f"customer:{customer.id}"}
    assert [e["channel"] for e in log] == ["sms", "sms", "sms", "web"]
    assert log[2]["conversation_id"] == "c-42" and log[2]["data"]["confirmation_code"]
    assert all(e["occurred_at"].endswith("+00:00") for e in log)
    assert billing.call("GET", "/v1/subscriptions/sub_nope/events").status_code == 404
