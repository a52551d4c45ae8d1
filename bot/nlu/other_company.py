"""Another company's service: "cancel my Flixora account" is not ours to end.

A customer who asks us to close their account *at another company* ("close my
account at Northfold Bank", "how do I unsubscribe from Tunely premium") must
not be walked into cancelling *our* subscription: the labelling guide makes it
out_of_scope, and the dialogue then says what we can and cannot do.

The classifier cannot learn this: its features are lower-cased word and
character counts, and an invented brand is just an unseen word. What marks a
brand in writing is a capital letter in the middle of a sentence, next to the
thing being ended. So a message is about another company when a capitalised
word that is not ours (nor a plan tier, a month, "I" ...) stands

* right before a product noun, one word apart at most ("my Flixora account",
  "my Swiply dating profile", "Tunely premium"), or
* after a product noun and "with", "at", "from" or "to" ("my contract with
  Telvana", "membership at Ironpeak Fitness").

Messages written in title case or capitals carry no such signal and are left
alone, as is every brand in ``own_words`` (the deploying company's names from
config.yml). Lower-case brands ("cancel my flixora account") are not caught.
"""

from __future__ import annotations

import re
from typing import AbstractSet, List, Optional, Text

from bot.nlu.words import CANCEL_VERB, DELIVERED, DETERMINERS

# nouns for what is ended; a brand next to one owns it
OWNED_NOUNS = {
    "account",
    "accounts",
    "subscription",
    "subscriptions",
    "membership",
    "memberships",
    "contract",
    "plan",
    "premium",
    "profile",
    "policy",
    "insurance",
    "service",
    "trial",
    "app",
    "broadband",
    "internet",
    "line",
    "gym",
} | DELIVERED
OWNER_PREPOSITIONS = {"with", "at", "from", "to"}
# capitalised words that do not name a company: plan tiers ("my Pro plan" is
# ours), pronouns, greetings, calendar words
NOT_BRANDS = {
    "i",
    "i'm",
    "i've",
    "i'd",
    "i'll",
    "im",
    "ok",
    "okay",
    "pro",
    "plus",
    "saas",
    "premium",
    "basic",
    "standard",
    "gold",
    "silver",
    "platinum",
    "bronze",
    "family",
    "student",
    "business",
    "unlimited",
    "annual",
    "monthly",
    "yearly",
    "ultimate",
    "max",
    "lite",
    "starter",
    "essential",
    "essentials",
    "deluxe",
    "vip",
    "elite",
    "individual",
    "duo",
    "team",
    "teams",
    "enterprise",
    "personal",
    "home",
    "digital",
    "print",
    "online",
    "mobile",
    "please",
    "thanks",
    "hi",
    "hello",
    "hey",
    "sir",
    "madam",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "christmas",
    # our own nouns capitalised ("my Premium Plan subscription", "the Family
    # Add-on"), and the bot's name, which customers may take for the company's
    "plan",
    "plans",
    "add-on",
    "add-ons",
    "addon",
    "subscription",
    "membership",
    "account",
    "gracious",
}
# "get out of my contract with ...", "leave my plan at ..."
OTHER_ENDINGS = {"leave", "leaving", "out", "exit", "exiting"}
# how far before the owned noun the verb may stand ("stop my weekly magazine
# subscription from ...", "cancel the Swiply dating profile")
VERB_REACH = 5
WORD = re.compile(r"[A-Za-z0-9]+(?:['\-][A-Za-z0-9]+)*|[^\sA-Za-z0-9]")
SENTENCE_END = {".", "!", "?", ":", ";"}


def _is_brand(tokens: List[Text], i: int, own_words: AbstractSet[Text]) -> bool:
    tok = tokens[i]
    if i == 0 or tokens[i - 1] in SENTENCE_END:
        return False  # a sentence's first word is capitalised anyway
    if tokens[i - 1] == "@":
        return False  # "@StreamlyHelp": the company being written to
    if not (tok[0].isupper() and tok[1:2].islower()):
        return False  # a plain word, or an abbreviation ("SIM-only", "VIP")
    low = tok.lower()
    return low not in NOT_BRANDS and low not in own_words


def _title_case(tokens: List[Text]) -> bool:
    words = [t for t in tokens if t[0].isalpha()]
    capitalised = sum(1 for t in words if t[0].isupper())
    return not words or capitalised * 2 > len(words)


def _ended(before: List[Text]) -> bool:
    """Whether a verb that ends something stands in the words before a noun."""
    return any(CANCEL_VERB.fullmatch(t) or t in OTHER_ENDINGS for t in before)


def other_company(
    text: Text, own_words: AbstractSet[Text] = frozenset()
) -> Optional[Text]:
    """Return "<brand> <noun>" when the message ends another company's service."""
    tokens = WORD.findall(text)
    if _title_case(tokens):
        return None
    lower = [t.lower() for t in tokens]
    for k, noun in enumerate(lower):
        if noun not in OWNED_NOUNS or not _ended(lower[max(0, k - VERB_REACH) : k]):
            continue
        # "my Flixora account", "my Swiply dating profile" (not "Tom, my account")
        if k >= 1 and _is_brand(tokens, k - 1, own_words):
            return f"{tokens[k - 1]} {noun}"
        if k >= 2 and lower[k - 1] not in DETERMINERS and tokens[k - 1][0].isalpha():
            if _is_brand(tokens, k - 2, own_words):
                return f"{tokens[k - 2]} {noun}"
        for p in range(k + 1, min(k + 4, len(tokens) - 1)):
            if lower[p] in OWNER_PREPOSITIONS:
                if _is_brand(tokens, p + 1, own_words):
                    return f"{noun} {lower[p]} {tokens[p + 1]}"
                break
            if tokens[p] in SENTENCE_END or tokens[p] == ",":
                break
    return None
