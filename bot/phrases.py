"""Reading small things out of what the customer typed."""

from __future__ import annotations

import difflib
import re
import unicodedata
from typing import Optional

_NO_OFFERS = re.compile(
    r"\b(no|without|skip|zero|not interested in|don'?t want|don'?t need)\b"
    r"[\w\s,'-]{0,20}"
    r"\b(offers?|deals?|discounts?|promos?|promotions?|retention|sales? pitch|pitch)\b"
    r"|\bjust (cancel|end|close|stop)\b"
    r"|\bdon'?t (try to )?((keep|convince|persuade) me|talk me out|sell)\b",
    re.IGNORECASE,
)
# what is said about offers, not asked of them: "there was no discount for
# students", "it's no big deal"
_NOT_ABOUT_OUR_OFFER = re.compile(
    r"\bthere(\s+(is|was|are|were)|'s)\b[^.,;!?]*|\bno big deal\b", re.IGNORECASE
)
_LAST4 = re.compile(r"(?<![\d])(\d{4})(?![\d])")
_EMAIL = re.compile(
    r"[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)


_RETRY = re.compile(r"\b(again|retry|re-try)\b", re.IGNORECASE)
_PAUSE = re.compile(
    r"\b(paus(e|ed|ing)|freez(e|ing)|on hold|take a break from)\b", re.IGNORECASE
)


_NOW = re.compile(
    r"\b(immediately|right (now|away)|straight away|at once|as of today|today|"
    r"asap|this (minute|instant))\b",
    re.IGNORECASE,
)


def wants_it_now(text: str) -> bool:
    """Return True when a request asks for the end now ("cancel it immediately")."""
    return bool(_NOW.search(text or ""))


_REFUND = re.compile(
    r"\b(refund(s|ed|ing)?|money back|reimburs\w*|charge ?backs?)\b", re.IGNORECASE
)


def wants_refund(text: str) -> bool:
    """Return True when a message asks for (or about) money back."""
    return bool(_REFUND.search(text or ""))


def wants_pause(text: str) -> bool:
    """Return True when a message asks to pause (freeze, hold) rather than end."""
    return bool(_PAUSE.search(text or ""))


_STOP = re.compile(
    r"^\W*((no+|nope|nah|ok(ay)?|actually|wait|hmm+|oh|sorry)\W+)*"
    r"(never ?mind|nvm|forget (it|that|about it)|don'?t bother|leave it|not now|"
    r"maybe later|later|no thanks?|no thank you|stop|i'?ll think about it|"
    r"(i'?ve |i )?changed my mind|"
    r"no+|nope|nah)"
    r"(\W+(then|thanks|thank you|please|for now|sorry|i'?ll stay))*\W*$",
    re.IGNORECASE,
)


def wants_to_stop(text: str) -> bool:
    """Return True when the answer to a question backs out ("never mind").

    Only a whole message of such words: "no, the premium one" answers.
    """
    return bool(_STOP.match(text or ""))


_PLAIN_NO = re.compile(
    r"^\W*(no+|nope|nah|no thanks?|no thank you|just cancel( it)?|cancel( it)?|2)\W*$",
    re.IGNORECASE,
)


def plain_no(text: str) -> bool:
    """Return True for a bare no to the offer, one that names no plan."""
    return bool(_PLAIN_NO.match(text or ""))


def wants_retry(text: str) -> bool:
    """Return True for a short "try again", whatever intent it was given."""
    return len(text or "") <= 40 and bool(_RETRY.search(text or ""))


def wants_no_offers(text: str) -> bool:
    """Return True if the customer asked to skip retention offers."""
    return bool(_NO_OFFERS.search(_NOT_ABOUT_OUR_OFFER.sub(" ", text or "")))


def ascii_digits(text: str) -> Optional[str]:
    """Return decimal digits of any script (full-width, Arabic-Indic) as ASCII.

    None if any character is not a decimal digit: "²⁰²⁴" and "①②" look like
    digits to str.isdigit and to spaCy's shapes, but are no number typed.
    """
    if not text:
        return None
    try:
        return "".join(str(unicodedata.decimal(char)) for char in text)
    except ValueError:
        return None


def card_last4(text: str) -> Optional[str]:
    """Return the one 4-digit group in ``text`` (as ASCII), or None if none or several.

    A phone's keyboard may type full-width digits; billing takes ASCII ones.
    """
    found = _LAST4.findall(text or "")
    return ascii_digits(found[0]) if len(found) == 1 else None


def email_address(text: str) -> Optional[str]:
    """Return the email address in ``text``, lower-cased, or None."""
    match = _EMAIL.search(text or "")
    return match.group().strip(".").lower() if match else None


def numbered_choice(text: str) -> Optional[int]:
    """Return N if the whole answer is the number N ("1", "1.", " 2 "), else None."""
    match = re.fullmatch(r"\s*(\d{1,2})\s*[.)!]?\s*", text or "")
    return int(match.group(1)) if match else None


def subscription_choice(text: str, names: list[str]) -> Optional[list[int]]:
    """Return the chosen positions (0-based) among ``names``, or None if unclear.

    Understands a number ("2"), "all"/"both", and a plan name or a word of it
    ("premium", "the family one").
    """
    text = (text or "").strip().lower()
    named = plans_named(text, names)  # "the premium one, keep the add-on"
    if named is not None:
        return named
    numbers = re.findall(r"\b(\d{1,2})\b", text)
    if len(numbers) == 1 and 1 <= int(numbers[0]) <= len(names):
        return [int(numbers[0]) - 1]
    _, kept = _mentions(text, names)
    if kept:
        return None  # a plan kept is not a plan chosen: ask again
    words = set(re.findall(r"[a-z]+", text))
    hits = [
        i
        for i, name in enumerate(names)
        if words & set(re.findall(r"[a-z]+", name.lower())) - {"plan", "the", "a"}
    ]
    return hits if len(hits) == 1 else None


_CHEAPER = re.compile(
    r"\b(cheap(er|est)?|(less|least) (expensive|pricey))\b", re.IGNORECASE
)
_DEARER = re.compile(r"\b(expensive|pric(ey|ier|iest)|dear(er|est))\b", re.IGNORECASE)
_PRICE = re.compile(r"^(\d+(?:\.\d+)?) ([A-Z]{3}) a (\w+)$")


def ends_by_price(text: str) -> bool:
    """Return True for "cancel the cheaper one": an ending told apart by price.

    The classifiers learnt "the cheaper plan" from plan changes and call it
    out of scope; with an ending verb it is a cancel request.
    """
    text = text or ""
    return bool(_ENDING.search(text)) and bool(
        _CHEAPER.search(text) or _DEARER.search(text)
    )


def choice_by_price(text: str, prices: list[str]) -> Optional[int]:
    """Return the position of "the cheaper one" or "the more expensive one".

    ``prices`` read "15.00 USD a month", as the bot listed them; prices in
    different currencies or periods are not compared, and a tie picks none.
    """
    cheaper = bool(_CHEAPER.search(text or ""))
    dearer = bool(_DEARER.search(_CHEAPER.sub(" ", text or "")))
    parsed = [_PRICE.match(price or "") for price in prices]
    if cheaper == dearer or len(prices) < 2 or not all(parsed):
        return None
    if len({(m.group(2), m.group(3)) for m in parsed if m}) != 1:
        return None
    amounts = [float(m.group(1)) for m in parsed if m]
    wanted = min(amounts) if cheaper else max(amounts)
    return amounts.index(wanted) if amounts.count(wanted) == 1 else None


# Words of a plan's name that do not tell one plan from another.
_GENERIC_PLAN_WORDS = {
    "plan", "the", "a", "an", "my", "add", "on", "addon", "subscription",
    "membership", "account", "monthly", "yearly", "annual", "and", "of", "to",
    "for", "with", "tier", "package",
}  # fmt: skip
# A plan named right after one of these is the one the customer keeps.
_SPARED = {"keep", "keeping", "not", "except", "without", "leave", "leaving"}
_DETERMINERS = {"the", "my", "our", "that", "this", "its"}
_ADD_ON = re.compile(r"\badd[\s-]?ons?\b", re.IGNORECASE)
_ENDING = re.compile(
    r"\b(cancel\w*|stop\w*|end|ending|remove|drop|get rid of|unsubscribe|"
    r"turn off|switch off|close|terminate|discontinue|don'?t want)\b",
    re.IGNORECASE,
)


_EVERY = {"all", "both", "everything", "every", "each"}


def _spared(before: list[str], spared: set[str]) -> bool:
    """Return True when the words before a plan name keep it ("keep my", "not").

    "but" spares only after "all": "all but premium" keeps Premium, while
    "cancel it, but premium too" does not.
    """
    if before and before[-1] in spared:
        return True
    if len(before) > 1 and before[-1] == "but" and before[-2] in _EVERY:
        return True
    return len(before) > 1 and before[-1] in _DETERMINERS and before[-2] in spared


def _mentions(
    text: str, names: list[str], undo: bool = False
) -> tuple[set[int], set[int]]:
    """Return the positions of the plans ``text`` names, and of those it spares.

    Asking to undo a cancellation, "keep my premium" names Premium: only
    not / except / without / leave spare a plan then.
    """
    spared = _SPARED - {"keep", "keeping"} if undo else _SPARED
    words = re.findall(r"[a-z]+", (text or "").lower())
    ended: set[int] = set()
    kept: set[int] = set()
    for i, name in enumerate(names):
        own = set(re.findall(r"[a-z]+", name.lower())) - _GENERIC_PLAN_WORDS
        for at, word in enumerate(words):
            if len(word) > 2 and any(_same_word(word, w) for w in own):
                (kept if _spared(words[:at], spared) else ended).add(i)
    return ended, kept


def _same_word(typed: str, own: str) -> bool:
    """Return True for a plan's word as typed, typos included ("premum").

    Short words must match exactly: "basis" is not "basic".
    """
    if typed == own:
        return True
    if min(len(typed), len(own)) < 5:
        return False
    return difflib.SequenceMatcher(None, typed, own).ratio() >= 0.85


# "all" as what is ended: "cancel both", "end them all"
_ENDS_ALL = (
    r"\b(cancel\w*|end|stop|close|terminate|drop)\s+(them\s+)?"
    r"(both|all|everything)\b"
    r"|\bthem (both|all)\b"
)
_ALL_OF_THEM = re.compile(
    _ENDS_ALL + r"|\b(both|all)\s+(of\s+)?(my|the|our)?\s*"
    r"(subscriptions|plans|memberships|accounts)\b",
    re.IGNORECASE,
)


def names_all(text: str) -> bool:
    """Return True when a request is for every subscription ("cancel both").

    Only next to the ending verb or the word subscriptions: "everything is
    too expensive" and "that's all" name nothing.
    """
    return bool(_ALL_OF_THEM.search(text or ""))


# every plan said outright: "both" opening an answer, or "all" as the verb's
# object; an opening "all" ("all right, cancel premium", "all I want is...")
# counts only when no plan is named
_EVERY_ONE = re.compile(r"^\W*(both|every ?one|each)\b|" + _ENDS_ALL, re.IGNORECASE)
_OPENING_ALL = re.compile(r"^\W*(all|every ?thing)\b", re.IGNORECASE)
_AND = re.compile(r"\b(and|plus|both)\b|[,&+]", re.IGNORECASE)


def plans_named(text: str, names: list[str], undo: bool = False) -> Optional[list[int]]:
    """Return the positions of the plans a request or answer ends, or None.

    "all but premium" and "cancel, keep premium" end the others; "both" or
    "cancel all of them" every one; "premium and the family add-on" the
    two named; "cancel my premium, I've tried all the plans" Premium, as a
    plan named wins over "all" in passing. None when unclear: the bot asks.
    """
    text = text or ""
    ended, kept = _mentions(text, names, undo)
    ended -= kept
    every = list(range(len(names)))
    if kept and not ended:
        rest = [i for i in every if i not in kept]
        return rest or None
    if not kept and _EVERY_ONE.search(text):
        return every
    if len(ended) == 1:
        return sorted(ended)
    # several named, joined: "premium and family"; without a join, two plans
    # sharing a word ("Premium", "Premium Family") were both read: ask
    if len(ended) > 1:
        return sorted(ended) if _AND.search(text) else None
    return every if _OPENING_ALL.search(text) or names_all(text) else None


_UNDO = re.compile(
    r"\b(undo|un-do|changed? (my|our) minds?|keep|restore|reactivate|reinstate|"
    r"bring\b[^.?!]{0,30}\bback|(want|get|have)\b[^.?!]{0,30}\bback|"
    r"(don'?t|do not|not) (cancel|end|remove|drop|stop))\b",
    re.IGNORECASE,
)
_CANCELLATION = re.compile(r"\bcancell?ations?\b", re.IGNORECASE)


def undoes_an_add_on(text: str) -> bool:
    """Return True when a message asks to keep an add-on ("bring it back").

    "Undo the add-on's cancellation", "changed my mind about the add-on,
    keep it". The classifiers learnt add-ons as plan changes, as with ending one. An
    ending verb outside the undo's own words ("cancel premium, keep the
    add-on") makes it a cancel request instead.
    """
    text = text or ""
    if not (_ADD_ON.search(text) and _UNDO.search(text)):
        return False
    rest = _CANCELLATION.sub(" ", _UNDO.sub(" ", text))
    return not _ENDING.search(rest)


_STAY = re.compile(
    r"\b(stay(ing)?|keep(ing)?|changed? (my|our) minds?|undo|reactivate|"
    r"(don'?t|do not|not) (cancel|end|close|stop))\b",
    re.IGNORECASE,
)


def wants_to_stay(text: str) -> bool:
    """Return True when an answer keeps the subscription ("I'll stay", "keep it").

    Said to the offer it is neither a yes (nothing was accepted) nor a no (no
    longer a request to end anything). An ending verb outside those words
    ("don't keep it, cancel") makes it a no.
    """
    text = text or ""
    meant = [m for m in _STAY.finditer(text) if not _NEGATED.search(text[: m.start()])]
    if not meant:  # "I'm not staying", "I can't keep paying": a no
        return False
    return not _ENDING.search(_CANCELLATION.sub(" ", _STAY.sub(" ", text)))


_NEGATED = re.compile(r"(\bnot|n't|\bnever|\bno longer)\s+(\w+\s+)?$", re.IGNORECASE)


def mentions_undoing(text: str) -> bool:
    """Return True when words ask to undo a cancellation, not just to stop one.

    "Undo my cancellation", "reactivate my plan", as against "I changed my
    mind" while a cancellation is still being asked for.
    """
    return bool(_UNDOING.search(text or ""))


_UNDOING = re.compile(
    r"\b(undo|un-do|uncancel|restore|re-?activate|reinstate|"
    r"bring\b[^.?!]{0,30}\bback|cancell?ations?)\b",
    re.IGNORECASE,
)


def ends_an_add_on(text: str) -> bool:
    """Return True when a message asks to end an add-on ("drop the family add-on").

    Where add-ons are subscriptions of their own, that is a cancel request
    the classifiers (taught that removing an add-on is a plan change) miss.
    """
    return bool(_ADD_ON.search(text or "")) and bool(_ENDING.search(text or ""))


# "What happens if I cancel?": a question about ending, asked before deciding.
# Present tense only: "I was charged after I cancelled" is a complaint.
_ENDING_NOW = r"cancel|end|close|unsubscribe|quit|stop|terminate|leave"
_ABOUT_CANCELLING = re.compile(
    r"\b(if|when|after|once|before|should)\s+(i|we)\s+"
    r"(do\s+|decide to\s+|choose to\s+|were to\s+)?(" + _ENDING_NOW + r")\b"
    r"|\bwhat happens\b[^.?!]*?\b(cancel|cancell?ing|cancell?ation|unsubscribing)\b"
    r"|\b(cancell?ation|termination|exit)\s+(fees?|penalty|penalties|charges?)\b"
    r"|\b(fees?|penalty|penalties|charges?|costs?)\s+(to|for|if i)\s+"
    r"(cancell?ing|ending|closing|leaving|quitting|" + _ENDING_NOW + r")\b",
    re.IGNORECASE,
)
# What may follow "cancel my ..." in such a question and still be ours; any
# other object ("if I cancel my flight") is someone else's policy.
_OURS = {
    "subscription", "subscriptions", "membership", "plan", "plans", "account",
    "service", "contract", "trial", "renewal", "premium", "basic", "pro",
    "family", "add-on", "addon", "it", "that", "this",
}  # fmt: skip
_OBJECT = re.compile(
    r"^\W*(?:(?:for|on|of|with)\s+)?(?:my|the|our|your|this|that|a|an)\s+([\w-]+)",
    re.IGNORECASE,
)
_DATA = re.compile(
    r"\b(data|information|info|history|files|photos|content|playlists?|"
    r"progress|profiles?|points)\b",
    re.IGNORECASE,
)


def asks_about_cancelling(text: str) -> bool:
    """Return True for a question about what cancelling means, not a request.

    "What happens if I cancel?", "is there a cancellation fee?", "will I
    lose access if I end my plan?"; not when what is ended is something else
    ("can I get a refund if I cancel my flight").
    """
    match = _ABOUT_CANCELLING.search(text or "")
    if match is None:
        return False
    cancelled = _OBJECT.match(text[match.end() :])
    return cancelled is None or cancelled.group(1).lower() in _OURS


def asks_about_data(text: str) -> bool:
    """Return True when a message asks about the customer's data or history."""
    return bool(_DATA.search(text or ""))


# Words that only introduce a detail: "my email is ...", "card ends in ...".
# Yes/no words are not among them: "sure, ana@example.com" still answers yes.
_DETAIL_WORDS = {
    "my", "email", "e", "mail", "address", "is", "it", "it's", "its", "that's",
    "thats", "the", "a", "card", "ends", "ending", "in", "with", "last", "four",
    "4", "digits", "digit", "number", "numbers", "on", "file", "account", "here",
    "here's", "heres", "and", "are", "of", "visa", "mastercard", "amex", "debit",
    "credit", "please", "pls", "thanks", "thank", "you", "hi", "hello", "hey",
    "used", "use", "i",
}  # fmt: skip
_WORDS = re.compile(r"[a-z0-9']+")
DETAIL_ENTITIES = ("email", "card_last4")


def without_details(text: str, entities: list[dict]) -> str:
    """Return ``text`` with the email and card digits found in it taken out."""
    spans = sorted(
        (int(e["start"]), int(e["end"]))
        for e in entities or []
        if e.get("entity") in DETAIL_ENTITIES and "start" in e and "end" in e
    )
    kept, at = [], 0
    for start, end in spans:
        kept.append(text[at:start])
        at = max(at, end)
    kept.append(text[at:])
    return " ".join(" ".join(kept).split())


def has_details(entities: list[dict]) -> bool:
    """Return True when the NLU found an email or card digits in a message."""
    return any(e.get("entity") in DETAIL_ENTITIES for e in entities or [])


def details_only(text: str, entities: list[dict]) -> bool:
    """Return True when a message holds an email or card digits, nothing else.

    Such a message asks for nothing: it answers a question the bot asked, or
    will ask. A classifier that has seen emails mostly in cancel requests
    must not take it for one.
    """
    if not has_details(entities):
        return False
    rest = without_details(text, entities).lower()
    return all(word in _DETAIL_WORDS for word in _WORDS.findall(rest))
