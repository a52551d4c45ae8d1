"""Cancelling by text message, through signed Twilio webhooks to the real bot."""

from __future__ import annotations

import re

from bot.channels.sms_text import is_gsm7, segments
from tests.support.polling import eventually
from tests.support.sms import (
    COMPANY_NUMBER,
    TWILIO_AUTH_TOKEN,
    Phone,
    signature,
    texts_sent,
)
from tests.support.stack import Stack

CODE = re.compile(r"GR-[2-9A-HJ-NP-Z]{6}")


def phone(stack: Stack, number: str) -> Phone:
    return Phone(stack.rasa_url, number)


def user_turns(stack: Stack, sender: str) -> int:
    import sqlite3

    with sqlite3.connect(stack.tracker_db) as db:
        [(count,)] = db.execute(
            "SELECT count(*) FROM events WHERE sender_id = ? AND type_name = 'user'",
            (sender,),
        ).fetchall()
    return int(count)


def assert_fits_sms(replies: list[str]) -> None:
    for text in replies:
        assert is_gsm7(text) and segments(text) == 1, text


def test_a_known_number_cancels_in_three_texts(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    mobile = phone(stack, customer.phone)
    [ask] = mobile.text("I want to cancel my subscription")
    assert "last 4 digits" in ask and "email" not in ask
    [offer] = mobile.text(customer.card_last4)
    assert "Before you go: 50% off Premium for 3 months" in offer
    assert "Reply 1 to take it or 2 to cancel now" in offer
    done = mobile.text("2")
    assert_fits_sms([ask, offer, *done])
    assert CODE.search(done[0]) and "no more charges" in done[0]
    assert "Text UNDO CANCEL" in done[0]
    # the receipt and what follows it reach the phone as one text, in order
    assert len(done) > 1 and mobile.last_messages == ["\n\n".join(done)]
    assert stack.billing.subscription(customer).cancel_at_period_end
    channels = stack.billing.sql(
        "SELECT DISTINCT channel FROM events WHERE customer_id = :c", c=customer.id
    )
    assert [c.channel for c in channels] == ["sms"]


def test_1_takes_the_offer_as_the_text_says(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    mobile = phone(stack, customer.phone)
    mobile.text("cancel my plan")
    [offer] = mobile.text(customer.card_last4)
    assert "Reply 1 to take it" in offer
    [kept] = mobile.text("1")
    assert "Your plan continues" in kept and not CODE.search(kept)
    assert not stack.billing.subscription(customer).cancel_at_period_end


def test_no_declines_the_offer_and_undo_cancel_works(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    mobile = phone(stack, customer.phone)
    mobile.text("cancel my plan")
    mobile.text(customer.card_last4)
    done = mobile.text("no")
    assert CODE.search(done[0])
    [back] = mobile.text("UNDO CANCEL")
    assert "Welcome back: Premium continues" in back
    assert not stack.billing.subscription(customer).cancel_at_period_end


def test_an_unknown_number_is_asked_for_the_email(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    mobile = phone(stack, "+15557770000")  # texting from a number billing doesn't know
    mobile.text("cancel my plan please, no offers")
    switch = mobile.text(customer.card_last4)
    assert "couldn't confirm that with this phone number" in switch[0]
    assert "email" in switch[-1]
    assert "last 4 digits" in mobile.text(customer.email)[0]
    done = mobile.text(customer.card_last4)
    assert CODE.search(done[0])


def test_lockout_over_sms(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    mobile = phone(stack, customer.phone)
    mobile.text("cancel my plan")
    bad = f"{(int(customer.card_last4) + 1) % 10_000:04d}"
    assert "try your email" in mobile.text(bad)[0]  # 1st failure, by phone
    mobile.text(customer.email)
    assert "don't match" in mobile.text(bad)[0]  # 2nd, by email: the same account
    mobile.text(customer.email)
    locked = mobile.text(bad)  # 3rd: billing locks the account
    assert any("Try again in" in text and "talk to a person" in text for text in locked)
    assert_fits_sms(locked)
    assert not stack.billing.subscription(customer).cancel_at_period_end


def test_opt_out_words_never_cancel_and_get_no_answer(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    mobile = phone(stack, customer.phone)
    for word in ("CANCEL", "STOP", "cancel", "End", "QUIT", "UNSUBSCRIBE", "STOPALL"):
        assert mobile.text(word) == [], word
    assert mobile.text("stop texting me", OptOutType="STOP") == []
    assert user_turns(stack, customer.phone) == 0  # nothing reached the dialogue
    assert not stack.billing.subscription(customer).cancel_at_period_end


def test_help_gets_a_short_help_text(stack: Stack) -> None:
    [text] = phone(stack, "+15557770001").text("HELP")
    assert "cancel my plan" in text and "STOP" in text
    assert_fits_sms([text])


def test_a_replayed_message_is_answered_without_a_second_turn(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    mobile = phone(stack, customer.phone)
    first = mobile.text(
        "I'd like to cancel my subscription", sid="SMreplay" + customer.id
    )
    again = mobile.text(
        "I'd like to cancel my subscription", sid="SMreplay" + customer.id
    )
    assert first == again and "last 4 digits" in first[0]
    assert user_turns(stack, customer.phone) == 1


def test_forged_or_missing_signatures_get_403(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    mobile = phone(stack, customer.phone)
    params = mobile.params(
        f"cancel my plan, card ends {customer.card_last4}, no offers"
    )
    assert mobile.post(params).status_code == 403
    assert mobile.post(params, sign_with="not-the-auth-token").status_code == 403
    # A real signature, but of another message: the body was swapped.
    other = signature(TWILIO_AUTH_TOKEN, mobile.url, mobile.params("hello"))
    assert mobile.post(params, headers={"X-Twilio-Signature": other}).status_code == 403
    assert user_turns(stack, customer.phone) == 0
    assert not stack.billing.subscription(customer).cancel_at_period_end


def test_a_request_without_body_gets_a_clear_answer(stack: Stack) -> None:
    mobile = phone(stack, "+15557770002")
    [text] = mobile.text(None, NumMedia="1")
    assert "only read text" in text


def test_a_full_card_number_over_sms_is_never_kept(stack: Stack) -> None:
    customer = stack.billing.new_customer()
    mobile = phone(stack, customer.phone)
    mobile.text("cancel my plan")
    warned = mobile.text("my card is 4242-4242-4242-4242")
    assert any("only the last 4 digits" in text for text in warned)
    content = stack.tracker_db.read_bytes()
    assert b"4242-4242-4242-4242" not in content and b"4242424242424242" not in content


def test_a_cancellation_saved_during_an_outage_is_texted_when_done(
    stack: Stack,
) -> None:
    customer = stack.billing.new_customer()
    mobile = phone(stack, customer.phone)
    mobile.text("cancel my subscription")
    mobile.text(customer.card_last4)
    with stack.outage.outage():
        [saved] = mobile.text("2")
    assert "cancellation is saved" in saved and "code comes by email" in saved
    assert_fits_sms([saved])
    eventually(lambda: _texts_to(stack, customer.phone))
    [later] = _texts_to(stack, customer.phone)
    code = stack.billing.subscription(customer).cancellation_code
    assert code and code in later["Body"] and later["From"] == COMPANY_NUMBER
    assert_fits_sms([later["Body"]])
    # The conversation's transcript shows the text the customer got, once.
    eventually(lambda: later["Body"] in stack.bot_texts(customer.phone))
    assert stack.bot_texts(customer.phone).count(later["Body"]) == 1
    assert len(_texts_to(stack, customer.phone)) == 1


def _texts_to(stack: Stack, number: str) -> list[dict[str, str]]:
    return [t for t in texts_sent(stack.twilio) if t.get("To") == number]
