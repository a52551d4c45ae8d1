"""A first chat in minutes: a quick model now, the full model when it is trained.

The full model's three voting classifiers take 25-80 minutes to train on two
cores (docs/nlu.md). Where it is not trained yet, `./gracious run` first
trains the quick model: config.yml's pipeline with only its first classifier
(the bag of n-grams, a few minutes) and the same dialogue policies, and
starts the stack on it. Rasa caches each training step's output by its
settings and inputs, so the full training that then runs in the background
takes the featurizers, that classifier and the policies from the cache and
trains only the other two classifiers. When it is done, the running Rasa
server loads it (bot/channels/model_reload.py) and the chat goes on.

A stack stopped before that keeps what finished: the next `./gracious run`
trains only the rest.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

import requests
import yaml

from scripts.processes import ROOT, ServiceProcess, python_module

CONFIG = ROOT / "config.yml"
MODEL = ROOT / "models" / "gracious.tar.gz"
QUICK_CONFIG = ROOT / "var" / "quick-config.yml"
# Outside models/: `rasa shell` and friends take the newest archive there.
QUICK_MODEL = ROOT / "var" / "models" / "gracious-quick.tar.gz"
KEY_VARIABLE = "GRACIOUS_MODEL_KEY"
FIRST_MEMBER_ENDS = "bot.nlu.Ballot"
VOTE = "bot.nlu.IntentVote"
# Loading the full model in the running server, while it answers on the old.
LOAD_TIMEOUT_SECONDS = 600


def train_command(config: Path, model: Path) -> list[str]:
    name = model.name[: -len(".tar.gz")]
    return python_module(
        *("rasa", "train", "--config", str(config)),
        *("--out", str(model.parent), "--fixed-model-name", name),
    )


def quick_config(config: dict[str, Any]) -> dict[str, Any]:
    """Return ``config`` with only the first of its voting classifiers.

    Everything before the first Ballot (featurizers and the first DIET) and
    everything from IntentVote on (which then averages one ranking, and the
    rules after it) is kept word for word, so that Rasa's cache serves it to
    the full training too.
    """
    pipeline = list(config.get("pipeline") or [])
    names = [step.get("name") for step in pipeline]
    if FIRST_MEMBER_ENDS not in names or VOTE not in names:
        raise ValueError(f"config.yml's pipeline has no {FIRST_MEMBER_ENDS} or {VOTE}")
    first_ballot, vote = names.index(FIRST_MEMBER_ENDS), names.index(VOTE)
    return {**config, "pipeline": [*pipeline[:first_ballot], *pipeline[vote:]]}


def write_quick_config(source: Path = CONFIG, target: Path = QUICK_CONFIG) -> Path:
    config = yaml.safe_load(source.read_text())
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "# Written by scripts/quick_start.py from config.yml: do not edit.\n"
        + yaml.safe_dump(quick_config(config), sort_keys=False)
    )
    return target


def needs_training(env: dict[str, str], config: Path = CONFIG) -> bool:
    """Whether the full model is missing or a step of its training is not cached.

    Data that fails Rasa's validation counts as needing training: the quick
    training then stops, saying so.
    """
    if not MODEL.exists():  # a first run: no need to ask Rasa (half a minute)
        return True
    dry_run = [*train_command(config, MODEL), "--dry-run", "--skip-validation"]
    result = subprocess.run(
        dry_run, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    return result.returncode != 0


def train_quick_model(
    env: dict[str, str],
    log: Path,
    model: Path = QUICK_MODEL,
    config: Path = QUICK_CONFIG,
) -> Path:
    """Train the quick model (blocking); raise SystemExit if training fails."""
    command = train_command(write_quick_config(target=config), model)
    train(command, env, log, "the quick model")
    return model


def train(command: list[str], env: dict[str, str], log: Path, what: str) -> None:
    """Run a training in the foreground; on failure show its log's end and stop."""
    with log.open("wb") as output:
        code = subprocess.call(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    if code != 0:
        print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
        raise SystemExit(f"gracious: training {what} failed (see {log})")


class FullModelTraining:
    """Trains the full model in the background, then has Rasa load it."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        rasa_url: str,
        key: str,
        command: Optional[list[str]] = None,
    ) -> None:
        self._command = command or train_command(CONFIG, MODEL)
        self._key = key
        self._env = env
        self._log = log
        self._rasa_url = rasa_url
        self._notes: list[str] = []
        self._lock = threading.Lock()
        self._process: Optional[ServiceProcess] = None
        self._stopped = False

    def start(self) -> None:
        command = self._command
        if shutil.which("nice"):  # the chat keeps the CPU it needs
            command = ["nice", "-n", "10", *command]
        self._process = ServiceProcess(command, self._env, self._log, "")
        threading.Thread(target=self._finish, daemon=True).start()

    def stop(self) -> None:
        """Stop a training still running (what it finished stays cached)."""
        self._stopped = True
        if self._process is not None:
            self._process.stop()

    def running(self) -> bool:
        return self._process is not None and self._process.process.poll() is None

    def take_notes(self) -> list[str]:
        with self._lock:
            notes, self._notes = self._notes, []
        return notes

    def _note(self, text: str) -> None:
        with self._lock:
            self._notes.append(text)

    def _finish(self) -> None:
        assert self._process is not None
        code = self._process.process.wait()
        if code != 0:
            if not self._stopped:
                self._note(
                    f"training the full model failed (see {self._log}); "
                    "the quick model goes on answering"
                )
            return
        self._note(load_model(self._rasa_url, self._key, MODEL))


LOADED = "the full model (three classifiers voting) answers from now on"
NOT_LOADED = "the full model is trained but Rasa did not load it"


def load_model(
    rasa_url: str,
    key: str,
    model: Path,
    timeout: float = LOAD_TIMEOUT_SECONDS,
    poll_seconds: float = 2.0,
) -> str:
    """Have the running Rasa server load ``model``; return what happened.

    The server answers within half a minute: done, refused, or still loading
    (202), in which case its GET says when the load is over and how it went.
    """
    url = f"{rasa_url}/webhooks/model/serving"
    headers = {"X-Gracious-Model-Key": key}
    try:
        answer = requests.put(
            url, json={"model_file": str(model)}, headers=headers, timeout=(5, 60)
        )
        if answer.status_code == 202:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                time.sleep(poll_seconds)
                status = requests.get(url, headers=headers, timeout=(5, 30)).json()
                if status.get("loading") is None:
                    failed = status.get("failed")
                    return f"{NOT_LOADED} ({failed})" if failed else LOADED
            return f"{NOT_LOADED} (still loading after {timeout:.0f} s)"
    except (requests.RequestException, ValueError) as error:
        return f"{NOT_LOADED} ({error})"
    if answer.status_code != 200:
        return f"{NOT_LOADED} ({answer.status_code}: {answer.text[:200]})"
    return LOADED


def model_key(env: dict[str, str]) -> str:
    """Return the key of Rasa's model route: the operator's, or one for this run."""
    return env.get(KEY_VARIABLE) or secrets.token_urlsafe(32)
