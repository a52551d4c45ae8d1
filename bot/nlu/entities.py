"""Deterministic extractor for ``card_last4`` and ``email`` built on spaCy's Matcher.

* email: any token spaCy considers ``like_email``.
* card_last4: a token of exactly four digits, unless the context says it is a
  year or an amount ("charged 2026", "$1500", "since 2019", "1500 dollars").
  A message that is only four digits is always a card_last4.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

import spacy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from spacy.matcher import Matcher
from spacy.tokens import Doc

from bot.nlu.rules import RuleComponent
from bot.phrases import ascii_digits

SPACY_DOC_KEY = "text_spacy_doc"  # set by SpacyNLP, see rasa.nlu.constants.SPACY_DOCS

# words right before the number that make it a card's last four digits
CARD_CONTEXT = {
    "card",
    "cards",
    "ending",
    "ends",
    "end",
    "ended",
    "last",
    "digits",
    "digit",
    "four",
    "4",
    "last4",
    "visa",
    "mastercard",
    "amex",
    "discover",
    "debit",
    "credit",
    "number",
    "no",
    "no.",
    "#",
    "xxxx",
    "****",
    "with",
    "in",
}
# "in"/"with" only count together with one of the stronger words above
WEAK_CARD_CONTEXT = {"with", "in", "no", "no.", "number", "#", "end"}
# words right before the number that make it a year, a date or an amount
NOT_CARD_BEFORE = {
    "in",
    "since",
    "year",
    "years",
    "from",
    "until",
    "till",
    "by",
    "of",
    "charged",
    "paid",
    "pay",
    "cost",
    "costs",
    "billed",
    "refund",
    "refunded",
    "price",
    "fee",
    "around",
    "about",
    "spent",
    "owe",
    "at",
    "jan",
    "january",
    "feb",
    "february",
    "mar",
    "march",
    "apr",
    "april",
    "may",
    "jun",
    "june",
    "jul",
    "july",
    "aug",
    "august",
    "sep",
    "sept",
    "september",
    "oct",
    "october",
    "nov",
    "november",
    "dec",
    "december",
    "$",
    "£",
    "€",
    "usd",
    "eur",
    "gbp",
    "before",
    "after",
    "back",
    "early",
    "late",
    "summer",
    "winter",
    "spring",
    "fall",
    "autumn",
}
NOT_CARD_AFTER = {
    "dollars",
    "dollar",
    "usd",
    "bucks",
    "euros",
    "euro",
    "eur",
    "pounds",
    "gbp",
    "quid",
    "cents",
    "$",
    "€",
    "£",
    "%",
    "hrs",
    "hours",
    "minutes",
    "km",
    "miles",
    "calories",
    "times",
    "people",
    "items",
    "ad",
    "bc",
}
CURRENCY_PREFIX = ("$", "£", "€")


# Without card words around it, 4 digits are the card's only in a short
# answer ("it's 4242", "4242 thanks"); in a longer message they are an amount,
# an order or a phone number ("you charged me 1500 again, cancel it").
SHORT_ANSWER_WORDS = 6


def _is_card(doc: Doc, i: int) -> bool:
    """Decides from the surrounding words whether doc[i] (4 digits) is a card."""
    if ascii_digits(doc[i].text) is None:
        return False  # spaCy shapes "²⁰²⁴" and "①②③④" as dddd too
    content = [t for t in doc if not t.is_space]
    if len(content) == 1 or all(t.is_punct or t.i == i for t in content):
        return True  # the message is only the number
    if i >= 2 and doc[i - 1].text in {"-", ".", "/"} and doc[i - 2].like_num:
        return False  # the end of a phone number or a date: 555-123-4567
    before = [t.lower_ for t in doc[max(0, i - 3) : i]]
    after = [t.lower_ for t in doc[i + 1 : i + 4]]
    if (before and before[-1] in CURRENCY_PREFIX) or (
        after and after[0] in NOT_CARD_AFTER
    ):
        return False
    strong = [w for w in before if w in CARD_CONTEXT and w not in WEAK_CARD_CONTEXT]
    if strong:
        return True
    if (before and before[-1] in NOT_CARD_BEFORE) or (
        before[-2:-1]
        and before[-2] in NOT_CARD_BEFORE
        and before[-1] in {"the", "of", "in"}
    ):
        return False
    if any(w in {"card", "cards"} for w in after):
        return True  # "4242 is my card"
    if 1900 <= int(doc[i].text) <= 2099:
        return False  # a year
    words = [t for t in content if not t.is_punct]
    return len(words) <= SHORT_ANSWER_WORDS


class _Matchers:
    """One Matcher per spaCy vocabulary (SpacyNLP's docs vs our fallback blank nlp)."""

    def __init__(self) -> None:
        self._cache: Dict[int, Matcher] = {}

    def get(self, vocab: Any) -> Matcher:
        key = id(vocab)
        if key not in self._cache:
            m = Matcher(vocab)
            m.add("email", [[{"LIKE_EMAIL": True}]])
            m.add("card_last4", [[{"SHAPE": "dddd"}]])
            self._cache[key] = m
        return self._cache[key]


_MATCHERS = _Matchers()
_BLANK: Optional[Any] = None


def _blank_nlp() -> Any:
    global _BLANK
    if _BLANK is None:
        _BLANK = spacy.blank("en")
    return _BLANK


def find_entities(text: Text, doc: Optional[Doc] = None) -> List[Dict[Text, Any]]:
    """Return Rasa entity dicts for every email and card_last4 in `text`."""
    if doc is None or doc.text != text:
        doc = _blank_nlp()(text)
    entities = []
    for match_id, start, end in _MATCHERS.get(doc.vocab)(doc):
        label = doc.vocab.strings[match_id]
        span = doc[start:end]
        if label == "card_last4":
            # a 4-digit group inside a longer number ("4242 4242 ...") is only the
            # last four when it is the final group
            nxt = doc[end] if end < len(doc) else None
            if len(span.text) != 4 or (nxt is not None and nxt.is_digit):
                continue
            if ascii_digits(span.text) is None:
                continue  # "²⁰²⁴": no digits typed
            # a last group of a longer number counts only if the number looks like
            # a card number (4-digit groups), not a phone number ("555 1234 5678")
            groups = []
            k = start - 1
            while k >= 0 and doc[k].is_digit:
                groups.append(doc[k].text)
                k -= 1
            if groups and (len(groups) < 2 or any(len(g) != 4 for g in groups)):
                continue
            if len(groups) >= 2:
                entities.append(_entity(label, span))
                continue
            if not _is_card(doc, start):
                continue
        entities.append(_entity(label, span))
    return entities


def _entity(label: Text, span: Any) -> Dict[Text, Any]:
    return {
        "entity": label,
        "start": span.start_char,
        "end": span.end_char,
        # billing compares ASCII digits; a full-width keyboard types others
        "value": span.text.lower() if label == "email" else ascii_digits(span.text),
        "confidence_entity": 1.0,
    }


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class CardEmailExtractor(RuleComponent, EntityExtractorMixin):
    """Adds `card_last4` and `email` entities found by spaCy Matcher rules."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            found = find_entities(text, message.get(SPACY_DOC_KEY))
            if not found:
                continue
            found = self.add_extractor_name(found)
            # drop whatever another extractor said about the same entity types
            kept = [
                e
                for e in message.get(ENTITIES, [])
                if e.get("entity") not in {"card_last4", "email"}
            ]
            message.set(ENTITIES, kept + found, add_to_output=True)
        return messages
