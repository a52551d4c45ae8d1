"""Nothing about an account before verification; failures reveal nothing."""

from __future__ import annotations

import re

from tests.support.stack import Stack


def wrong(last4: str) -> str:
    return f"{(int(last4) + 1) % 10_000:04d}"


def test_wrong_details_and_unknown_accounts_get_the_same_answer(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    known = stack.chat()
    known.say("I want to cancel my subscription")
    known.say(customer.email)
    wrong_card = known.say(wrong(customer.card_last4))

    unknown = stack.chat()
    unknown.say("I want to cancel my subscription")
    unknown.say("nobody-at-all@example.com")
    no_account = unknown.say("4242")

    assert wrong_card == no_account
    assert "don't match our records" in wrong_card
    assert "Premium" not in wrong_card and "Test" not in wrong_card


def test_nothing_is_revealed_or_changed_before_verification(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    first = chat.say("is my subscription cancelled?")
    assert "last 4 digits" in first and "Premium" not in first
    assert "Premium: active, renews on" in chat.say(customer.card_last4)
    log = stack.billing.sql(
        "SELECT type FROM events WHERE customer_id = :c", c=customer.id
    )
    assert log == []


def test_lockout_says_when_to_try_and_offers_a_person(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    chat.say("cancel my subscription")
    bad = wrong(customer.card_last4)
    assert "don't match" in chat.say(bad)
    assert "don't match" in chat.say(bad), stack.transcript(chat)
    locked = chat.say(bad)
    assert re.search(r"try again in 1[45] minutes", locked), stack.transcript(chat)
    assert "talk to a person" in locked

    # The lock is billing's, per account: another conversation, by email
    # this time, is refused too, even with the right card.
    other = stack.chat()
    other.say("cancel my subscription")
    other.say(customer.email)
    assert "try again in" in other.say(customer.card_last4)
    assert not stack.billing.subscription(customer).cancel_at_period_end


def test_an_untrusted_identity_claim_is_ignored(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    asked = chat.say("cancel my subscription", trusted=False)
    assert "email" in asked  # treated as anonymous


def test_a_full_card_number_is_never_kept(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    chat.say("cancel my subscription")
    warned = chat.say("sure, it's 4000 0566 5566 5556")
    assert "share only the last 4 digits" in warned
    assert "of the card you pay with? Just 4 digits." in warned  # asked again, reworded
    done = chat.say(customer.card_last4)
    assert "Before you go" in done
    for path in [stack.tracker_db, *stack.logs.glob("*.log")]:
        content = path.read_bytes()
        for form in (b"4000056655665556", b"4000 0566 5566 5556"):
            assert form not in content, path


def test_a_card_number_in_the_request_itself_does_not_lose_it(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    first = chat.say("hello, my card number is 4000 0566 5566 5556, please cancel")
    assert "share only the last 4 digits" in first
    assert "do you want to cancel" in first  # the request is asked about, not lost
    assert "last 4 digits of the card" in chat.say("yes")
    assert "Before you go" in chat.say(customer.card_last4)
    assert b"4000 0566 5566 5556" not in stack.tracker_db.read_bytes()


def test_another_email_after_verifying_needs_that_accounts_card(stack: Stack) -> None:
    """Verified as one customer, a request naming another's email used to act
    on the first account."""
    first, second = stack.billing.new_customer(), stack.billing.new_customer()
    chat = stack.chat()
    chat.say("is my subscription still active?")
    chat.say(first.email)
    assert "active" in chat.say(first.card_last4)
    ask = chat.say(f"ok, now cancel the subscription of {second.email}, no offers")
    assert "last 4 digits" in ask, ask
    done = chat.say(second.card_last4)
    assert "is cancelled" in done, done
    assert stack.billing.subscription(second).cancel_at_period_end
    assert not stack.billing.subscription(first).cancel_at_period_end
