"""The request flow against the real billing service, without Rasa."""

from __future__ import annotations

import dataclasses
import secrets

import pytest

from bot import replies
from bot.billing import AccountRef, Caller, HttpBillingClient
from bot.flow import (
    ANSWER_OFFER,
    CHOOSE,
    DONE,
    IDENTIFY,
    STOP,
    Request,
    carry_out,
    offer_from_slot,
    verification_from_slot,
)
from scripts.processes import free_port
from tests.support.billing import API_KEY, BillingService
from tests.support.plans import cancelled_in


@pytest.fixture
def client(billing: BillingService):
    client = HttpBillingClient(billing.url, API_KEY, retries=0)
    yield client
    client.close()


def request_for(customer, **changes) -> Request:
    base = Request(
        goal="cancel",
        caller=Caller("web", "conv-" + secrets.token_hex(4)),
        turn=secrets.token_hex(4),
        channel_identity=AccountRef("customer_id", customer.id),
        card_last4=customer.card_last4,
    )
    return dataclasses.replace(base, **changes)


def texts(outcome) -> str:
    return "\n".join(reply.text for reply in outcome.replies)


def test_nothing_happens_without_identity_details(
    billing: BillingService, client
) -> None:
    customer = billing.new_customer()
    outcome = carry_out(client, request_for(customer, card_last4=None))
    assert outcome.next_step == IDENTIFY and outcome.replies == []
    outcome = carry_out(client, request_for(customer, channel_identity=None))
    assert outcome.next_step == IDENTIFY


def test_wrong_last4_clears_it_and_asks_again(billing: BillingService, client) -> None:
    customer = billing.new_customer()
    wrong = f"{(int(customer.card_last4) + 1) % 10_000:04d}"
    outcome = carry_out(client, request_for(customer, card_last4=wrong))
    assert outcome.next_step == IDENTIFY
    assert outcome.slots["card_last4"] is None and "don't match" in texts(outcome)


def test_a_stopped_request_reads_and_changes_nothing(
    billing: BillingService, client
) -> None:
    customer = billing.new_customer()
    outcome = carry_out(client, request_for(customer, goal=STOP))
    assert texts(outcome) == replies.NOT_CANCELLING[0]
    assert outcome.slots["goal"] is None and "email" not in outcome.slots
    assert (
        billing.sql(
            "SELECT count(*) AS n FROM events WHERE customer_id = :c", c=customer.id
        )[0].n
        == 0
    )
    assert not billing.subscription(customer).cancel_at_period_end


def test_one_offer_then_a_no_cancels(billing: BillingService, client) -> None:
    customer = billing.new_customer()
    first = carry_out(client, request_for(customer))
    assert first.next_step == ANSWER_OFFER and first.slots["offer_made"] is True
    verification = verification_from_slot(first.slots["verified_customer"])
    offer = offer_from_slot(first.slots["offer"])
    assert verification is not None and offer is not None
    second = carry_out(
        client,
        request_for(
            customer,
            verification=verification,
            offer=offer,
            offer_answer="no",
            offer_made=True,
        ),
    )
    assert second.next_step == DONE and "GR-" in texts(second)
    assert second.slots["goal"] is None and second.slots["asked_why"] is True


def test_choice_is_needed_for_two_subscriptions(
    billing: BillingService, client
) -> None:
    customer = billing.new_customer("premium-monthly", "family-addon-monthly")
    outcome = carry_out(client, request_for(customer, no_offers=True))
    assert outcome.next_step == CHOOSE
    assert [o["name"] for o in outcome.slots["subscription_options"]] == [
        "Premium",
        "Family add-on",
    ]


@pytest.mark.parametrize(
    "words, plan",
    [
        ("cancel my premium plan", "Premium"),
        ("cancel the family add-on but keep premium", "Family add-on"),
        ("cancel the cheaper one", "Family add-on"),
        ("end the more expensive plan", "Premium"),
        # "all" in passing used to end both
        ("cancel my premium, I've tried all the plans", "Premium"),
        ("cancel all my plans except premium", "Family add-on"),
    ],
)
def test_a_plan_named_in_the_request_is_the_choice(
    billing: BillingService, client, words: str, plan: str
) -> None:
    customer = billing.new_customer("premium-monthly", "family-addon-monthly")
    outcome = carry_out(client, request_for(customer, no_offers=True, words=words))
    assert outcome.next_step == DONE and outcome.slots["subscription_options"] is None
    assert texts(outcome).startswith(f"Done. {plan} ")
    premium, add_on = (
        billing.subscription(customer, 1),
        billing.subscription(customer, 2),
    )
    assert bool(premium.cancel_at_period_end) is (plan == "Premium")
    assert bool(add_on.cancel_at_period_end) is (plan == "Family add-on")


@pytest.mark.parametrize("short", [False, True])
def test_cancel_it_now_is_told_why_it_ends_later(
    billing: BillingService, client, short: bool
) -> None:
    customer = billing.new_customer()
    caller = Caller("sms" if short else "web", "conv-" + secrets.token_hex(4))
    words = "cancel it immediately, no offers"
    outcome = carry_out(
        client, request_for(customer, caller=caller, no_offers=True, words=words)
    )
    assert outcome.next_step == DONE
    receipt, why = outcome.replies[0].text, outcome.replies[1].text
    assert receipt.startswith("Done. Premium ")
    assert "not today" in why if short else "rather than today" in why
    row = billing.subscription(customer)
    assert row.status == "active" and bool(row.cancel_at_period_end)
    # a plain request gets no such line
    again = carry_out(client, request_for(billing.new_customer(), no_offers=True))
    assert "today" not in texts(again)


@pytest.mark.parametrize("short", [False, True])
def test_a_refund_asked_for_is_answered(billing: BillingService, client, short) -> None:
    customer = billing.new_customer()
    caller = Caller("sms" if short else "web", "conv-" + secrets.token_hex(4))
    words = "cancel now and refund me for this month, no offers"
    outcome = carry_out(
        client, request_for(customer, caller=caller, no_offers=True, words=words)
    )
    receipt, refund = outcome.replies[0].text, outcome.replies[1].text
    assert receipt.startswith("Done. Premium ")
    assert refund.startswith("No refund" if short else "Nothing is refunded")
    assert "talk to a person" in refund and "today" not in refund
    row = billing.subscription(customer)
    assert row.status == "active" and bool(row.cancel_at_period_end)


def test_keep_my_premium_undoes_only_that_cancellation(
    billing: BillingService, client
) -> None:
    customer = billing.new_customer("premium-monthly", "family-addon-monthly")
    carry_out(client, request_for(customer, no_offers=True, words="cancel both"))
    assert billing.subscription(customer, 1).cancel_at_period_end
    assert billing.subscription(customer, 2).cancel_at_period_end
    words = "I changed my mind, please keep my premium"
    back = carry_out(client, request_for(customer, goal="reactivate", words=words))
    assert texts(back).startswith("Welcome back: Premium continues")
    assert "Family add-on" not in texts(back)
    assert not billing.subscription(customer, 1).cancel_at_period_end
    assert billing.subscription(customer, 2).cancel_at_period_end
    # no plan named: every cancellation that can be undone is
    everything = carry_out(
        client, request_for(customer, goal="reactivate", words="undo it")
    )
    assert "Family add-on continues" in texts(everything)
    assert not billing.subscription(customer, 2).cancel_at_period_end


def test_billing_down_keeps_the_request(billing: BillingService) -> None:
    customer = billing.new_customer()
    down = HttpBillingClient(f"http://127.0.0.1:{free_port()}", API_KEY, retries=0)
    outcome = carry_out(down, request_for(customer))
    assert "isn't answering" in texts(outcome) and outcome.slots == {
        "pending_retry": True
    }


def test_an_expired_verification_asks_for_the_card_again(
    billing: BillingService, client
) -> None:
    customer = billing.new_customer()
    first = carry_out(client, request_for(customer, no_offers=True, goal="status"))
    stale = dataclasses.replace(
        verification_from_slot(first.slots["verified_customer"]),
        token="expired-or-forged",
    )
    outcome = carry_out(
        client, request_for(customer, verification=stale, card_last4=None)
    )
    assert outcome.next_step == IDENTIFY and "confirm the last 4 digits" in texts(
        outcome
    )
    assert outcome.slots["verified_customer"] is None


@pytest.mark.parametrize("conversation", ["Jane Doe", "josé", "x" * 128])
def test_any_sender_id_can_verify_and_cancel(
    billing: BillingService, client, conversation: str
) -> None:
    """Billing takes printable ASCII keys only: a REST sender id with a space
    or an accent used to be refused every write."""
    customer = billing.new_customer()
    request = request_for(customer, caller=Caller("rest", conversation), no_offers=True)
    outcome = carry_out(client, request)
    assert "is cancelled" in texts(outcome), texts(outcome)
    assert billing.subscription(customer).cancel_at_period_end


@pytest.mark.parametrize(
    "answer, cancelled",
    [
        ("no", (True, False)),
        ("no thanks, cancel premium", (True, False)),
        # it used to cancel the plan offered whatever the answer named
        ("no, cancel the family add-on instead", (False, True)),
        ("no, cancel both", (True, True)),
    ],
)
def test_a_no_to_the_offer_may_name_other_plans(
    billing: BillingService, client, answer: str, cancelled: tuple[bool, bool]
) -> None:
    customer = billing.new_customer("premium-monthly", "family-addon-monthly")
    words = "cancel my premium plan"
    first = carry_out(client, request_for(customer, words=words))
    assert first.next_step == ANSWER_OFFER
    offer = offer_from_slot(first.slots["offer"])
    assert offer is not None and offer.subscription_id.endswith("_1")
    second = carry_out(
        client,
        request_for(
            customer,
            words=words,
            verification=verification_from_slot(first.slots["verified_customer"]),
            offer=offer,
            offer_answer="no",
            offer_made=True,
            answer=answer,
        ),
    )
    assert second.next_step == DONE and "GR-" in texts(second)
    assert cancelled_in(billing, customer) == cancelled
