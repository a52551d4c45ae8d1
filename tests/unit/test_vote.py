"""The vote of several intent classifiers: ballots kept, mean confidence decides."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu import Ballot, IntentVote
from bot.nlu.vote import mean_ranking


def _classify(message, *ranking):
    """Do what a classifier does: overwrite the intent and the ranking."""
    message.set("intent", {"name": ranking[0][0], "confidence": ranking[0][1]})
    message.set("intent_ranking", [{"name": n, "confidence": c} for n, c in ranking])


def _voted(*members):
    """Run members through Ballot after each but the last, then IntentVote."""
    message = Message.build(text="cancel it")
    ballot, vote = Ballot({}), IntentVote({})
    for i, ranking in enumerate(members):
        _classify(message, *ranking)
        if i < len(members) - 1:
            ballot.process([message])
    vote.process([message])
    return message


def test_two_members_outvote_a_confident_third():
    message = _voted(
        [("cancel_subscription", 0.9), ("out_of_scope", 0.1)],
        [("out_of_scope", 0.99), ("cancel_subscription", 0.01)],
        [("cancel_subscription", 0.8), ("check_status", 0.2)],
    )
    assert message.get("intent")["name"] == "cancel_subscription"
    assert message.get("intent")["confidence"] == pytest.approx((0.9 + 0.01 + 0.8) / 3)
    ranking = message.get("intent_ranking")
    assert [r["name"] for r in ranking] == [
        "cancel_subscription",
        "out_of_scope",
        "check_status",
    ]
    # an intent a member did not rank counts as 0 for that member
    assert ranking[2]["confidence"] == pytest.approx(0.2 / 3)


def test_the_members_answers_are_kept_in_the_parse_result():
    message = _voted(
        [("out_of_scope", 0.6), ("cancel_subscription", 0.4)],
        [("cancel_subscription", 0.7), ("out_of_scope", 0.3)],
    )
    assert message.get("intent")["name"] == "cancel_subscription"
    assert message.get("intent_vote") == [
        {"name": "out_of_scope", "confidence": 0.6},
        {"name": "cancel_subscription", "confidence": 0.7},
    ]
    output = message.as_dict(only_output_properties=True)
    assert "intent_vote" in output
    assert "intent_ballots" not in output


def test_one_member_is_its_own_answer():
    message = _voted([("greet", 0.97), ("goodbye", 0.03)])
    assert message.get("intent") == {"name": "greet", "confidence": 0.97}


def test_a_message_no_classifier_ranked_is_left_alone():
    message = Message.build(text="")
    IntentVote({}).process([message])
    assert message.get("intent") is None


def test_mean_ranking_is_sorted_and_averaged():
    ranking = mean_ranking(
        [
            [{"name": "deny", "confidence": 1.0}],
            [
                {"name": "affirm", "confidence": 0.75},
                {"name": "deny", "confidence": 0.25},
            ],
        ]
    )
    assert ranking == [
        {"name": "deny", "confidence": 0.625},
        {"name": "affirm", "confidence": 0.375},
    ]
