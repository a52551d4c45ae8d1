"""`./gracious bench`, second part: the trained NLU's load and parse times.

Loads the model the way Rasa does and parses a few kinds of message many
times: a one-word answer, a plain cancel request, a long message with card
digits and an email, and a 10,000-character paste. Prints the median and the
95th percentile per kind, then the time each pipeline step took per parse
(median over every parse), so the price of each classifier of the vote
(bot/nlu/vote.py) stands beside the featurizers' and the rules' in the same
run. Printed, never asserted.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, List

from bot.settings import rasa_environment
from scripts.bench import HEADER, row
from scripts.nlu_eval import quiet_rasa_logs

ROUNDS = 100
WARM_UP = 5
MESSAGES = {
    "one word": "no",
    "cancel request": "I want to cancel my subscription",
    "long, card and email": (
        "Hi there, I have been a member for three years but money is tight at "
        "the moment so please end my plan at the end of this month. My email "
        "is dana.lee@example.com and the card ends in 4242. No offers please."
    ),
    "10,000 characters": ("cancel my plan please " * 455)[:10_000],
}
Timings = Dict[str, List[float]]


def timing(name: str, fn: Callable[..., Any], into: Timings) -> Callable[..., Any]:
    """Wrap a graph node's function so that each call's milliseconds are kept."""

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            into[name].append((time.perf_counter() - start) * 1000)

    return timed


def time_steps(agent: Any) -> Timings:
    """Time every step of the agent's prediction graph from now on."""
    steps: Timings = defaultdict(list)
    runner = agent.processor.graph_runner
    for name, node in runner._instantiated_nodes.items():  # Rasa 3.6 internals
        node._fn = timing(name, node._fn, steps)
    return steps


async def parse_times(agent: Any, text: str, rounds: int) -> List[float]:
    for _ in range(WARM_UP):
        await agent.parse_message(text)
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await agent.parse_message(text)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def measure(model: Path, rounds: int) -> List[str]:
    from rasa.core.agent import Agent

    start = time.perf_counter()
    agent = Agent.load(str(model))
    loaded = time.perf_counter() - start
    steps = time_steps(agent)
    lines = [
        f"NLU model {model} ({model.stat().st_size / 1e6:.0f} MB): "
        f"loaded in {loaded:.1f} s; {rounds} parses of each message",
        HEADER.format("message"),
    ]
    for kind, text in MESSAGES.items():
        lines.append(row(kind, await parse_times(agent, text, rounds)))
    lines.append(HEADER.format("pipeline step (all parses)"))
    for name, samples in steps.items():
        if name.startswith("run_"):  # the components, not Rasa's plumbing
            lines.append(row(name[4:], samples))
    return lines


def main(model: Path, rounds: int = ROUNDS) -> int:
    if not model.exists():
        print(f"No trained model at {model}: `./gracious run` or `test` trains it.")
        return 0
    os.environ.update(rasa_environment(os.environ))
    quiet_rasa_logs()
    print("\n".join(asyncio.run(measure(model, rounds))))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "models/gracious.tar.gz")))
