"""SMS essentials without a server: signatures, GSM-7, segments, opt-out words,
one text per turn."""

from __future__ import annotations

import asyncio
import datetime as dt
import xml.etree.ElementTree as ET
from typing import Optional

import pytest

from bot.channels.sms import (
    CLAIM_ABANDONED_AFTER,
    HELP_TEXT,
    NO_TEXT,
    SmsChannel,
    sms_replies,
    sms_texts,
    twilio_signature,
    twiml,
)
from bot.channels.sms_text import MAX_BODY, is_gsm7, segments, sms_bodies, to_gsm7
from bot.database import engine_for
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
        ("revoke", []),
        ("OPTOUT", []),
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
    assert SmsChannel._answer_to({"Body": "start", "OptOutType": "START"}) == []


def test_yes_made_an_opt_in_word_still_answers_the_question() -> None:
    # Twilio flags a company's own opt-in words (Advanced Opt-Out) START too
    assert SmsChannel._answer_to({"Body": "Yes", "OptOutType": "START"}) is None


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


RECEIPT = "Done. Premium ends 15 Dec, no more charges. Code GR-7K2P9Q."
WHY = "Thanks for being with us. If you like, reply with why you left. No need to."


def messages(answer: str) -> list[str]:
    """The texts a TwiML answer sends, as Twilio reads them."""
    return [m.text or "" for m in ET.fromstring(answer).iter("Message")]


def test_a_turns_replies_go_out_as_one_text_in_their_order() -> None:
    # Separate texts may arrive in any order; one text's parts never do.
    assert messages(twiml([RECEIPT, WHY])) == [f"{RECEIPT}\n\n{WHY}"]
    assert messages(twiml([WHY, RECEIPT])) == [f"{WHY}\n\n{RECEIPT}"]
    assert messages(twiml([RECEIPT])) == [RECEIPT]
    assert messages(twiml([])) == []  # an opt-out word: no answer at all


def test_replies_past_1600_characters_go_on_in_a_second_text_between_replies() -> None:
    a, b, c = "a" * 799, "b" * 799, "c" * 700
    assert messages(twiml([a, b])) == [f"{a}\n\n{b}"]  # exactly 1600: one text
    assert messages(twiml([a + "a", b])) == [a + "a", b]  # 1601: two
    # as few texts as fit, each reply whole and in order
    assert messages(twiml([a, c, b, "d", c])) == [
        f"{a}\n\n{c}",
        f"{b}\n\nd\n\n{c}",
    ]


def test_a_reply_over_1600_characters_alone_is_cut_between_words() -> None:
    words = [f"word{n:04d}" for n in range(300)]  # 2,999 characters
    sent = messages(twiml([" ".join(words), RECEIPT]))
    assert len(sent) == 2 and all(len(text) <= MAX_BODY for text in sent)
    assert len(sent[0]) > MAX_BODY - len("word0000 ")  # as long as fits
    # no word cut in two, none lost, and the next reply follows it
    assert sent[1].endswith(f"\n\n{RECEIPT}")
    cut = sent[1].removesuffix(f"\n\n{RECEIPT}")
    assert sent[0].split(" ") + cut.split(" ") == words
    # one word longer than a text is cut where it must be
    assert messages(twiml(["x" * 2000])) == ["x" * MAX_BODY, "x" * 400]


def test_the_1600_counts_what_is_sent_after_plain_characters_replace_others() -> None:
    # each ellipsis becomes "...": 600 of them are 1,800 characters on the phone
    sent = messages(twiml(["\u2026 " * 600]))
    assert [len(text) for text in sent] == [1599, 799]
    assert all(is_gsm7(text) for text in sent)


def test_a_reply_with_a_tab_or_backtick_stays_gsm7() -> None:
    # one tab in a turn's joined text would make all of it UCS-2: 70 a segment
    sent = to_gsm7("Plan:\tPremium `Gold`\x7f\x00\x1b\f\r\nok")
    assert sent == "Plan: Premium 'Gold'\r\nok"
    assert is_gsm7(sent)
    [body] = sms_bodies([RECEIPT, "Total:\t$9.99"])
    assert is_gsm7(body) and segments(body) == 1


def test_fractions_are_spelled_out_apart_from_the_number_before_them() -> None:
    # "1 1/2", not "11/2", which reads as eleven halves
    assert to_gsm7("1\u00bd months") == "1 1/2 months"
    assert to_gsm7("\u00bc, \u00be off") == "1/4, 3/4 off"
    assert to_gsm7("2\u00be") == "2 3/4"
    # nor when a character dropped as unsendable stood between them
    assert to_gsm7("1\u200b\u00bd months") == "1 1/2 months"
    assert to_gsm7("2\U0001f642\u00be") == "2 3/4"


def test_characters_of_two_septets_count_twice_towards_the_1600() -> None:
    # "{" is one character but two septets: 801 of them do not fit one body
    assert sms_bodies(["{" * 801]) == ["{" * 800, "{"]
    assert sms_bodies(["{" * 400, "{" * 400]) == ["{" * 400, "{" * 400]
    assert sms_bodies(["{" * 399, "{" * 400]) == ["{" * 399 + "\n\n" + "{" * 400]


def replay_store(tmp_path) -> SmsChannel:
    """The channel's replay store alone, on its own SQLite file."""
    channel = SmsChannel.__new__(SmsChannel)
    channel.database_url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    return channel


def test_a_repeat_waiting_for_a_delivery_that_failed_answers_it_itself(
    tmp_path,
) -> None:
    """The waiting repeat used to claim the message, answer nothing and leave
    the claim behind: every later retry of that message was silenced."""
    channel = replay_store(tmp_path)
    assert channel._claim("SM1") is None  # the first delivery runs the turn
    assert channel._claim("SM1") == ""  # a repeat finds it in progress

    async def repeat_while_the_first_fails() -> Optional[str]:
        waiting = asyncio.ensure_future(channel._replay("SM1", ""))
        await asyncio.sleep(0.1)
        channel._release("SM1")  # the first delivery's turn raised
        return await waiting

    assert asyncio.run(repeat_while_the_first_fails()) is None  # run it here
    assert channel._claim("SM1") == ""  # and it holds the claim now
    channel._store("SM1", twiml(["Done"]))
    assert channel._claim("SM1") == twiml(["Done"])


def test_a_claim_abandoned_by_a_dead_process_is_taken_over(tmp_path) -> None:
    channel = replay_store(tmp_path)
    assert channel._claim("SM2") is None
    assert channel._claim("SM2") == ""
    with engine_for(channel.database_url).begin() as connection:
        connection.execute(
            sms_replies.update().values(
                received_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
                - CLAIM_ABANDONED_AFTER
                - dt.timedelta(seconds=5)
            )
        )
    assert channel._claim("SM2") is None  # taken over, once
    assert channel._claim("SM2") == ""
