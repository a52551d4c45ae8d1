"""The whole test suite, as `./gracious test` runs it: lint, types, tests.

Arguments are passed to pytest, so `./gracious test -k lockout` runs a
selection; a selection that matches no test is reported, not failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CODE = ["bot", "actions", "billing_service", "scripts", "tests"]
PYTEST_NO_TESTS = 5


def step(title: str, command: list[str]) -> int:
    print(f"\n== {title}: {' '.join(command)}", flush=True)
    return subprocess.call(command, cwd=ROOT)


def main(pytest_args: list[str]) -> int:
    failures = []
    if step("ruff", [str(BIN / "ruff"), "check", *CODE]) != 0:
        failures.append("ruff")
    if step("mypy", [str(BIN / "mypy")]) != 0:
        failures.append("mypy")
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
