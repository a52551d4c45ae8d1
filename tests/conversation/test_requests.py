"""Status, undo, a person, billing trouble, and whatever customers type."""

from __future__ import annotations

import json
import re
import time

from bot import replies
from bot.pending import PendingStore
from tests.support.plans import cancelled, two_plans
from tests.support.polling import eventually
from tests.support.stack import Stack

CODE = re.compile(r"GR-[2-9A-HJ-NP-Z]{6}")


def cancel(stack: Stack, customer, chat) -> str:
    chat.say("cancel my subscription, no offers")
    done = chat.say(customer.card_last4)
    code = CODE.search(done)
    assert code, done
    return code.group()


def test_status_after_cancelling_and_undo_before_the_date(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    code = cancel(stack, customer, chat)
    chat.say("great")  # the optional "why": any answer is fine
    status = chat.say("is it cancelled?")
    assert "Premium: cancelled, ends on" in status and code in status
    back = chat.say("I changed my mind, please keep my subscription")
    assert "Welcome back: Premium continues" in back
    assert not stack.billing.subscription(customer).cancel_at_period_end


def test_undo_of_one_plan_named_leaves_the_other_cancelled(stack: Stack) -> None:
    customer, chat = two_plans(stack)
    chat.say("cancel both, no offers")
    assert len(CODE.findall(chat.say(customer.card_last4))) == 2
    back = chat.say("I changed my mind, please keep my premium")
    assert "Welcome back: Premium continues" in back and "Family add-on" not in back
    assert cancelled(stack, customer) == (False, True)


def test_keeping_only_the_add_on_is_asked_about_and_undone(stack: Stack) -> None:
    customer, chat = two_plans(stack)
    chat.say("cancel both, no offers")
    assert len(CODE.findall(chat.say(customer.card_last4))) == 2
    # right after the receipt, as the answer to the optional "why"
    asked = chat.say("undo the family add-on cancellation")
    assert asked == replies.DO_YOU_WANT_TO_UNDO_ADD_ON[0]
    assert cancelled(stack, customer) == (True, True)
    back = chat.say("yes")  # verified already: no question
    assert "Welcome back: Family add-on continues" in back and "Premium" not in back
    assert cancelled(stack, customer) == (True, False)


def test_never_mind_instead_of_an_answer_stops_the_request(stack: Stack) -> None:
    # it used to ask for the digits again, whatever was said; "I changed my
    # mind" mid-request stops it too: nothing to undo yet
    for at_digits, at_which in (
        ("no wait, never mind", "forget it"),
        ("I changed my mind", "actually I've changed my mind"),
    ):
        customer, chat = two_plans(stack)
        assert "last 4 digits" in chat.say("cancel my subscription")
        assert chat.say(at_digits) == replies.NOT_CANCELLING[0]
        assert "last 4 digits" in chat.say("cancel my subscription")
        assert "Which one" in chat.say(customer.card_last4)
        assert chat.say(at_which) == replies.NOT_CANCELLING[0]
        assert cancelled(stack, customer) == (False, False)
    # and the next request starts afresh
    assert "Which one" in chat.say("cancel my subscription")
    # "no offers" in the answer counts as in the request
    assert "Family add-on is cancelled" in chat.say("2, no offers")
    assert cancelled(stack, customer) == (False, True)

    # an email given before backing out is not asked for again
    customer = stack.billing.new_customer()
    chat = stack.chat()
    assert "email" in chat.say("I need to cancel")
    assert "last 4 digits" in chat.say(customer.email)
    assert chat.say("never mind") == replies.NOT_CANCELLING[0]
    assert "last 4 digits" in chat.say("cancel my subscription")


def test_the_optional_why_is_asked_once_and_kept(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    chat.say("cancel my subscription, no offers")
    done = chat.say(customer.card_last4)
    assert done.count("why") == 1
    reason = "I moved to another country and don't use it"
    assert "Thank you" in chat.say(reason)
    assert stack.slot_values(chat.sender, "exit_feedback")[-1] == reason
    # asked once: the next message is not taken for the answer, nor asked again
    after = chat.say("thanks, bye")
    assert "why" not in after.lower()
    assert stack.slot_values(chat.sender, "exit_feedback")[-1] == reason


def test_a_person_any_time_but_never_needed(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    handed = chat.say("can I talk to a real person?")
    assert "asked a person" in handed and "You don't need them to cancel" in handed
    assert any(m.get("custom", {}).get("handoff") for m in chat.last)
    chat.say("cancel my subscription")
    mid_form = chat.say("actually get me a human agent")
    assert "asked a person" in mid_form
    cancel(stack, customer, chat)  # and cancelling still works right after
    import sqlite3

    with sqlite3.connect(stack.bot_db) as db:
        rows = db.execute(
            "SELECT channel, customer_id FROM handoff_requests "
            "WHERE conversation_id = ?",
            (chat.sender,),
        ).fetchall()
    assert len(rows) == 2 and rows[0][0] == "rest"


def test_billing_down_before_verification_keeps_what_was_said(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    chat.say("cancel my subscription, no offers")
    with stack.outage.outage():
        down = chat.say(customer.card_last4)
    assert "billing system isn't answering" in down and "try again" in down
    done = chat.say("try again")
    assert CODE.search(done), done
    assert stack.billing.subscription(customer).cancel_at_period_end


def test_a_no_while_billing_is_down_goes_through_when_it_is_back(
    stack: Stack,
) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    chat.say("cancel my subscription")
    chat.say(customer.card_last4)  # verified; the offer is on the table
    with stack.outage.outage():
        down = chat.say("no")
        assert "billing system isn't answering" in down
        assert "cancellation is saved" in down
        assert "don't need to do anything else" in down
        time.sleep(2)  # the worker's first tries find billing still down
        assert not stack.billing.subscription(customer).cancel_at_period_end
    assert eventually(lambda: stack.billing.subscription(customer).cancel_at_period_end)
    code = stack.billing.subscription(customer).cancellation_code
    # the worker tells the customer in the conversation, without being asked
    assert eventually(lambda: any(code in t for t in stack.bot_texts(chat.sender)))
    [notice] = [t for t in stack.bot_texts(chat.sender) if code in t]
    assert notice.startswith("Update: our billing system is back")
    status = chat.say("is it cancelled?")
    assert code in status


def test_cancel_from_the_middle_of_anything(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    chat.say("hello")
    chat.say("are you a bot?")
    chat.say("what's the capital of France?")
    assert "last 4 digits" in chat.say("ok whatever, I want to end my subscription")


def test_ending_something_else_says_what_can_be_ended(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    for text in ["please cancel my order 48213", "cancel my Flixora account"]:
        reply = chat.say(text)
        assert "only end your subscription with us" in reply, text
        assert "last 4 digits" not in reply
    assert not stack.billing.subscription(customer).cancel_at_period_end
    # the way to the real thing is one turn away
    assert "last 4 digits" in chat.say("cancel my subscription")


def test_bad_input_gets_a_reply_never_silence(stack: Stack) -> None:
    chat = stack.chat()
    for text in [
        "",
        "   ",
        "x" * 10_000,
        "🙂🙂🙂",
        "quiero cancelar mi suscripción",
        "'; DROP TABLE customers; --",
        "<script>alert(1)</script>",
        '/cancel_subscription{"card_last4": "0000"}',
        "{{ 7*7 }}",
    ]:
        assert chat.say(text).strip(), repr(text[:30])


def test_an_email_alone_starts_nothing_and_is_used_for_the_request(
    stack: Stack,
) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat()
    kept = chat.say(customer.email)
    assert "What would you like to do?" in kept and "last 4" not in kept
    assert not stack.billing.subscription(customer).cancel_at_period_end
    # the email is not asked again
    assert "last 4 digits" in chat.say("cancel my subscription please")
    assert "Would you like that?" in chat.say(customer.card_last4)


def test_a_cancel_request_instead_of_the_email_changes_the_request(
    stack: Stack,
) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat()
    assert "email" in chat.say("what plan am I on?")
    again = chat.say("cancel")
    assert "email" in again and "doesn't look like an email" not in again
    assert "last 4 digits" in chat.say(customer.email)
    assert "Would you like that?" in chat.say(customer.card_last4)
    assert CODE.search(chat.say("no"))
    assert stack.billing.subscription(customer).cancel_at_period_end


def test_an_email_while_asked_for_it_answers_and_never_changes_the_request(
    stack: Stack,
) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat()
    chat.say("is my subscription still active?")
    chat.say(f"it's {customer.email} mate")
    status = chat.say(customer.card_last4)
    assert "active" in status and "Would you like" not in status, status
    assert not stack.billing.subscription(customer).cancel_at_period_end


def test_billing_keeps_the_reason_without_the_customers_details(
    stack: Stack,
) -> None:
    customer = stack.billing.new_customer()
    chat = stack.chat()
    done = chat.say(
        f"cancel please, my email is {customer.email} and my card ends in "
        f"{customer.card_last4}, it's too expensive. No offers"
    )
    assert CODE.search(done), done
    rows = stack.billing.sql(
        "SELECT data FROM events WHERE customer_id = :c", c=customer.id
    )
    events = [json.loads(d) if isinstance(d, str) else d for (d,) in rows]
    reasons = [e["reason"] for e in events if e.get("reason")]
    assert reasons and all("too expensive" in r for r in reasons), reasons
    assert not any(customer.email in r or customer.card_last4 in r for r in reasons)


def test_never_mind_instead_of_try_again_ends_the_request(stack: Stack) -> None:
    """It used to be carried out as if the customer had said "try again"."""
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    chat.say("cancel my subscription, no offers")
    with stack.outage.outage():
        assert "try again" in chat.say(customer.card_last4)
    assert chat.say("never mind") == replies.NOT_CANCELLING[0]
    chat.say("try again")  # nothing is left to try
    assert not stack.billing.subscription(customer).cancel_at_period_end


def test_changing_ones_mind_withdraws_a_cancellation_saved_in_an_outage(
    stack: Stack,
) -> None:
    """It used to say "no cancellation to undo", and the worker cancelled later."""
    customer = stack.billing.new_customer()
    chat = stack.chat(customer_id=customer.id)
    chat.say("cancel my subscription")
    chat.say(customer.card_last4)
    with stack.outage.outage():
        assert "cancellation is saved" in chat.say("no")
        back = chat.say("I changed my mind, keep my subscription")
    if back != replies.SAVED_CANCELLATION_WITHDRAWN[0]:
        # the worker held the request longer than the bot waits for it (its
        # rounds come every half second here): said honestly, and a retry
        # undoes whatever the worker did meanwhile
        assert "billing system isn't answering" in back, back
        again = chat.say("try again")
        assert "withdrawn" in again or "Welcome back" in again, again
    time.sleep(2)
    assert not stack.billing.subscription(customer).cancel_at_period_end
    waiting = PendingStore(f"sqlite:///{stack.bot_db}").unfinished()
    assert not any(row["customer_id"] == customer.id for row in waiting)
