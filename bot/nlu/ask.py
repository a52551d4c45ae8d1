"""The messages worth asking about: does the customer want to cancel.

A message that ends as ``out_of_scope`` or ``nlu_fallback`` is a dead end for
a customer who did want to cancel: they must find other words. When the
pipeline still saw a cancel request in it, the bot asks instead, and a "yes"
starts the cancellation (actions/other.py, data/rules.yml). Such a message is
one that

* the second opinion took back for doubt (bot/nlu/second_opinion.py), or
* the classifiers ranked as a cancel request at ``min_confidence`` or more
  (with the vote of three, mostly one member of three for it).

The guard's decisions stand: a cancel verb aimed at something else ("cancel
my order") or used in another sense ("cancel out fractions") is not asked
about. The note ``ask_if_cancel: {cancel_confidence[, doubted]}`` is what the
action reads. The threshold was chosen on the sets whose errors are read and
checked on the pool with a criterion written first (docs/nlu.md, "Figures,
session 13").
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.rules import RuleComponent
from bot.notes import (
    ASK_IF_CANCEL,
    CANCEL_GUARD,
    CANCEL_SECOND_OPINION,
    FOREIGN_CANCEL_OBJECT,
)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class AskIfCancel(RuleComponent, IntentClassifier):
    """Notes the dead-end messages in which a cancel request may hide."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "checked_intent": "cancel_subscription",
            "dead_ends": ["out_of_scope", "nlu_fallback"],
            "min_confidence": 0.05,
        }

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            note = self.ask_about(message)
            if note is not None:
                message.set(ASK_IF_CANCEL, note, add_to_output=True)
        return messages

    def ask_about(self, message: Message) -> Dict[Text, Any] | None:
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if intent not in self.component_config["dead_ends"]:
            return None
        if message.get(FOREIGN_CANCEL_OBJECT) or message.get(CANCEL_GUARD):
            return None
        checked = self.component_config["checked_intent"]
        cancel = next(
            (
                float(r.get(PREDICTED_CONFIDENCE_KEY, 0.0))
                for r in message.get(INTENT_RANKING_KEY) or []
                if r.get(INTENT_NAME_KEY) == checked
            ),
            0.0,
        )
        note: Dict[Text, Any] = {"cancel_confidence": round(cancel, 3)}
        # the second opinion swapped the cancel confidence away: its doubt counts
        if message.get(CANCEL_SECOND_OPINION):
            return {**note, "doubted": True}
        return note if cancel >= self.component_config["min_confidence"] else None
