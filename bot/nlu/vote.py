"""Several differently built intent classifiers, and their mean as the answer.

One DIET training is one draw: retrained with another seed, or on another
CPU, the same data moves cancel recall by several points and false cancels by
several messages, and two trainings that score alike disagree on many
messages (docs/nlu.md). Classifiers built differently (with and without a
transformer layer, other seeds and dropout) err on different messages, so
their mean confidence is steadier than any one of them.

In config.yml each classifier but the last is followed by a ``Ballot``,
which keeps its ranking before the next classifier overwrites it;
``IntentVote`` after the last one averages the kept rankings with the
current one and sets the intent. The members' own top answers stay in the
parse result under ``intent_vote``, for the logs and the evaluation.
"""

from __future__ import annotations

from collections import defaultdict
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

BALLOTS = "intent_ballots"
NOTE = "intent_vote"

Ranking = List[Dict[Text, Any]]


def mean_ranking(rankings: List[Ranking]) -> Ranking:
    """Average the members' confidences per intent, highest first.

    An intent a member did not rank counts as 0 for it. Ties keep the first
    member's order, so the result does not depend on dictionary order.
    """
    total: Dict[Text, float] = defaultdict(float)
    for ranking in rankings:
        for entry in ranking:
            total[entry[INTENT_NAME_KEY]] += float(entry[PREDICTED_CONFIDENCE_KEY])
    mean = [
        {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: score / len(rankings)}
        for name, score in total.items()
    ]
    return sorted(mean, key=lambda r: -r[PREDICTED_CONFIDENCE_KEY])


def top(ranking: Ranking) -> Dict[Text, Any]:
    """Return a member's answer (its ranking is not empty), rounded."""
    best = ranking[0]
    return {
        INTENT_NAME_KEY: best[INTENT_NAME_KEY],
        PREDICTED_CONFIDENCE_KEY: round(float(best[PREDICTED_CONFIDENCE_KEY]), 3),
    }


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class Ballot(RuleComponent, IntentClassifier):
    """Keeps the ranking of the classifier before it for ``IntentVote``."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            ranking = [dict(r) for r in message.get(INTENT_RANKING_KEY) or []]
            message.set(BALLOTS, [*(message.get(BALLOTS) or []), ranking])
        return messages


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class IntentVote(RuleComponent, IntentClassifier):
    """Sets the intent to the one with the highest mean confidence."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            kept = message.get(BALLOTS) or []
            current = message.get(INTENT_RANKING_KEY) or []
            rankings = [r for r in [*kept, current] if r]
            if not rankings:
                continue
            ranking = mean_ranking(rankings)
            best = ranking[0]
            message.set(
                INTENT,
                {
                    INTENT_NAME_KEY: best[INTENT_NAME_KEY],
                    PREDICTED_CONFIDENCE_KEY: best[PREDICTED_CONFIDENCE_KEY],
                },
                add_to_output=True,
            )
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            message.set(NOTE, [top(r) for r in rankings], add_to_output=True)
        return messages
