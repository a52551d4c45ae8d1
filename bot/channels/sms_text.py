"""Text that fits an SMS: GSM-7 characters, segment counts, message bodies.

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
# Twilio refuses a message body longer than this (error 21617).
MAX_BODY = 1600
BETWEEN_REPLIES = "\n\n"
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
    "\t": " ",
    "`": "'",
    # a vulgar fraction decomposes to digits around a fraction slash (U+2044)
    "\u2044": "/",
}
KEPT_CONTROLS = {"\n", "\r"}


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENDED for char in text)


def septets(text: str) -> int:
    """Return how many GSM-7 septets ``text`` takes (it is GSM-7 already)."""
    return sum(2 if char in GSM7_EXTENDED else 1 for char in text)


def segments(text: str) -> int:
    """Return how many SMS segments ``text`` takes."""
    if is_gsm7(text):
        count = septets(text)
        return 1 if count <= 160 else math.ceil(count / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def _sendable(char: str) -> bool:
    # GSM-7 has a form feed too, but no phone shows one: controls are dropped
    if unicodedata.category(char) == "Cc":
        return char in KEPT_CONTROLS
    return char in GSM7_BASIC or char in GSM7_EXTENDED


def to_gsm7(text: str) -> str:
    """Return ``text`` with typographic characters replaced and the rest dropped.

    The bot's own lines are GSM-7 already (a test checks each); this guards
    what comes from elsewhere, so one stray character (a tab, a backtick)
    never makes a whole joined text UCS-2, 70 characters a segment. A
    fraction is spelled out, apart from a number before it: "1 1/2", since
    "11/2" reads as eleven halves.
    """
    out = ""
    for char in text:
        plain = ASCII_STAND_INS.get(char, char)
        if not all(_sendable(c) for c in plain):
            decomposed = unicodedata.normalize("NFKD", char)
            plain = "".join(ASCII_STAND_INS.get(c, c) for c in decomposed)
            # judged on what is kept: a character dropped between the number
            # and the fraction (a zero-width space, an emoji) would leave "11/2"
            if "\u2044" in decomposed and out[-1:].isdigit():
                plain = " " + plain
        out += "".join(c for c in plain if _sendable(c))
    return out


# Why one turn's replies go out as one text: carriers may deliver separate
# texts in any order (the question before the receipt it follows), but the
# segments of one concatenated SMS are reassembled into one message, in order.
# The cost hardly changes: a concatenated SMS carries 153 septets a segment,
# not 160, and each blank line between replies takes 2. So n replies of one
# segment each (n segments sent apart) take at most 162n - 2 septets, and at
# most 1600 in one body: never more than n + 1 segments. Short replies often
# share a segment and cost less.
def sms_bodies(texts: list[str]) -> list[str]:
    """Return one turn's replies as the fewest message bodies, in order.

    Each reply is made GSM-7 (``to_gsm7``); replies are joined by a blank
    line, and a new body starts only where the next reply would take this one
    past MAX_BODY (counted in septets, never fewer than Twilio's characters).
    A reply over MAX_BODY on its own is first cut at spaces into pieces as
    long as fit, which are then joined like replies.
    """
    bodies: list[str] = []
    gap = septets(BETWEEN_REPLIES)
    for text in texts:
        for piece in _pieces(to_gsm7(text).strip()):
            if bodies and septets(bodies[-1]) + gap + septets(piece) <= MAX_BODY:
                bodies[-1] += BETWEEN_REPLIES + piece
            else:
                bodies.append(piece)
    return bodies


def _pieces(text: str) -> list[str]:
    """Cut ``text`` into pieces of at most MAX_BODY septets, at spaces if any."""
    pieces: list[str] = []
    while septets(text) > MAX_BODY:
        fits, used = 0, 0
        while used + septets(text[fits]) <= MAX_BODY:
            used += septets(text[fits])
            fits += 1
        # text[fits] is the first character that does not fit: a space there
        # ends a whole word; a word longer than a body is cut where it must be.
        cut = next((i for i in range(fits, 0, -1) if text[i].isspace()), fits)
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*pieces, text] if text else pieces
