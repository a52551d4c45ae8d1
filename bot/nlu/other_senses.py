"""The word "cancel" in another sense: "cancel out fractions", "what does cancel mean".

Most cancel requests use an ending verb, so the classifier learns that verb
as the strongest sign of one; it then takes the word's other uses for
requests too. Some of them are fixed phrases, and some talk *about* the
word (its meaning, spelling or translation) rather than use it. Both are
out_of_scope under the labelling guide, and neither is learnt from a few
examples. A request that only mentions a language ("cancel my Spanish
course") or a sound ("cancel, the noise is too much") is left alone: the rule
needs the phrase or the question about the word.
"""

from __future__ import annotations

import itertools
import re
from typing import List, Optional, Text

from bot.nlu.words import lower_tokens

# "cancel", "cancellation", "cancelling", typos included
CANCEL_WORD = re.compile(r"(cance?l+|cancle|canel)[a-z]*")
# fixed phrases in which the word ends nothing of ours
PHRASES = [
    ("cancel", "out"),
    ("cancels", "out"),
    ("cancelling", "out"),
    ("canceling", "out"),
    ("noise", "cancelling"),
    ("noise", "canceling"),
    ("noise", "cancellation"),
    ("noise-cancelling",),
    ("noise-canceling",),
    ("cancel", "culture"),
]
# words that ask about a word: "the meaning of cancel", "spell cancellation"
ABOUT_THE_WORD = {
    "define",
    "definition",
    "synonym",
    "synonyms",
    "antonym",
    "antonyms",
    "spell",
    "spelling",
    "spelt",
    "spelled",
    "pronounce",
    "pronunciation",
    "rhymes",
    "rhyme",
    "translate",
    "translation",
}
# how far before the word such a question may stand ("a synonym for cancel")
REACH = 3


def _has_phrase(toks: List[Text]) -> Optional[Text]:
    for i in range(len(toks)):
        for phrase in PHRASES:
            end = i + len(phrase)
            if tuple(toks[i:end]) != phrase:
                continue
            if phrase[-1] == "out" and toks[end : end + 1] == ["of"]:
                continue  # "cancel out of my membership" is a request
            return " ".join(phrase)
    return None


def _meaning_of(before: List[Text]) -> bool:
    """Find "the meaning of cancel", not "I've been meaning to cancel"."""
    pairs = itertools.pairwise(before)
    return any(a == "meaning" and b in ("of", "for") for a, b in pairs)


def other_sense(text: Text) -> Optional[Text]:
    """Return how the message uses the word when it is not a request to end anything."""
    toks = lower_tokens(text)
    phrase = _has_phrase(toks)
    if phrase:
        return phrase
    for i, tok in enumerate(toks):
        if not CANCEL_WORD.fullmatch(tok):
            continue
        before = toks[max(0, i - REACH) : i]
        if any(t in ABOUT_THE_WORD for t in before) or _meaning_of(before):
            return f"the word {tok!r}"
        # "what does cancel mean", "what does 'cancellation' mean here"
        after = [t for t in toks[i + 1 : i + 4] if re.match(r"[a-z]", t)]
        if "does" in before and after[:1] in (["mean"], ["means"]):
            return f"the word {tok!r}"
    return None
