"""The NLU benchmark's timing of pipeline steps (numbers printed, never asserted)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from scripts import bench_nlu
from scripts.bench import row


def _agent(**nodes):
    runner = SimpleNamespace(_instantiated_nodes=nodes)
    return SimpleNamespace(processor=SimpleNamespace(graph_runner=runner))


def test_every_step_of_the_graph_is_timed_and_still_answers():
    node = SimpleNamespace(_fn=lambda component, **kwargs: ("ran", kwargs))
    other = SimpleNamespace(_fn=lambda component: "other")
    steps = bench_nlu.time_steps(_agent(run_DIETClassifier5=node, provide_x=other))
    assert node._fn("component", messages=[1]) == ("ran", {"messages": [1]})
    assert node._fn("component") == ("ran", {})
    assert other._fn("component") == "other"
    assert len(steps["run_DIETClassifier5"]) == 2 and len(steps["provide_x"]) == 1
    assert all(ms >= 0 for ms in steps["run_DIETClassifier5"])


def test_a_failing_step_is_timed_and_its_error_kept():
    def fails(component):
        raise ValueError("broken")

    node = SimpleNamespace(_fn=fails)
    steps = bench_nlu.time_steps(_agent(run_X=node))
    with pytest.raises(ValueError, match="broken"):
        node._fn("component")
    assert len(steps["run_X"]) == 1


def test_a_row_gives_median_and_95th_percentile():
    name, p50, p95, n = row("step", [float(n) for n in range(1, 101)]).split()
    assert name == "step" and float(p50) == 50.5 and 94 < float(p95) < 97
    assert n == "100"


def test_without_a_model_it_says_how_to_get_one(tmp_path: Path, capsys):
    assert bench_nlu.main(tmp_path / "missing.tar.gz") == 0
    assert "No trained model" in capsys.readouterr().out
