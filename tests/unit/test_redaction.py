"""Full card numbers never get past the channel; nothing else is touched."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.redaction import PLACEHOLDER, luhn_valid, redact

VISA = "4242424242424242"
AMEX = "378282246310005"
MASTERCARD = "5555555555554444"
DINERS_14 = "30569309025904"


@pytest.mark.parametrize(
    "typed",
    [
        VISA,
        AMEX,
        MASTERCARD,
        DINERS_14,
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        "3782 822463 10005",
        "6011 0009 9013 9424",
        "4000 0566 5566 5556",
    ],
)
def test_a_card_number_in_any_grouping_is_removed(typed: str) -> None:
    result = redact(f"cancel please, my card is {typed}, thanks")
    assert result.text == f"cancel please, my card is {PLACEHOLDER}, thanks"
    assert result.had_card_number and result.removed == 1
    assert not any(run in result.text for run in typed.replace("-", " ").split())


@pytest.mark.parametrize(
    "typed",
    [
        "4242",
        "my card ends in 4242",
        "+15555550100",
        "call 555 555 0100",
        "code GR-7K2P9Q",
        "order 1234567890123",  # 13 digits, fails Luhn
        "4242424242424241",  # one digit off: not a card
        "charged 15.00 on 2026-12-15",
        # a tracking number: only its first groups are tried as a card
        "tracking 9400 1000 0000 0000 0000 00 never arrived",
    ],
)
def test_other_numbers_are_left_alone(typed: str) -> None:
    result = redact(typed)
    assert result.text == typed and not result.had_card_number


def test_two_cards_and_a_card_glued_to_other_digits() -> None:
    result = redact(f"{VISA} or {MASTERCARD}")
    assert result.text == f"{PLACEHOLDER} or {PLACEHOLDER}" and result.removed == 2
    glued = redact("000012345" + VISA)  # longer than any card: windows are checked
    assert VISA not in glued.text and glued.had_card_number


@pytest.mark.parametrize(
    "typed",
    [
        f"{VISA} 123",  # the CVV right after it
        "4242 4242 4242 4242 123",
        f"{AMEX} 1225",
        "4242 4242 4242 4242 12/27",
        "4242 - 4242 - 4242 - 4242",
        "4242\u00a04242\u00a04242\u00a04242",
        "4242.4242.4242.4242",
        "4242  4242  4242  4242",
    ],
)
def test_a_card_number_followed_by_more_digits_or_spaced_oddly_is_removed(
    typed: str,
) -> None:
    # they used to fail the Luhn check as a whole and pass untouched
    cleaned = redact(f"my card is {typed} ok").text
    assert PLACEHOLDER in cleaned
    # no group of the number is left (an expiry's "/27" may be)
    assert not re.search(r"\d{3}", cleaned), cleaned


def test_luhn() -> None:
    assert luhn_valid(VISA) and luhn_valid(AMEX) and not luhn_valid("4242424242424243")


def with_check_digit(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


@given(
    body=st.text(alphabet="0123456789", min_size=12, max_size=18),
    separators=st.lists(
        st.sampled_from(["", " ", "-", "  ", " - ", ".", "\u00a0"]),
        min_size=19,
        max_size=19,
    ),
    before=st.text(alphabet="abc ,:!?", max_size=20),
    after=st.text(alphabet="abc ,:!?", max_size=20),
    extra=st.sampled_from(["", " 123", " 0127", " 12/27", "-4567"]),
)
def test_no_card_number_survives_however_it_is_typed(
    body, separators, before, after, extra
):
    card = with_check_digit(body)
    typed = "".join(d + s for d, s in zip(card, separators, strict=False))
    typed = typed.rstrip(" -.\u00a0") + extra
    cleaned = redact(before + typed + after).text
    # all gone, but for the year of an expiry date after the slash
    assert "".join(c for c in cleaned if c.isdigit()) in ("", "27")
    assert PLACEHOLDER in cleaned
