"""Words the NLU rules share."""

import re
from typing import List

# lower-case words, numbers and single punctuation marks ("don't", "auto-renew")
TOKEN = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*|[^\sa-z0-9]")

# verbs that end something, typos included ("cancle", "unsubscibe")
CANCEL_VERB = re.compile(
    r"(cance?l+(ed|ing|led|ling)?|cancle|canel|cxl|stop(ping)?|end(ing)?|"
    r"clos(e|ing)|delet(e|ing)?|terminat(e|ing)|remov(e|ing)|block|freeze|"
    r"deactivat(e|ing)|discontinu(e|ing)|unsub[a-z]*|kill|quit|shut|abort|scrap)"
)
# words that open a noun phrase ("cancel *my* flight"), typos included
DETERMINERS = {
    "my",
    "the",
    "this",
    "that",
    "our",
    "your",
    "a",
    "an",
    "his",
    "her",
    "their",
    "these",
    "those",
    "mine",
    "ur",
    "teh",
    "tha",
    "da",
}
# what subscription businesses deliver or give access to ("the tea box",
# "my japanese course"): ours to the guard, and a brand's when one stands
# before it ("my Vinora wine club", bot/nlu/other_company.py)
DELIVERED = {
    "box",
    "boxes",
    "crate",
    "kit",
    "club",
    "course",
    "courses",
    "lessons",
    "classes",
    "program",
    "programme",
    "delivery",
    "deliveries",
    "autoship",
    "magazine",
    "newspaper",
    "streaming",
    "storage",
    "vpn",
    "hosting",
    "pass",
}


def lower_tokens(text: str) -> List[str]:
    """Split a message into the lower-case tokens the NLU rules read."""
    return TOKEN.findall(text.lower())
