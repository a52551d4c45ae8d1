"""What our NLU components share: a config without training, and overruling."""

from __future__ import annotations

from typing import Any, Dict, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message


class RuleComponent(GraphComponent):
    """A component with a config and no training: subclasses write ``process``."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def __init__(self, config: Dict[Text, Any]) -> None:
        # Rasa passes a merged config; tests and scripts may pass a partial one.
        self.component_config = {**self.get_default_config(), **config}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "RuleComponent":
        return cls(config)

    def process_training_data(self, training_data: Any) -> Any:
        """Leave training data as it is: rules learn nothing from it."""
        return training_data


def overrule(message: Message, to_intent: Text, note: Text, details: Any) -> None:
    """Give a classified message another intent, keeping the classifier's numbers.

    The new intent takes the old one's confidence and the two swap places in the
    ranking (the fallback threshold and the dialogue policies read both), and
    ``details`` is kept in the parse result under ``note`` so that every
    overruling can be seen in the logs and the evaluation.
    """
    intent = message.get(INTENT) or {}
    from_intent = intent.get(INTENT_NAME_KEY)
    conf = intent.get(PREDICTED_CONFIDENCE_KEY, 1.0)
    ranking = [dict(r) for r in message.get(INTENT_RANKING_KEY) or []]
    other = next((r for r in ranking if r.get(INTENT_NAME_KEY) == to_intent), None)
    for r in ranking:
        if r.get(INTENT_NAME_KEY) == from_intent:
            r[PREDICTED_CONFIDENCE_KEY] = (
                other[PREDICTED_CONFIDENCE_KEY] if other else 0.0
            )
        elif r is other:
            r[PREDICTED_CONFIDENCE_KEY] = conf
    if other is None:
        ranking.insert(0, {INTENT_NAME_KEY: to_intent, PREDICTED_CONFIDENCE_KEY: conf})
    ranking.sort(key=lambda r: -r[PREDICTED_CONFIDENCE_KEY])
    message.set(
        INTENT,
        {INTENT_NAME_KEY: to_intent, PREDICTED_CONFIDENCE_KEY: conf},
        add_to_output=True,
    )
    message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
    message.set(note, details, add_to_output=True)
