"""One-word answers, decided by rule: yes and no are a closed class of words.

DIET learns phrases well but sees too few one-token answers to be sure of
"yup", a thumbs-up emoji, or the "1"/"2" our SMS texts ask for ("Reply 1 to
take it or 2 to cancel now"). When the whole message is one such token
(punctuation aside), this component sets affirm or deny with full
confidence; anything longer is left to the classifier.

The same goes for "try again", which the bot itself asks for after billing
trouble: a whole message like "try again" / "retry please" is none of our
intents, so it is set to out_of_scope, whose rule resumes the interrupted
request (actions/other.py) instead of whatever a classifier guessed.

``DetailsOnly``: a message that is nothing but an email or the card's last
4 ("ana@example.com", "it's 4242") answers a question; every classifier of
the vote took a bare email for a cancel request (emails are in our training
data almost only inside cancel requests), and a customer who opened the chat
with their email found a cancellation started. Such a message is out of
scope with full confidence and no cancel ranking (so the bot does not ask
"do you want to cancel?" either); the forms take the details from the
entities, and outside a form the bot keeps them and asks what to do
(actions/other.py).
"""

from __future__ import annotations

import re
from typing import List, Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.rules import RuleComponent
from bot.notes import DETAILS_ONLY
from bot.phrases import details_only

YES = {
    "yes",
    "yeah",
    "yea",
    "yep",
    "yup",
    "ya",
    "yah",
    "y",
    "sure",
    "ok",
    "okay",
    "k",
    "kk",
    "affirmative",
    "absolutely",
    "definitely",
    "certainly",
    "correct",
    "right",
    "alright",
    "deal",
    "agreed",
    "fine",
    "1",
    "\U0001f44d",
    "\U0001f44c",
    "\u2705",
    "\u2714",
    "\u2714\ufe0f",
    "\U0001f44d\U0001f3fb",
}
NO = {
    "no",
    "nope",
    "nah",
    "naw",
    "n",
    "negative",
    "never",
    "pass",
    "2",
    "\U0001f44e",
    "\u274c",
    "\U0001f645",
}
_EDGES = re.compile(r"^[\s.!?,;:'\"()]+|[\s.!?,;:'\"()]+$")
_RETRY = re.compile(
    r"(ok(ay)? |please |pls |can you |could you |let'?s )*"
    r"(retry|re-try|(try|do it|go|give it a go|have a go)( it| that)? "
    r"(again|once more))( now| please| pls)*"
)


def one_word_answer(text: str) -> Optional[str]:
    """Return the intent a closed-class message has, else None.

    "affirm" or "deny" for a one-token yes or no, "out_of_scope" for a
    whole-message "try again".
    """
    word = _EDGES.sub("", (text or "").lower())
    if word in YES:
        return "affirm"
    if word in NO:
        return "deny"
    if _RETRY.fullmatch(" ".join(word.split())):
        return "out_of_scope"
    return None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class OneWordAnswers(RuleComponent, IntentClassifier):
    """Sets affirm or deny for messages that are a single yes or no token."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            answer = one_word_answer(message.get(TEXT) or "")
            if answer is not None:
                decide(message, answer)
        return messages


def decide(message: Message, intent: str) -> None:
    """Set ``intent`` with full confidence; every other intent ranks at 0."""
    others = [
        {**r, PREDICTED_CONFIDENCE_KEY: 0.0}
        for r in message.get(INTENT_RANKING_KEY) or []
        if r.get(INTENT_NAME_KEY) != intent
    ]
    decided = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
    message.set(INTENT, decided, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [decided, *others], add_to_output=True)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class DetailsOnly(RuleComponent, IntentClassifier):
    """Sets out_of_scope for a message of nothing but the customer's details."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if details_only(message.get(TEXT) or "", message.get(ENTITIES) or []):
                decide(message, "out_of_scope")
                message.set(DETAILS_ONLY, True, add_to_output=True)
        return messages
