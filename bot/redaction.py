"""Removing full card numbers from what customers type, before anything keeps it.

A card number here is 13 to 19 digits, optionally grouped by spaces, dashes
or dots (" - " and non-breaking spaces too), that passes the Luhn check, also
when more digits follow it in the same run: the CVV or the expiry typed right
after it ("4111 1111 1111 1111 123"). Shorter runs (a last 4, a phone number in
E.164, a confirmation code) are left alone. Every channel calls ``redact``
before the text reaches the NLU, the tracker store or a log line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PLACEHOLDER = "[card number removed]"
# Digits with at most three separators between them, 13 or more in all.
_SEPARATOR = r"[\s\-.\u00a0\u2007\u2009\u202f]"
_CANDIDATE = re.compile(rf"(?<![\d])\d(?:{_SEPARATOR}{{0,3}}\d){{12,}}(?![\d])")
_GROUPS = re.compile(r"\d+")


def luhn_valid(digits: str) -> bool:
    """Return True if ``digits`` (only digits) passes the Luhn checksum."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


@dataclass(frozen=True)
class Redacted:
    text: str
    removed: int

    @property
    def had_card_number(self) -> bool:
        return self.removed > 0


def _is_card_number(run: str) -> bool:
    """Return True if a digit run is, or hides, a card number.

    A card if its first whole groups holding 13-19 digits pass Luhn:
    "4111111111111111 123" is a card and its CVV. No other window is checked
    in a run of groups (that would flag order and tracking numbers by
    chance). An unbroken group of more than 19 digits is not normal input;
    one that contains any Luhn-valid 13-19 digit window is treated as a card
    typed next to other digits. The whole run is removed either way.
    """
    stretch = ""
    for group in _GROUPS.findall(run):
        stretch += group
        if len(stretch) > 19:
            break
        if len(stretch) >= 13 and luhn_valid(stretch):
            return True
    return any(
        len(group) > 19 and _hides_a_card(group) for group in _GROUPS.findall(run)
    )


def _hides_a_card(digits: str) -> bool:
    return any(
        luhn_valid(digits[start : start + length])
        for length in range(13, 20)
        for start in range(len(digits) - length + 1)
    )


def redact(text: str) -> Redacted:
    """Return ``text`` with every card number replaced by a placeholder."""
    removed = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal removed
        if not _is_card_number(match.group()):
            return match.group()
        removed += 1
        return PLACEHOLDER

    return Redacted(_CANDIDATE.sub(replace, text), removed)
