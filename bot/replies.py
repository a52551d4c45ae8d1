"""What the bot says when the words depend on billing facts (see VOICE.md).

Plain words, exact dates and amounts, one question per message, the way out
always visible. Every line has a ``short`` form for SMS: one 160-character
GSM-7 segment where it can be (no curly quotes, no emoji), numbered answers
instead of buttons, and never a bare CANCEL (a carrier opt-out word).
Static lines live in domain.yml, with SMS variants there.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from bot.billing import CancellationReceipt, Money, RetentionOffer, Subscription


def when(
    day: Optional[dt.date], short: bool = False, today: Optional[dt.date] = None
) -> str:
    """Return '15 December' ('15 Dec' when short), with the year if not this one."""
    if day is None:
        return "the end of the period"
    today = today or dt.date.today()
    text = f"{day.day} {day:%b}" if short else f"{day.day} {day:%B}"
    return text if day.year == today.year else f"{text} {day.year}"


def _money(cents: int, currency: str) -> str:
    return str(Money(cents, currency))


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def offer_text(offer: RetentionOffer, first_name: str, short: bool = False) -> str:
    """State one offer with its exact terms and how to say no."""
    terms = offer.terms
    plan, currency = terms["plan_name"], terms["currency"]
    per = "/month" if short else " a month"
    if offer.kind == "discount":
        now = _money(terms["discounted_price_cents"], currency)
        was = _money(terms["price_cents"], currency)
        deal = (
            f"{terms['percent_off']}% off {plan} for {terms['months']} months "
            f"({now} instead of {was}{per})"
            if short
            else f"we can take {terms['percent_off']}% off your next {terms['months']} "
            f"months of {plan} ({now} instead of {was}{per})"
        )
    elif offer.kind == "pause":
        until = when(_date(terms["resumes_on"]), short)
        deal = (
            f"pause {plan} for {terms['months']} months, no charges until {until}"
            if short
            else f"you could pause {plan} for {terms['months']} months instead, with "
            f"no charges until {until}"
        )
    else:
        now = _money(terms["new_price_cents"], currency)
        was = _money(terms["price_cents"], currency)
        deal = (
            f"switch to {terms['to_plan_name']} for {now} instead of {was}{per}"
            if short
            else f"you could switch to {terms['to_plan_name']} for {now} instead of "
            f"{was}{per}"
        )
    if short:
        return f"Before you go: {deal}. Reply 1 to take it or 2 to cancel now."
    return (
        f"Thanks, {first_name}. Before you go: {deal}. Would you like that? "
        "Reply yes to take it, or no to cancel now."
    )


def offer_accepted(offer: RetentionOffer, short: bool = False) -> str:
    terms = offer.terms
    if offer.kind == "discount":
        your_next = "" if short else "your next "
        done = (
            f"{terms['percent_off']}% off {terms['plan_name']} for {your_next}"
            f"{terms['months']} months"
        )
    elif offer.kind == "pause":
        until = when(_date(terms["resumes_on"]), short)
        done = f"{terms['plan_name']} is paused until {until}, with no charges"
    else:
        starts = when(_date(terms["starts_on"]), short)
        done = f"you move to {terms['to_plan_name']} from {starts}"
    if short:
        return f"Done: {done}. Your plan continues. Thanks for staying!"
    return f"Done: {done}. Your subscription continues. Thanks for staying with us."


def receipt_text(receipt: CancellationReceipt, short: bool = False) -> str:
    """Confirm a cancellation: code, date, what won't be charged, how to undo."""
    plan, code = receipt.plan_name, receipt.confirmation_code
    ends = when(receipt.effective_date, short)
    if receipt.already_cancelled:
        if short:
            return (
                f"{plan} was already cancelled: ends {ends}, no more charges. "
                f"Code {code}."
            )
        return (
            f"{plan} was already cancelled: it ends on {ends} and you won't be "
            f"charged again. Confirmation code {code}."
        )
    if receipt.immediate:
        if short:
            return (
                f"Done. {plan} is cancelled as of today, no more charges. Code {code}."
            )
        return (
            f"Done. {plan} is cancelled as of today and you won't be charged again. "
            f"Confirmation code {code}."
        )
    if short:
        return (
            f"Done. {plan} ends {ends}, no more charges. Code {code}. "
            "Text UNDO CANCEL before then to keep it."
        )
    return (
        f"Done. {plan} is cancelled and ends on {ends}; you won't be charged again "
        f"(the {receipt.cancelled_charge} renewal is off). Confirmation code {code}. "
        "Changed your mind before then? Just tell me."
    )


def paid_until(receipt: CancellationReceipt, short: bool = False) -> str:
    """Answer "cancel it now" when the cancellation waits for the period's end.

    Ending at once would take away days already paid for (billing refunds
    nothing), so the bot does not do it; it says why the date is later and
    that no charge comes before it.
    """
    ends = when(receipt.effective_date, short)
    if short:
        return f"It ends {ends}, not today, as you've paid up to then."
    return (
        f"It ends on {ends} rather than today because you've already paid up to "
        f"then: {receipt.plan_name} keeps working until that date at no extra cost."
    )


def about_cancelling(short: bool = False, data: bool = False, ask: bool = True) -> str:
    """Answer "what happens if I cancel?" with what the bot would do, then ask.

    True of every cancellation the bot makes: it ends at the period's end
    (bot/flow.py never ends one early), billing charges no fee and refunds
    nothing because the paid days are kept, and it can be undone until then.
    What happens to the customer's data is the company's policy, which the
    bot does not know: a person does.
    """
    if short:
        parts = [
            "If you cancel, it runs to the end of the paid period: no more "
            "charges, no fee."
        ]
        if data:
            parts.append("About your data, text 'talk to a person'.")
        parts.append(
            "Cancel it? Reply 1 for yes or 2 for no."
            if ask
            else "To go ahead, text 'cancel my plan'."
        )
        return " ".join(parts)
    parts = [
        "If you cancel, your subscription keeps working until the end of the "
        "period you've already paid for, then it stops: you won't be charged "
        "again and there's no fee. Nothing is refunded for the days left, as "
        "you keep them, and you can change your mind any time before that date."
    ]
    if data:
        parts.append(
            "I can't tell you what happens to your data, but a person "
            "can: just say 'talk to a person'."
        )
    parts.append(
        "Would you like me to cancel it?"
        if ask
        else "If you decide to, just say 'cancel my subscription'."
    )
    return " ".join(parts)


def no_refund(receipt: CancellationReceipt, short: bool = False) -> str:
    """Answer a refund asked for with the cancellation: none, and why.

    A cancellation ends at the period's end, so the days paid for are used,
    not refunded; a customer who thinks they are owed money is sent to a
    person, who can look at the payments (the bot cannot refund).
    """
    ends = when(receipt.effective_date, short)
    if short:
        return (
            f"No refund: it works until {ends}, already paid for. Owed money? "
            "Text 'talk to a person'."
        )
    return (
        f"Nothing is refunded: {receipt.plan_name} keeps working until {ends}, "
        "which you've already paid for. If you think you're owed money back, a "
        "person can look at it with you: just say 'talk to a person'."
    )


def goodbye_and_why(short: bool = False) -> list[str]:
    """Return the thanks, said once at the end, and the one optional question."""
    if short:
        return [
            "Thanks for being with us. If you like, reply with why you left. "
            "No need to."
        ]
    return [
        "Thanks for being with us.",
        "If you'd like to tell us why you're leaving, just reply. No need to, though.",
    ]


def status_line(subscription: Subscription, short: bool = False) -> str:
    plan = subscription.plan_name
    if subscription.status == "canceled":
        return f"{plan}: cancelled, no further charges."
    if subscription.cancel_at_period_end:
        ends = when(subscription.ends_on, short)
        if short:
            code = subscription.confirmation_code
            return f"{plan}: cancelled, ends {ends}, no more charges. Code {code}."
        return (
            f"{plan}: cancelled, ends on {ends}, no further charges "
            f"(code {subscription.confirmation_code})."
        )
    if subscription.status == "paused":
        return f"{plan}: paused until {when(subscription.paused_until, short)}."
    charge = subscription.next_charge or subscription.price
    renews = when(subscription.next_charge_on or subscription.current_period_end, short)
    return f"{plan}: active, renews on {renews} for {charge}."


def subscription_choices(options: list[dict[str, str]], short: bool = False) -> str:
    """Ask which subscription, listing each with its price."""
    if short:
        listed = ", ".join(
            f"{n} {o['name']} {o['price']}" for n, o in enumerate(options, 1)
        )
        return f"Which plan? {listed}. Reply a number or ALL."
    listed = "; ".join(
        f"{n}) {o['name']}, {o['price']}" for n, o in enumerate(options, 1)
    )
    numbers = ", ".join(str(n) for n in range(1, len(options) + 1))
    return (
        f"You have {len(options)} subscriptions: {listed}. Which one should I "
        f"cancel? Reply {numbers} or all."
    )


def reactivated(subscription: Subscription, short: bool = False) -> str:
    charge = subscription.next_charge or subscription.price
    on = when(subscription.next_charge_on or subscription.current_period_end, short)
    if short:
        plan = subscription.plan_name
        return f"Welcome back: {plan} continues. Next charge {charge} on {on}."
    return (
        f"Welcome back: {subscription.plan_name} continues and the cancellation is "
        f"undone. Next charge: {charge} on {on}."
    )


def locked(minutes: int, short: bool = False) -> str:
    if short:
        return (
            f"For your security I can't check more details now. Try again in {minutes} "
            "min, or text 'talk to a person'."
        )
    return (
        "For your security I can't check more details right now. Please try again "
        f"in {minutes} minutes, or say 'talk to a person' and someone will help."
    )


NOT_MATCHED = (
    "Those details don't match our records, so I can't go further yet. "
    "Let's try once more.",
    "Those details don't match our records. Let's try once more.",
)
NOT_MATCHED_PHONE = (
    "I couldn't confirm that with this phone number, so let's try your email instead.",
    "I couldn't confirm that with this phone number, so let's try your email instead.",
)
BILLING_DOWN = (
    "Our billing system isn't answering right now, so I couldn't finish. I've kept "
    "what you told me: say 'try again' in a few minutes and I'll pick up where we "
    "left off, or say 'talk to a person'.",
    "Our billing system isn't answering, so I couldn't finish. I kept your request: "
    "text 'try again' in a few minutes.",
)
BILLING_DOWN_KEPT = (
    "Our billing system isn't answering right now, so I couldn't finish yet. Your "
    "cancellation is saved: it will go through as soon as billing is back, and "
    "you'll get the confirmation by email. You don't need to do anything else.",
    # by email: a text comes too only where outbound texts are set up
    "Our billing system isn't answering. Your cancellation is saved and goes "
    "through when it's back; the code comes by email. Nothing else to do.",
)
# Opens the receipt the retry worker puts into a web conversation later.
DONE_LATER = "Update: our billing system is back and your cancellation went through."
COULD_NOT_FINISH = (
    "Sorry, I couldn't complete that on our side. Please try again, or say "
    "'talk to a person' and someone will sort it out.",
    "Sorry, I couldn't complete that on our side. Text 'try again', or 'talk to a "
    "person'.",
)
# A widget message whose turn failed after the widget was told it arrived
# (bot/channels/widget_failures.py): live only, never kept in the conversation.
MESSAGE_NOT_THROUGH = (
    "Sorry, your message didn't go through on our side. Please send it again."
)
# ... after some of the answer had gone out: the conversation kept neither.
ANSWER_NOT_KEPT = (
    "Sorry, something went wrong on our side, so I didn't keep your message or "
    "my answer to it. Please send your message again."
)
# ... a widget message that came while the bot had no model loaded yet: it was
# not handled at all, and will be once the bot is up.
STARTING_UP = (
    "Sorry, I'm still starting up, so your message didn't go through. Please "
    "send it again in a minute."
)
NOTHING_TO_CANCEL = (
    "There's no active subscription on your account, so nothing to cancel.",
    "You have no active plan, so nothing to cancel.",
)
SAVED_CANCELLATION_WITHDRAWN = (
    "Done: the cancellation you asked for while our billing system was down is "
    "withdrawn. It won't go through, and your subscription carries on as before.",
    "Done: the cancellation saved while billing was down is withdrawn. Your "
    "subscription carries on as before.",
)
SAVED_CANCELLATION_WAITING = (
    "Your cancellation is saved and goes through as soon as our billing system "
    "answers again; until then it shows your subscription as it was. You don't "
    "need to do anything else.",
    "Your cancellation is saved and goes through once billing answers again; until "
    "then your plan shows as before.",
)
NOTHING_TO_UNDO = (
    "There's no cancellation to undo.",
    "There's no cancellation to undo.",
)
REVERIFY = (
    "For your security, please confirm the last 4 digits of your card again.",
    "For your security, please send the last 4 digits of your card again.",
)
HANDOFF = (
    "I've asked a person to pick this up; they'll reply here or by email, usually "
    "within one business day. You don't need them to cancel: say 'cancel my "
    "subscription' any time and I'll do it right away.",
    "I've asked a person to reply, usually within 1 business day. You don't need "
    "them to cancel: text 'cancel my plan' any time.",
)
# the web visitor the bot cannot place (no login, no email): "here" is
# only this browser tab
HANDOFF_ANONYMOUS = (
    "I've asked a person to pick this up; they'll reply in this chat, usually "
    "within one business day. If you might close this page, tell me your email "
    "address and they'll write to you there. You don't need them to cancel: say "
    "'cancel my subscription' any time and I'll do it right away.",
    HANDOFF[1],
)
HANDOFF_CONTACT_KEPT = (
    "Thanks: the person picking this up will write to {email}.",
    "Thanks: they'll write to {email}.",
)
HANDOFF_FAILED = (
    "Sorry, I couldn't reach our support team just now. Please try again in a few "
    "minutes. If you want to cancel, say 'cancel my subscription': I can do it myself.",
    "Sorry, I couldn't reach our team just now. Try again soon. To cancel, text "
    "'cancel my plan': I can do it myself.",
)
# the NLU found no clear request but saw a cancel request in it (bot/nlu/ask.py)
DO_YOU_WANT_TO_CANCEL = (
    "Just to check: do you want to cancel your subscription?",
    "Just to check: do you want to cancel your plan? Reply 1 for yes or 2 for no.",
)
DO_YOU_WANT_TO_CANCEL_ADD_ON = (
    "Just to check: do you want me to cancel that add-on?",
    "Just to check: cancel that add-on? Reply 1 for yes or 2 for no.",
)
DO_YOU_WANT_TO_UNDO_ADD_ON = (
    "Just to check: do you want me to undo that add-on's cancellation, so it "
    "carries on?",
    "Just to check: undo that add-on's cancellation? Reply 1 for yes or 2 for no.",
)
NOT_CANCELLING = (
    "All right, nothing changes. I can also tell you your subscription's "
    "status or get you a person. What would you like?",
    "OK, nothing changes. Text 'status' to check your plan or 'talk to a person'.",
)
DETAILS_KEPT = (
    "Thanks, I'll use that when you need it. What would you like to do? I can "
    "cancel your subscription, tell you its status, or get you a person.",
    "Thanks, noted. Text 'cancel my plan', 'status' or 'talk to a person'.",
)
NOT_UNDERSTOOD = (
    "Sorry, I didn't catch that. I can cancel your subscription, tell you its "
    "status, or get you a person. What would you like?",
    "Sorry, I didn't get that. Text 'cancel my plan', 'status' or 'talk to a person'.",
)
NOT_UNDERSTOOD_AGAIN = (
    "I'm still not sure what you need. You could say 'cancel my subscription', "
    "'is it cancelled?' or 'talk to a person'.",
    "Still not sure what you need. Try 'cancel my plan', 'is it cancelled?' or "
    "'talk to a person'.",
)
# the NLU heard a cancel verb on something that is not our subscription ("cancel
# my order", "close my account at another bank"): say what we can end, and the
# words that start a cancellation in case the guard was wrong
PAUSE_NOT_HERE = (
    "I can't pause a subscription myself. A person can look at that with "
    "you: just say 'talk to a person'. I can also cancel it, or tell you its "
    "status.",
    "I can't pause a plan by text. Text 'talk to a person' for that, or "
    "'cancel my plan' or 'status'.",
)
NOT_OURS_TO_CANCEL = (
    "I can only end your subscription with us, not an order, a booking, "
    "e-mails or another company's service. To cancel your subscription here, "
    "say 'cancel my subscription'. I can also get you a person.",
    "I can only end your subscription with us. To do that, text 'cancel my "
    "plan'. Or text 'talk to a person'.",
)
REFUNDS_BY_A_PERSON = (
    "I can't give refunds myself, but a person can look at your payments with "
    "you: just say 'talk to a person'. I can also cancel your subscription or "
    "tell you its status.",
    "I can't give refunds. For that, text 'talk to a person'. Or text 'cancel "
    "my plan' or 'status'.",
)
THANKS_FOR_FEEDBACK = ("Thank you, that helps us.", "Thank you, that helps us.")
CARD_NUMBER_REMOVED = (
    "For your safety I deleted the card number you sent. Please share only the "
    "last 4 digits, never the full number.",
    "For your safety I deleted that card number. Please send only the last 4 digits.",
)
ASK_EMAIL = (
    ("What's the email address on your account?", "What's the email on your account?"),
    (
        "Which email address do you use for your account?",
        "Which email do you use for your account?",
    ),
    # asked twice already: other words, and the way out
    (
        "Which email address is the account under? If you're not sure, say "
        "'talk to a person' and someone will help.",
        "Which email is the account under? Not sure? Text 'talk to a person'.",
    ),
)
ASK_CARD_LAST4 = (
    (
        "I can do that. To confirm it's you, what are the last 4 digits of the card "
        "on your account?",
        "To confirm it's you, what are the last 4 digits of the card on your account?",
    ),
    (
        "Thanks. And what are the last 4 digits of the card on your account?",
        "Thanks. What are the last 4 digits of the card on your account?",
    ),
    (
        "What are the last 4 digits of the card you pay with? Just 4 digits.",
        "Please send just the last 4 digits of the card you pay with.",
    ),
    # asked twice already: other words, and the way out
    (
        "Please type only the last 4 digits of the card you pay with, like 1234. "
        "If you can't find them, say 'talk to a person'.",
        "Only the last 4 digits of your card, like 1234. Or text 'talk to a person'.",
    ),
)
NOT_AN_EMAIL = (
    "That doesn't look like an email address.",
    "That doesn't look like an email.",
)
NEED_FOUR_DIGITS = (
    "I need just the 4 digits, for example 1234.",
    "Just the 4 digits, like 1234.",
)
NOT_WHICH = ("Sorry, I didn't get which one.", "Sorry, which one?")


def pick(pair: tuple[str, str], short: bool) -> str:
    """Return the web or the SMS form of a fixed line."""
    return pair[1] if short else pair[0]
