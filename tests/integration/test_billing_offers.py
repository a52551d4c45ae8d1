"""The retention offer policy: at most one, the right one, or none."""

from __future__ import annotations

import datetime as dt
import secrets

from tests.support.billing import BillingService


def evaluate(billing: BillingService, token: str, subscription: str, **body):
    return billing.call(
        "POST",
        f"/v1/subscriptions/{subscription}/retention-offer",
        key=secrets.token_hex(8),
        token=token,
        json=body,
    )


def decide(billing: BillingService, token: str, offer_id: str, decision: str):
    return billing.call(
        "POST",
        f"/v1/retention-offers/{offer_id}/{decision}",
        key=secrets.token_hex(8),
        token=token,
        json={},
    )


def first_sub(customer) -> str:
    return f"sub_{customer.id[4:]}_1"


def test_the_reason_chooses_the_offer(billing: BillingService) -> None:
    expected = {
        None: "discount",
        "It's too expensive": "downgrade",
        "I'm travelling for a while": "pause",
    }
    for reason, kind in expected.items():
        customer = billing.new_customer("premium-monthly")
        token = billing.verify(customer)
        reply = evaluate(billing, token, first_sub(customer), reason=reason)
        assert reply.status_code == 201, reply.text
        assert reply.json()["offer"]["kind"] == kind


def test_a_discount_states_its_exact_terms(billing: BillingService) -> None:
    customer = billing.new_customer("premium-monthly")
    token = billing.verify(customer)
    terms = evaluate(billing, token, first_sub(customer)).json()["offer"]["terms"]
    assert terms["percent_off"] == 50 and terms["months"] == 3
    assert terms["price_cents"] == 1500 and terms["discounted_price_cents"] == 750
    assert terms["plan_name"] == "Premium" and terms["currency"] == "USD"


def test_no_offer_after_an_offer_was_accepted_this_year(
    billing: BillingService,
) -> None:
    customer = billing.new_customer("premium-yearly", accepted_offer_days_ago=30)
    token = billing.verify(customer)
    reply = evaluate(billing, token, first_sub(customer))
    assert reply.status_code == 200
    assert reply.json() == {"offer": None, "reason": "recently_accepted"}


def test_one_offer_per_cancellation(billing: BillingService) -> None:
    customer = billing.new_customer()
    token = billing.verify(customer)
    first = evaluate(billing, token, first_sub(customer), conversation_id="c1").json()[
        "offer"
    ]
    again = evaluate(billing, token, first_sub(customer), conversation_id="c1").json()
    assert (
        again["offer"]["id"] == first["id"] and again["reason"] == "already_presented"
    )

    assert decide(billing, token, first["id"], "decline").status_code == 200
    after_no = evaluate(billing, token, first_sub(customer), conversation_id="c1")
    assert after_no.json() == {"offer": None, "reason": "already_declined"}
    # A new conversation the same day is still the same cancellation.
    other_chat = evaluate(billing, token, first_sub(customer), conversation_id="c2")
    assert other_chat.json()["offer"] is None
    count = billing.sql(
        "SELECT count(*) FROM retention_offers WHERE subscription_id = :s",
        s=first_sub(customer),
    )
    assert count[0][0] == 1


def test_accepting_applies_the_offer_and_the_answer_is_final(
    billing: BillingService,
) -> None:
    customer = billing.new_customer()
    token = billing.verify(customer)
    offer = evaluate(billing, token, first_sub(customer)).json()["offer"]
    accepted = decide(billing, token, offer["id"], "accept")
    assert accepted.status_code == 200
    subscription = accepted.json()["subscription"]
    assert subscription["discount"]["percent_off"] == 50
    assert subscription["status"] == "active"
    assert subscription["next_charge"]["amount_cents"] == 750

    assert decide(billing, token, offer["id"], "accept").status_code == 200
    flip = decide(billing, token, offer["id"], "decline")
    assert (
        flip.status_code == 409
        and flip.json()["error"]["code"] == "offer_already_decided"
    )
    later = evaluate(billing, token, first_sub(customer), conversation_id="later")
    assert later.json() == {"offer": None, "reason": "recently_accepted"}


def test_a_pause_pauses_and_no_offer_once_cancelling(billing: BillingService) -> None:
    customer = billing.new_customer()
    token = billing.verify(customer)
    offer = evaluate(
        billing, token, first_sub(customer), reason="going on a trip"
    ).json()["offer"]
    paused = decide(billing, token, offer["id"], "accept").json()["subscription"]
    assert paused["status"] == "paused"
    assert paused["paused_until"] == offer["terms"]["resumes_on"]

    other = billing.new_customer()
    other_token = billing.verify(other)
    billing.call(
        "POST",
        f"/v1/subscriptions/{first_sub(other)}/cancel",
        key=secrets.token_hex(8),
        token=other_token,
        json={},
    )
    none = evaluate(billing, other_token, first_sub(other))
    assert none.json() == {"offer": None, "reason": "not_active"}


def test_demo_customers_are_seeded_as_documented(billing: BillingService) -> None:
    rows = billing.sql(
        "SELECT c.email, c.phone, c.card_last4, count(s.id) AS subs "
        "FROM customers c JOIN subscriptions s ON s.customer_id = c.id "
        "WHERE c.email IN ('ana@example.com', 'ben@example.com', "
        "'cara@example.com') GROUP BY c.email, c.phone, c.card_last4 "
        "ORDER BY c.email"
    )
    assert [tuple(r) for r in rows] == [
        ("ana@example.com", "+15555550100", "4242", 1),
        ("ben@example.com", "+15555550101", "1881", 2),
        ("cara@example.com", "+15555550102", "0005", 1),
    ]


def test_one_offer_per_cancellation_across_the_customers_plans(
    billing: BillingService,
) -> None:
    """A second plan used to get an offer of its own in the same conversation,
    and both could be accepted."""
    customer = billing.new_customer("premium-monthly", "family-addon-monthly")
    token = billing.verify(customer)
    first = evaluate(billing, token, first_sub(customer), conversation_id="c1")
    assert first.status_code == 201
    second = evaluate(billing, token, f"sub_{customer.id[4:]}_2", conversation_id="c1")
    assert second.json() == {"offer": None, "reason": "already_offered"}
    # the first is still the one on the table
    again = evaluate(billing, token, first_sub(customer), conversation_id="c1")
    assert again.json()["reason"] == "already_presented"


def backdate(billing: BillingService, offer_id: str, days: int) -> None:
    billing.sql(
        "UPDATE retention_offers SET presented_at = :t WHERE id = :o",
        t=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        - dt.timedelta(days=days),
        o=offer_id,
    )


def test_an_offer_left_unanswered_lapses_and_only_one_is_ever_taken(
    billing: BillingService,
) -> None:
    customer = billing.new_customer()
    token = billing.verify(customer)
    old = evaluate(billing, token, first_sub(customer), conversation_id="a").json()
    backdate(billing, old["offer"]["id"], days=2)
    new = evaluate(
        billing, token, first_sub(customer), conversation_id="b", reason="too pricey"
    ).json()
    assert new["offer"]["id"] != old["offer"]["id"]
    lapsed = decide(billing, token, old["offer"]["id"], "accept")
    assert lapsed.status_code == 409
    assert lapsed.json()["error"]["code"] == "offer_expired"
    assert decide(billing, token, new["offer"]["id"], "accept").status_code == 200
    # the old one cannot be taken beside it, even were it fresh
    backdate(billing, old["offer"]["id"], days=0)
    twice = decide(billing, token, old["offer"]["id"], "accept")
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "recently_accepted"


def test_an_accepted_downgrade_answers_with_the_plan_it_moves_to(
    billing: BillingService,
) -> None:
    """The answer (kept for replays of its key) used to show no pending plan."""
    customer = billing.new_customer()
    token = billing.verify(customer)
    offer = evaluate(billing, token, first_sub(customer), reason="too expensive")
    assert offer.json()["offer"]["kind"] == "downgrade"
    key = secrets.token_hex(8)
    path = f"/v1/retention-offers/{offer.json()['offer']['id']}/accept"
    answers = [
        billing.call("POST", path, key=key, token=token, json={}) for _ in range(2)
    ]
    for answer in answers:
        subscription = answer.json()["subscription"]
        assert subscription["pending_plan"]["id"] == "basic-monthly", subscription
    assert answers[0].json() == answers[1].json()
