"""Every line the bot can send over SMS: GSM-7 only, and how many segments.

The bot's SMS lines are kept to one 160-character GSM-7 segment. The few that
cannot be (a receipt carries a plan name, a date and a code) are listed here
by name, so a line that grows past one segment is noticed, not billed.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from bot import replies
from bot.billing import CancellationReceipt, Money, RetentionOffer, Subscription
from bot.channels import sms
from bot.channels.sms_text import is_gsm7, segments

DOMAIN = Path(__file__).resolve().parents[2] / "domain.yml"
LONGEST_PLAN = "Family add-on"  # the longest plan name in the demo catalog
DAY = dt.date(2026, 12, 15)
ALLOWED_MULTI_SEGMENT: set[str] = set()


def domain_lines() -> dict[str, str]:
    responses = yaml.safe_load(DOMAIN.read_text())["responses"]
    lines = {}
    for name, variants in responses.items():
        sms_variants = [v for v in variants if v.get("channel") == "sms"]
        chosen = sms_variants or [v for v in variants if not v.get("channel")]
        for number, variant in enumerate(chosen):
            lines[f"domain:{name}:{number}"] = variant["text"]
    return lines


def reply_lines() -> dict[str, str]:
    lines = {}
    for name in dir(replies):
        value = getattr(replies, name)
        if isinstance(value, tuple) and value and isinstance(value[0], str):
            lines[f"replies.{name}"] = replies.pick(value, True)
        elif isinstance(value, tuple) and value and isinstance(value[0], tuple):
            for number, pair in enumerate(value):
                lines[f"replies.{name}[{number}]"] = replies.pick(pair, True)
    base = {"plan_name": LONGEST_PLAN, "currency": "USD", "price_cents": 150000}
    offers = {
        "discount": {
            **base,
            "percent_off": 50,
            "months": 12,
            "discounted_price_cents": 75000,
        },
        "pause": {**base, "months": 12, "resumes_on": "2027-12-15"},
        "downgrade": {
            **base,
            "to_plan_name": LONGEST_PLAN,
            "new_price_cents": 99900,
            "starts_on": "2027-01-31",
        },
    }
    for kind, terms in offers.items():
        offer = RetentionOffer("off_1", "sub_1", kind, terms)  # type: ignore[arg-type]
        lines[f"offer_text:{kind}"] = replies.offer_text(offer, "Ana", short=True)
        lines[f"offer_accepted:{kind}"] = replies.offer_accepted(offer, short=True)
    for immediate, already in ((False, False), (True, False), (False, True)):
        receipt = CancellationReceipt(
            "sub_1",
            LONGEST_PLAN,
            "GR-7K2P9Q",
            DAY,
            immediate,
            None if immediate else DAY,
            Money(150000, "USD"),
            already,
        )
        lines[f"receipt:immediate={immediate},already={already}"] = (
            replies.receipt_text(receipt, short=True)
        )
        if not (immediate or already):
            lines["paid_until"] = replies.paid_until(receipt, short=True)
            lines["no_refund"] = replies.no_refund(receipt, short=True)
    for data in (False, True):
        for ask in (False, True):
            lines[f"about_cancelling:data={data},ask={ask}"] = replies.about_cancelling(
                short=True, data=data, ask=ask
            )
    for number, line in enumerate(replies.goodbye_and_why(short=True)):
        lines[f"goodbye_and_why[{number}]"] = line
    subscription = Subscription(
        "sub_1",
        LONGEST_PLAN,
        Money(150000, "USD"),
        "month",
        "active",
        DAY,
        True,
        "GR-7K2P9Q",
        DAY,
        True,
    )
    lines["status:cancelled"] = replies.status_line(subscription, short=True)
    lines["reactivated"] = replies.reactivated(subscription, short=True)
    lines["locked"] = replies.locked(15, short=True)
    options = [
        {"name": "Premium", "price": "15.00 USD a month"},
        {"name": LONGEST_PLAN, "price": "4.00 USD a month"},
    ]
    lines["subscription_choices"] = replies.subscription_choices(options, short=True)
    for name in (
        "HELP_TEXT",
        "NO_TEXT",
        "STILL_WORKING",
        "STILL_WORKING_TEXTING",
        "NEW_TEXT_NOT_READ",
        "LATE_TURN_FAILED",
    ):
        lines[f"sms.{name}"] = getattr(sms, name)
    return lines


def test_every_sms_line_is_gsm7() -> None:
    lines = {**domain_lines(), **reply_lines()}
    assert len(lines) > 40
    not_gsm7 = {name: text for name, text in lines.items() if not is_gsm7(text)}
    assert not_gsm7 == {}


def test_sms_lines_that_need_more_than_one_segment_are_listed() -> None:
    lines = {**domain_lines(), **reply_lines()}
    multi = {
        name: (len(text), segments(text))
        for name, text in lines.items()
        if segments(text) > 1
    }
    print("\nSMS lines over one segment:", multi or "none")
    assert set(multi) == ALLOWED_MULTI_SEGMENT, multi


# Twilio takes a bare STOP, CANCEL, END, QUIT or UNSUBSCRIBE as an opt-out
# from all texts: a line may ask for one of them alone only to opt out.
BARE_OPT_OUT = re.compile(
    r"\b(?:text|reply|send|type)\s+[\"'\u201c\u2018]?"
    r"(?:stop|cancel|end|quit|unsubscribe)\b[\"'\u201d\u2019]?"
    r"(?!\s+(?:my|the|your|it)\b)(?!\s+to\s+opt\s+out\b)",
    re.IGNORECASE,
)


@pytest.mark.parametrize(
    "line",
    [
        "Reply CANCEL to stop",
        "Text CANCEL any time",
        "reply 'cancel'",
        "Send STOP to end this.",
        "type “quit” to leave",
        "Reply CANCEL to cancel your subscription.",
    ],
)
def test_the_opt_out_check_finds_a_bare_opt_out_word(line: str) -> None:
    assert BARE_OPT_OUT.search(line)


def test_the_opt_out_check_lets_the_opt_out_line_and_whole_requests_be() -> None:
    assert not BARE_OPT_OUT.search("Reply STOP to opt out.")
    assert not BARE_OPT_OUT.search("text 'cancel my plan' to cancel it")


def test_no_sms_line_tells_the_customer_to_text_a_bare_opt_out_word() -> None:
    for name, text in {**domain_lines(), **reply_lines()}.items():
        assert not BARE_OPT_OUT.search(text), (name, text)
