"""Text that fits an SMS: GSM-7 characters and segment counts.

One SMS segment holds 160 GSM-7 characters (153 each when split), or only 70
UCS-2 characters (67 each) as soon as a single character falls outside GSM-7,
such as a curly quote or an emoji. Carriers bill per segment.
"""

from __future__ import annotations

import math
import unicodedata

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")  # each costs two septets
ASCII_STAND_INS = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u2022": "-",
}


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENDED for char in text)


def segments(text: str) -> int:
    """Return how many SMS segments ``text`` takes."""
    if is_gsm7(text):
        septets = sum(2 if char in GSM7_EXTENDED else 1 for char in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def to_gsm7(text: str) -> str:
    """Return ``text`` with typographic characters replaced and the rest dropped.

    The bot's own lines are GSM-7 already (a test checks each); this guards
    what comes from elsewhere, so one stray character never triples the cost.
    """
    out = []
    for char in text:
        char = ASCII_STAND_INS.get(char, char)
        if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in char):
            out.append(char)
            continue
        plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        out.append(plain)
    return "".join(out)
