"""Cancelling, as customers do it: the turns, the offer, what billing holds."""

from __future__ import annotations

import re

from bot import replies
from tests.support.plans import cancelled, two_plans
from tests.support.stack import Stack

CODE = re.compile(r"GR-[2-9A-HJ-NP-Z]{6}")


def test_with_channel_identity_it_takes_three_turns(stack: Stack) -> None:
    customer = stack.billing.new_customer("premium-monthly")
    chat = stack.chat(customer_id=customer.id)

    ask = chat.say("I'd like to cancel my subscription")
    assert "last 4 digits" in ask and "email" not in ask
    offer = chat.say(customer.card_last4)
    assert "Thanks, Test. Before you go" in offer
    assert (
        "50% off your next 3 months of Premium (7.50 USD instead of 15.00 USD" in offer
    )
    assert "Reply yes to take it, or no to cancel now" in offer
    assert chat.buttons == ["Yes, take the offer", "No, cancel now"]
    done = chat.say("no, cancel please")

    assert stack.turns_until(chat.sender, CODE) == 3
    code = CODE.search(done)
    assert code, done
    assert (
        "Premium is cancelled and ends on" in done and "won't be charged again" in done
    )
    assert "15.00 USD renewal is off" in done and "Changed your mind" in done
    row = stack.billing.subscription(customer)
    assert row.cancel_at_period_end and row.cancellation_code == code.group()
    assert stack.billing.offers(customer) == [("discount", "declined")]
    [mail] = stack.billing.sql(
        "SELECT body FROM outbox WHERE customer_id = :c", c=customer.id
    )
    assert code.group() in mail.body


def test_anonymous_web_adds_one_turn_for_the_email(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat()
    assert "email" in chat.say("how do I cancel my membership?")
    assert "last 4 digits" in chat.say(customer.email)
    assert "Before you go" in chat.say(customer.card_last4)
    assert CODE.search(chat.say("nope"))
    assert stack.turns_until(chat.sender, CODE) == 4
    assert stack.billing.subscription(customer).cancel_at_period_end


def test_no_offers_up_front_means_none_and_two_turns(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(phone=customer.phone)
    assert "last 4 digits" in chat.say("cancel my subscription please, no offers")
    done = chat.say(customer.card_last4)
    assert CODE.search(done) and "Before you go" not in done
    assert stack.turns_until(chat.sender, CODE) == 2
    assert stack.billing.offers(customer) == []


def test_everything_in_the_first_message_takes_one_turn(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(phone=customer.phone)
    done = chat.say(
        f"cancel my subscription, card ends {customer.card_last4}, no offers"
    )
    assert CODE.search(done), done
    assert stack.turns_until(chat.sender, CODE) == 1

    anonymous = stack.billing.new_customer()
    chat = stack.chat()
    done = chat.say(
        f"cancel, my email is {anonymous.email} and my card ends in "
        f"{anonymous.card_last4}. Just cancel it, no offers"
    )
    assert CODE.search(done), done
    assert stack.turns_until(chat.sender, CODE) == 1


def test_accepting_the_offer_keeps_the_subscription(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    chat.say("stop charging me")
    chat.say(customer.card_last4)
    kept = chat.say("yes please")
    assert "Done: 50% off Premium for your next 3 months" in kept
    assert "Your subscription continues" in kept and not CODE.search(kept)
    row = stack.billing.subscription(customer)
    assert row.status == "active" and not row.cancel_at_period_end
    assert row.discount_percent == 50
    assert stack.billing.offers(customer) == [("discount", "accepted")]


def test_the_offer_fits_the_reason_given(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    chat.say("I want to cancel, it's too expensive for me")
    offer = chat.say(customer.card_last4)
    assert "switch to Basic for 7.00 USD instead of 15.00 USD a month" in offer


def test_anything_but_a_clear_yes_cancels_in_the_same_turn(stack: Stack) -> None:
    for answer in ("just cancel it", "hmm what's the weather", "no thanks"):
        customer = stack.billing.new_customer()
        chat = stack.chat(customer_id=customer.id)
        chat.say("cancel my plan")
        chat.say(customer.card_last4)
        assert CODE.search(chat.say(answer)), answer
        assert stack.billing.offers(customer) == [("discount", "declined")]


def test_never_a_second_offer_in_a_conversation(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    chat.say("cancel my subscription")
    chat.say(customer.card_last4)
    chat.say("no")
    assert "Welcome back" in chat.say("I changed my mind")
    again = chat.say("actually, cancel my subscription")
    assert CODE.search(again) and "Before you go" not in again
    assert len(stack.billing.offers(customer)) == 1


def test_a_customer_who_had_an_offer_recently_gets_none(stack: Stack) -> None:
    customer = stack.billing.new_customer("premium-monthly", accepted_offer_days_ago=30)
    chat = stack.chat(customer_id=customer.id)
    chat.say("please cancel my subscription")
    done = chat.say(customer.card_last4)
    assert CODE.search(done) and "Before you go" not in done


def test_two_subscriptions_ask_which_one(stack: Stack) -> None:
    customer, chat = two_plans(stack)
    chat.say("cancel my subscription")
    which = chat.say(customer.card_last4)
    assert "You have 2 subscriptions: 1) Premium, 15.00 USD a month" in which
    assert (
        "2) Family add-on, 4.00 USD a month" in which and "Reply 1, 2 or all" in which
    )
    assert chat.buttons == ["Premium", "Family add-on", "All of them"]
    offer = chat.say("2")
    assert "Family add-on" in offer and "Before you go" in offer
    done = chat.say("no")
    assert "Family add-on is cancelled" in done
    assert cancelled(stack, customer) == (False, True)

    customer, chat = two_plans(stack)
    chat.say("cancel both, no offers")
    done = chat.say(customer.card_last4)  # "both" was the answer: not asked which
    assert len(CODE.findall(done)) == 2 and "Which one" not in done
    assert cancelled(stack, customer) == (True, True)

    customer, chat = two_plans(stack)
    chat.say("cancel my subscription, no offers")
    chat.say(customer.card_last4)
    assert len(CODE.findall(chat.say("all"))) == 2
    assert cancelled(stack, customer) == (True, True)

    # the list shows prices, so the answer may use them
    customer, chat = two_plans(stack)
    chat.say("cancel my subscription, no offers")
    chat.say(customer.card_last4)
    assert "Family add-on is cancelled" in chat.say("the cheaper one")
    assert cancelled(stack, customer) == (False, True)

    # ... and so may the request; the classifiers learnt "the cheaper plan"
    # from plan changes, so the bot may ask first
    customer, chat = two_plans(stack)
    first = chat.say("cancel the cheaper one")
    if first == "Just to check: do you want to cancel your subscription?":
        first = chat.say("yes")
    assert "last 4 digits" in first
    offer = chat.say(customer.card_last4)
    assert "Family add-on" in offer and "Which one" not in offer
    assert "Family add-on is cancelled" in chat.say("no")
    assert cancelled(stack, customer) == (False, True)


def test_a_plan_named_in_the_request_is_not_asked_about(stack: Stack) -> None:
    customer, chat = two_plans(stack)
    chat.say("cancel my premium plan, no offers")
    done = chat.say(customer.card_last4)
    assert "Premium is cancelled" in done and "Which one" not in done
    assert cancelled(stack, customer) == (True, False)

    # ending an add-on is learnt as a plan change: the bot asks, and a yes
    # cancels the add-on the request named, not the plan it keeps
    customer, chat = two_plans(stack)
    asked = chat.say("cancel the family add-on but keep my premium")
    assert asked == "Just to check: do you want me to cancel that add-on?"
    chat.say("yes")
    offer = chat.say(customer.card_last4)
    assert "Family add-on" in offer and "Before you go" in offer
    assert "Family add-on is cancelled" in chat.say("no")
    assert cancelled(stack, customer) == (False, True)


def test_staying_when_offered_changes_nothing(stack: Stack) -> None:
    """ "I changed my mind, I'll stay" to the offer used to cancel the plan."""
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    chat.say("cancel my subscription")
    assert "Before you go" in chat.say(customer.card_last4)
    assert chat.say("I changed my mind, I'll stay") == replies.NOT_CANCELLING[0]
    row = stack.billing.subscription(customer)
    assert not row.cancel_at_period_end and not row.discount_percent
    # still one offer in the conversation: asked again, it cancels at once
    again = chat.say("actually, cancel my subscription")
    assert CODE.search(again) and "Before you go" not in again
    assert len(stack.billing.offers(customer)) == 1
