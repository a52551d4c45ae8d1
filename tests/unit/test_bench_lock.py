"""The lock benchmark measures what it names (numbers printed, never asserted)."""

from __future__ import annotations

import asyncio

import pytest
import redis

from scripts import bench_lock
from scripts.processes import free_port


def redis_here() -> bool:
    try:
        return bool(redis.Redis(port=6379, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not redis_here(), reason="no Redis on 127.0.0.1:6379")
async def test_the_baseline_lock_keeps_a_conversation_to_one_turn_at_a_time() -> None:
    tickets = bench_lock.redis_store()._redis
    assert tickets is not None
    lock = bench_lock.on_the_loop(tickets)
    inside: list[str] = []

    async def turn(name: str) -> None:
        async with lock("conversation"):
            inside.append(f"{name} in")
            await asyncio.sleep(0.01)
            inside.append(f"{name} out")

    await asyncio.gather(turn("first"), turn("second"))
    assert inside == ["first in", "first out", "second in", "second out"]


@pytest.mark.skipif(not redis_here(), reason="no Redis on 127.0.0.1:6379")
def test_every_lock_is_measured(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench_lock, "ROUNDS", 20)
    assert bench_lock.main() == 0
    printed = capsys.readouterr().out
    for name in ("in memory", "calls on the loop (baseline)", "calls on the lanes"):
        assert printed.count(name) == 3  # alone, at once, and the stall line


def test_without_redis_the_benchmark_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench_lock, "ROUNDS", 5)
    monkeypatch.setenv("LOCK_STORE_REDIS_PORT", str(free_port()))
    assert bench_lock.main() == 0
    assert "conversation lock: not measured (ConnectionError" in capsys.readouterr().out
