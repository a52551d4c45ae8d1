"""A first run's stack: the quick model answers, then the full one takes over.

The quick model is trained here by the function `./gracious run` uses; with
the full model already trained (`./gracious test` trains it first), Rasa's
cache serves its featurizers, first classifier and policies, so only the
archive is new. The full model is then loaded into the running server, in
the middle of a customer's cancellation, as the background training does.
"""

from __future__ import annotations

import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest
import requests
import yaml

from bot.settings import rasa_environment
from scripts.quick_start import (
    CONFIG,
    LOADED,
    MODEL,
    NOT_LOADED,
    QUICK_MODEL,
    load_model,
    needs_training,
    train_quick_model,
)
from tests.support.polling import eventually
from tests.support.stack import MODEL_KEY, Stack, running_stack

CODE = re.compile(r"GR-[2-9A-HJ-NP-Z]{6}")


@pytest.fixture(scope="module")
def quick_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not MODEL.exists():
        pytest.skip(f"no trained model at {MODEL}: `./gracious test` trains it")
    work = tmp_path_factory.mktemp("quick")
    quick = train_quick_model(
        rasa_environment(),
        work / "train-quick.log",
        model=work / "models" / "gracious-quick.tar.gz",
        config=work / "quick-config.yml",
    )
    with running_stack(work, model=quick) as stack:
        yield stack


def serving(stack: Stack, key: str = MODEL_KEY) -> requests.Response:
    return requests.get(
        f"{stack.rasa_url}/webhooks/model/serving",
        headers={"X-Gracious-Model-Key": key},
        timeout=10,
    )


def members(stack: Stack, conversation_id: str) -> list[int]:
    """How many classifiers voted on each customer message."""
    return [len(p.get("intent_vote") or []) for p in stack.parses(conversation_id)]


def test_the_full_model_takes_over_a_cancellation_in_progress(
    quick_stack: Stack,
) -> None:
    stack = quick_stack
    assert serving(stack).json()["model"] == "gracious-quick.tar.gz"
    customer = stack.billing.new_customer("premium-monthly")
    chat = stack.chat(phone=customer.phone)
    assert "last 4 digits" in chat.say("I want to cancel my subscription")

    # The customer answers while the full model loads: the old one answers.
    with ThreadPoolExecutor(1) as pool:
        loading = pool.submit(load_model, stack.rasa_url, MODEL_KEY, MODEL)
        assert eventually(lambda: serving(stack).json()["loading"], 60)
        offer = chat.say(customer.card_last4)
        note = loading.result(timeout=600)
    assert note == LOADED
    assert "Before you go" in offer
    assert serving(stack).json() == {
        "model": "gracious.tar.gz",
        "model_id": serving(stack).json()["model_id"],
        "loading": None,
        "failed": None,
    }

    done = chat.say("no thanks")
    assert CODE.search(done), done
    assert stack.billing.subscription(customer).cancel_at_period_end
    # one conversation throughout: its first two messages read by the quick
    # model's one classifier, the last by the full model's three
    assert members(stack, chat.sender) == [1, 1, 3]


def test_whether_the_full_model_needs_training_is_rasas_answer(
    quick_stack: Stack, tmp_path: Path
) -> None:
    env = rasa_environment()
    assert not needs_training(env)  # `./gracious test` trained it
    config = yaml.safe_load(CONFIG.read_text())
    first = next(s for s in config["pipeline"] if s["name"] == "DIETClassifier")
    first["epochs"] += 1
    changed = tmp_path / "config.yml"
    changed.write_text(yaml.safe_dump(config, sort_keys=False))
    assert needs_training(env, config=changed)


def test_the_route_needs_the_key_and_a_model_that_loads(
    quick_stack: Stack, tmp_path: Path
) -> None:
    stack = quick_stack
    assert serving(stack, key="not-the-key-" + "x" * 32).status_code == 403
    before = serving(stack).json()
    # under var/models/, where the route takes archives from
    broken = QUICK_MODEL.parent / f"broken-{secrets.token_hex(4)}.tar.gz"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_bytes(b"not a model")
    try:
        note = load_model(stack.rasa_url, MODEL_KEY, broken)
    finally:
        broken.unlink()
    assert note.startswith(f"{NOT_LOADED} (422") and broken.name in note
    # the model that answered before still does
    assert serving(stack).json()["model"] == before["model"]
    assert broken.name in serving(stack).json()["failed"]
    outside = load_model(stack.rasa_url, MODEL_KEY, tmp_path / "gracious.tar.gz")
    assert outside.startswith(f"{NOT_LOADED} (400") and "Only archives" in outside
    chat = stack.chat()
    assert "email" in chat.say("please cancel my membership")
