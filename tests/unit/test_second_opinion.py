"""The second opinion on cancel requests: trained, persisted, applied."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import CancelSecondOpinion

# three made-up n-gram columns: "cancel", "my order", "my plan"
CANCEL_PLAN = [1, 0, 1]
CANCEL_ORDER = [1, 1, 0]


def _message(counts, intent=None, text="a message"):
    message = Message.build(text=text, intent=intent)
    message.add_features(
        Features(
            scipy.sparse.coo_matrix(np.array([counts], dtype=float)),
            "sentence",
            "text",
            "CountVectorsFeaturizer",
        )
    )
    return message


def _classified(counts, intent, confidence=0.95):
    message = _message(counts)
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set(
        "intent_ranking",
        [
            {"name": intent, "confidence": confidence},
            {"name": "out_of_scope", "confidence": 1 - confidence},
        ],
    )
    return message


@pytest.fixture
def storage(tmp_path):
    return LocalModelStorage.create(tmp_path)


def _component(storage, **config):
    resource = Resource("second_opinion")
    context = ExecutionContext(GraphSchema({}), "test")
    return (
        CancelSecondOpinion.create(
            {**CancelSecondOpinion.get_default_config(), **config},
            storage,
            resource,
            context,
        ),
        resource,
        context,
    )


def _trained(storage, **config):
    # weak regularisation: the toy data below is meant to be learnt by heart
    component, resource, context = _component(storage, **{"C": 100.0, **config})
    examples = [_message(CANCEL_PLAN, "cancel_subscription") for _ in range(20)]
    examples += [_message(CANCEL_ORDER, "out_of_scope") for _ in range(20)]
    component.train(TrainingData(examples))
    return component, resource, context


def test_a_cancel_claim_the_regression_finds_unlikely_is_out_of_scope(storage):
    component, _, _ = _trained(storage)
    message = _classified(CANCEL_ORDER, "cancel_subscription")
    component.process([message])
    assert message.get("intent") == {"name": "out_of_scope", "confidence": 0.95}
    note = message.get("cancel_second_opinion")
    assert note["original_intent"] == "cancel_subscription"
    assert note["cancel_probability"] < 0.1
    ranking = {r["name"]: r["confidence"] for r in message.get("intent_ranking")}
    assert ranking["out_of_scope"] == 0.95
    assert ranking["cancel_subscription"] == pytest.approx(0.05)


def test_a_cancel_request_both_agree_on_stays(storage):
    component, _, _ = _trained(storage)
    message = _classified(CANCEL_PLAN, "cancel_subscription")
    component.process([message])
    assert message.get("intent")["name"] == "cancel_subscription"
    assert message.get("cancel_second_opinion") is None


def test_other_intents_are_never_touched(storage):
    component, _, _ = _trained(storage)
    message = _classified(CANCEL_ORDER, "human_handoff")
    component.process([message])
    assert message.get("intent")["name"] == "human_handoff"


def test_the_threshold_comes_from_the_config(storage):
    component, _, _ = _trained(storage, min_probability=0.0)
    message = _classified(CANCEL_ORDER, "cancel_subscription")
    component.process([message])
    assert message.get("intent")["name"] == "cancel_subscription"


def test_a_cancel_the_classifiers_are_unsure_of_is_out_of_scope(storage):
    component, _, _ = _trained(storage, min_confidence=0.6)
    unsure = _classified(CANCEL_PLAN, "cancel_subscription", confidence=0.55)
    sure = _classified(CANCEL_PLAN, "cancel_subscription", confidence=0.6)
    component.process([unsure, sure])
    assert unsure.get("intent") == {"name": "out_of_scope", "confidence": 0.55}
    assert unsure.get("cancel_second_opinion") == {
        "original_intent": "cancel_subscription",
        "confidence": 0.55,
    }
    assert sure.get("intent")["name"] == "cancel_subscription"


def test_an_unsure_other_intent_is_left_to_the_fallback(storage):
    component, _, _ = _trained(storage, min_confidence=0.6)
    message = _classified(CANCEL_PLAN, "check_status", confidence=0.45)
    component.process([message])
    assert message.get("intent") == {"name": "check_status", "confidence": 0.45}


def test_a_loaded_model_gives_the_same_opinion(storage):
    trained, resource, context = _trained(storage)
    loaded = CancelSecondOpinion.load(
        CancelSecondOpinion.get_default_config(), storage, resource, context
    )
    for counts in (CANCEL_PLAN, CANCEL_ORDER):
        message = _message(counts)
        assert loaded.cancel_probability(message) == pytest.approx(
            trained.cancel_probability(message)
        )


def test_without_a_trained_model_it_does_not_act(storage):
    component, resource, context = _component(storage)
    component.train(TrainingData([_message(CANCEL_PLAN, "cancel_subscription")]))
    loaded = CancelSecondOpinion.load(
        CancelSecondOpinion.get_default_config(), storage, resource, context
    )
    message = _classified(CANCEL_ORDER, "cancel_subscription")
    loaded.process([message])
    assert message.get("intent")["name"] == "cancel_subscription"
