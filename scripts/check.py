"""The whole test suite, as `./gracious test` runs it.

Lint and types; the Rasa data validated; the model trained (incrementally:
nothing is retrained when data and config are unchanged); the dialogue model
checked on the test stories; the NLU scored on the held-out set against its
targets; then pytest, which starts the real services.

Arguments are passed to pytest, so `./gracious test -k lockout` runs a
selection; a selection that matches no test is reported, not failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.settings import rasa_environment

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CODE = ["bot", "actions", "billing_service", "scripts", "tests", "packages"]
MODEL = "models/gracious.tar.gz"
RASA = [sys.executable, "-m", "rasa"]
PYTEST_NO_TESTS = 5
# Regression floors, not the product's targets (cancel recall >= 0.97, false
# cancels <= 1%, affirm and deny recall >= 0.95; README, "NLU"). Retraining
# with another seed, or on another machine (TensorFlow's sums differ between
# CPUs), moves these figures by several points, so each gate sits below the
# worst training measured on the committed data rather than at a number one
# training happens to reach; the evaluation prints every figure either way.
# The independent sets (written by people who never saw the training data) are
# harder, and their unseen affirm/deny messages are few (one is 7-12 points).


def floors(recall: float, false_cancel: float, affirm: float, deny: float) -> list[str]:
    """Return scripts/nlu_eval.py's arguments for one set's regression floors."""
    return [
        "--min-cancel-recall",
        str(recall),
        "--max-false-cancel",
        str(false_cancel),
        "--min-recall",
        f"affirm={affirm},deny={deny}",
    ]


# heldout keeps 8 unseen deny messages: the session-4 model missed one.
# Session 9's machine trained the committed data and config (seed 3) to 0.943
# cancel recall here, where session 8's machine reached 0.971 (docs/nlu.md);
# session 10's machine to 0.933 (98/105): one message above this floor.
# Session 11 (the same machine type) put a vote of three DIETs in place of
# the one (config.yml): 0.971 (102/105) with 2 false cancels of 161. Session
# 12's machine (another CPU) trained the vote, with its confidence floor, to
# 0.962 (101/105) and 2 of 161. The floors stay until more trainings of the
# vote have been measured.
NLU_FLOORS = floors(0.93, 0.03, affirm=0.90, deny=0.85)
# The four sets written by people who never saw data/nlu nor each other's set
# (sessions 2, 3, 4 and 9) are scored as one pool of 1,704 unseen messages: per
# set, a few hundred messages make one message 0.3-0.6 points and the seed
# alone moved a set's false cancels by 3. Floors below every model trained on
# the session-5 data in session 6 (six, pooled: cancel recall 0.960-0.977,
# false cancels 9-15 of 792); the session-4 model found about 0.95. Session 9:
# the same committed data and seed trained to 0.939 on that session's machine
# (0.975 on session 8's), other seeds there to 0.975 with 7 and 13 false
# cancels of 759. With session 9's fourth set (fresh4.yml) in the pool, the
# three trainings there took 13, 17 and 27 of 1,052 other messages for cancel
# requests. Session 10's machine trained it (seed 3) to 0.931 on the four
# (607/652, one message above the floor) with 10 false cancels; seeds 7 and
# 11 there to 0.966 and 0.975 with 19 and 29. Session 11's vote of three
# DIETs: 0.971 (633/652) with 14; session 12's machine 0.971 with 16 (the
# confidence floor in). The per-set figures are printed too.
INDEPENDENT_SETS = [
    "tests/nlu/fresh.yml",
    "tests/nlu/fresh2.yml",
    "tests/nlu/fresh3.yml",
    "tests/nlu/fresh4.yml",
]
INDEPENDENT_FLOORS = floors(0.93, 0.03, affirm=0.85, deny=0.85)


def step(title: str, command: list[str]) -> int:
    print(f"\n== {title}: {' '.join(command)}", flush=True)
    return subprocess.call(command, cwd=ROOT, env=rasa_environment(os.environ))


def main(pytest_args: list[str]) -> int:
    failures = []
    checks = [
        ("ruff", [str(BIN / "ruff"), "check", *CODE]),
        ("mypy", [str(BIN / "mypy")]),
        ("rasa data validate", [*RASA, "data", "validate", "--fail-on-warnings"]),
    ]
    for title, command in checks:
        if step(title, command) != 0:
            failures.append(title)

    trained = (
        step(
            "rasa train",
            [*RASA, "train", "--fixed-model-name", "gracious", "--out", "models"],
        )
        == 0
    )
    if not trained:
        failures.append("rasa train")
    else:
        stories = [
            *RASA,
            "test",
            "core",
            "--stories",
            "tests/stories",
            "--model",
            MODEL,
            "--fail-on-prediction-errors",
            "--out",
            "var/results/core",
        ]
        if step("rasa test core", stories) != 0:
            failures.append("rasa test core")
        evaluate = [sys.executable, "scripts/nlu_eval.py", MODEL]
        if step("NLU held-out evaluation", [*evaluate, *NLU_FLOORS]) != 0:
            failures.append("NLU floors")
        # The independent sets' errors are never listed (--quiet): read message
        # by message, they would turn into a to-do list and stop measuring.
        pooled = [
            *evaluate,
            *INDEPENDENT_FLOORS,
            "--quiet",
            "--data",
            *INDEPENDENT_SETS,
        ]
        if step("NLU evaluation, independent sets pooled", pooled) != 0:
            failures.append("NLU floors (independent sets)")

    code = step("pytest", [sys.executable, "-m", "pytest", *pytest_args])
    if code == PYTEST_NO_TESTS:
        print("pytest: this selection matched no test; nothing failed.")
    elif code != 0:
        failures.append("pytest")
    if failures:
        print(f"\nFAILED: {', '.join(failures)}")
        return 1
    print("\nAll checks passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
