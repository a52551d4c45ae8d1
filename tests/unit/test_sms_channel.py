"""SMS essentials without a server: signatures, GSM-7, segments, opt-out words."""

from __future__ import annotations

import pytest

from bot.channels.sms import (
    HELP_TEXT,
    NO_TEXT,
    SmsChannel,
    sms_texts,
    twilio_signature,
    twiml,
)
from bot.channels.sms_text import is_gsm7, segments, to_gsm7
from tests.support.sms import signature

# Twilio's published example (webhook security docs): this token, URL and
# five parameters are signed as RSOYDt4T1cUTdK1PDd93/VVr8B8=.
DOCS_TOKEN = "12345"
DOCS_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOCS_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
DOCS_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_the_channel_signs_twilios_published_example() -> None:
    assert (
        twilio_signature(DOCS_TOKEN, DOCS_URL, list(DOCS_PARAMS.items()))
        == DOCS_SIGNATURE
    )


def test_the_tests_own_signer_agrees_with_twilios_example() -> None:
    assert signature(DOCS_TOKEN, DOCS_URL, DOCS_PARAMS) == DOCS_SIGNATURE
    tampered = {**DOCS_PARAMS, "Digits": "9999"}
    assert signature(DOCS_TOKEN, DOCS_URL, tampered) != DOCS_SIGNATURE
    assert signature("54321", DOCS_URL, DOCS_PARAMS) != DOCS_SIGNATURE


@pytest.mark.parametrize(
    "body, answer",
    [
        ("STOP", []),
        ("cancel", []),
        ("  Cancel ", []),
        ("END", []),
        ("quit", []),
        ("UNSUBSCRIBE", []),
        ("STOPALL", []),
        ("stop all", []),
        ("START", []),
        ("HELP", [HELP_TEXT]),
        ("info", [HELP_TEXT]),
        ("", [NO_TEXT]),
        (None, [NO_TEXT]),
        ("cancel my plan", None),
        ("stop charging me", None),
        ("yes", None),
    ],
)
def test_words_twilio_owns_never_reach_the_dialogue(body, answer) -> None:
    form = {"From": "+15550001111"} if body is None else {"From": "+1555", "Body": body}
    assert SmsChannel._answer_to(form) == answer


def test_an_opt_out_flagged_by_twilio_is_silent_whatever_the_words() -> None:
    assert (
        SmsChannel._answer_to({"Body": "stop texting me", "OptOutType": "STOP"}) == []
    )
    assert SmsChannel._answer_to({"Body": "HELP", "OptOutType": "HELP"}) == []


def test_buttons_become_numbered_choices_and_twiml_is_escaped() -> None:
    texts = sms_texts(
        [
            {
                "text": "Which one?",
                "buttons": [
                    {"title": "Premium", "payload": "1"},
                    {"title": "All", "payload": "all"},
                ],
            },
            {"custom": {"handoff": {"request": 3}}},
        ]
    )
    assert texts == ["Which one? 1 Premium, 2 All"]
    assert twiml(["a < b & \u201cc\u201d"]) == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>a &lt; b &amp; "c"'
        "</Message></Response>"
    )


def test_segments_and_gsm7() -> None:
    assert segments("x" * 160) == 1 and segments("x" * 161) == 2
    assert segments("€" * 80) == 1 and segments("€" * 81) == 2  # extension: 2 septets
    assert not is_gsm7("don\u2019t") and segments("\u2019" * 70) == 1
    assert segments("\u2019" * 71) == 2
    assert to_gsm7("don\u2019t \u2014 ok\u2026 \U0001f642") == "don't - ok... "
