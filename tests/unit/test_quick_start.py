"""The quick model's config, and the background training that replaces it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from scripts.quick_start import (
    CONFIG,
    KEY_VARIABLE,
    LOADED,
    MODEL,
    NOT_LOADED,
    FullModelTraining,
    load_model,
    model_key,
    quick_config,
    write_quick_config,
)
from tests.support.fake_http import ScriptedServer
from tests.support.polling import eventually

KEY = "key-" + "k" * 32


def names(config: dict) -> list[str]:
    return [step["name"] for step in config["pipeline"]]


def test_the_quick_model_is_the_full_one_with_its_first_classifier_only() -> None:
    full = yaml.safe_load(CONFIG.read_text())
    quick = quick_config(full)
    assert names(full).count("DIETClassifier") == 3
    assert names(quick).count("DIETClassifier") == 1
    assert "bot.nlu.Ballot" not in names(quick)
    # Word for word up to the first classifier and from the vote on: Rasa's
    # cache then serves those steps to the full training.
    first_ballot = names(full).index("bot.nlu.Ballot")
    vote = names(full).index("bot.nlu.IntentVote")
    assert quick["pipeline"][:first_ballot] == full["pipeline"][:first_ballot]
    assert quick["pipeline"][first_ballot:] == full["pipeline"][vote:]
    assert quick["policies"] == full["policies"]
    assert {k: v for k, v in quick.items() if k != "pipeline"} == {
        k: v for k, v in full.items() if k != "pipeline"
    }


def test_a_pipeline_without_a_vote_is_refused() -> None:
    with pytest.raises(ValueError, match="IntentVote"):
        quick_config({"pipeline": [{"name": "DIETClassifier"}]})


def test_the_written_config_reads_back_as_the_quick_one(tmp_path: Path) -> None:
    target = write_quick_config(target=tmp_path / "var" / "quick.yml")
    written = yaml.safe_load(target.read_text())
    assert written == quick_config(yaml.safe_load(CONFIG.read_text()))
    assert target.read_text().startswith("# Written by scripts/quick_start.py")


def rasa(status: int, body: dict) -> ScriptedServer:
    return ScriptedServer(lambda n: (status, json.dumps(body).encode(), 0.0))


def training(tmp_path: Path, url: str, code: str) -> FullModelTraining:
    command = [sys.executable, "-c", code]
    return FullModelTraining({}, tmp_path / "train.log", url, KEY, command=command)


def test_a_finished_training_is_loaded_into_the_running_server(tmp_path: Path) -> None:
    with rasa(200, {"model": "gracious.tar.gz", "model_id": "x"}) as server:
        full = training(tmp_path, server.url, "print('trained')")
        full.start()
        assert eventually(lambda: not full.running(), 30)
        notes: list[str] = []
        assert eventually(lambda: notes.extend(full.take_notes()) or notes, 10)
    assert notes == [LOADED]
    assert full.take_notes() == []  # each note once
    assert server.paths == ["/webhooks/model/serving"]
    assert server.requests[0]["x-gracious-model-key"] == KEY
    assert json.loads(server.bodies[0])["model_file"].endswith("models/gracious.tar.gz")
    assert "trained" in (tmp_path / "train.log").read_text()


def test_a_failed_training_says_so_and_loads_nothing(tmp_path: Path) -> None:
    with rasa(200, {}) as server:
        full = training(tmp_path, server.url, "raise SystemExit(1)")
        full.start()
        notes: list[str] = []
        assert eventually(lambda: notes.extend(full.take_notes()) or notes, 30)
    assert "training the full model failed" in notes[0]
    assert "quick model goes on answering" in notes[0]
    assert server.paths == []


def test_a_training_stopped_with_the_stack_is_no_failure(tmp_path: Path) -> None:
    with rasa(200, {}) as server:
        full = training(tmp_path, server.url, "import time; time.sleep(60)")
        full.start()
        assert full.running()
        full.stop()
        assert not full.running()
        assert not eventually(full.take_notes, 1)
    assert server.paths == []


def test_a_refused_load_is_reported_with_the_servers_answer() -> None:
    with rasa(422, {"error": "The model could not be loaded"}) as server:
        note = load_model(server.url, KEY, Path("models/gracious.tar.gz"))
    assert "did not load it (422" in note and "could not be loaded" in note


def test_an_unreachable_server_is_reported() -> None:
    note = load_model("http://127.0.0.1:9", KEY, Path("models/gracious.tar.gz"))
    assert note.startswith("the full model is trained but Rasa did not load it")


def test_a_long_load_is_followed_until_it_is_over() -> None:
    answers = [
        (202, {"loading": "gracious.tar.gz", "failed": None}),
        (200, {"loading": "gracious.tar.gz", "failed": None}),
        (200, {"model": "gracious.tar.gz", "loading": None, "failed": None}),
    ]
    with ScriptedServer(
        lambda n: (answers[n - 1][0], json.dumps(answers[n - 1][1]).encode(), 0.0)
    ) as server:
        note = load_model(server.url, KEY, MODEL, poll_seconds=0.01)
    assert note == LOADED
    assert server.paths == ["/webhooks/model/serving"] * 3
    assert all(r["x-gracious-model-key"] == KEY for r in server.requests)


def test_a_long_load_that_failed_says_why() -> None:
    answers = [
        (202, {"loading": "gracious.tar.gz", "failed": None}),
        (200, {"loading": None, "failed": "gracious.tar.gz: OSError"}),
    ]
    with ScriptedServer(
        lambda n: (answers[n - 1][0], json.dumps(answers[n - 1][1]).encode(), 0.0)
    ) as server:
        note = load_model(server.url, KEY, MODEL, poll_seconds=0.01)
    assert note == f"{NOT_LOADED} (gracious.tar.gz: OSError)"


def test_a_load_that_never_ends_is_given_up() -> None:
    with rasa(202, {"loading": "gracious.tar.gz", "failed": None}) as server:
        note = load_model(server.url, KEY, MODEL, timeout=0.05, poll_seconds=0.01)
    assert note == f"{NOT_LOADED} (still loading after 0 s)"


def test_the_operators_key_is_kept_and_a_run_key_made_otherwise() -> None:
    assert model_key({KEY_VARIABLE: KEY}) == KEY
    env: dict[str, str] = {KEY_VARIABLE: ""}  # an empty line in .env
    made = model_key(env)
    assert len(made) >= 32 and made != model_key(env)
    assert env == {KEY_VARIABLE: ""}  # only Rasa is given the key


def test_the_stack_starts_on_the_quick_model_only_when_training_is_needed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from scripts import stack

    calls: list[str] = []
    monkeypatch.setattr(stack, "LOGS", tmp_path)
    monkeypatch.setattr(stack, "train_if_needed", lambda env: calls.append("full"))
    monkeypatch.setattr(
        stack, "train_quick_model", lambda env, log: calls.append("quick") or log
    )

    monkeypatch.setattr(stack, "needs_training", lambda env: False)
    assert stack.choose_model({}, KEY) == (stack.MODEL, None)
    assert calls == ["full"]  # brought up to date, in the foreground

    monkeypatch.setattr(stack, "needs_training", lambda env: True)
    model, full = stack.choose_model({}, KEY)
    assert calls == ["full", "quick"] and model == tmp_path / "train-quick.log"
    assert isinstance(full, FullModelTraining) and not full.running()
