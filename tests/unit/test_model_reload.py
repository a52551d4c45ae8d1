"""The route that loads another model into the running server, on a real Sanic.

The agent is a stand-in with Rasa's Agent.load_model signature; a real model
is loaded into a real Rasa server in tests/conversation/test_model_reload.py.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, Iterator, Optional

import aiohttp
import pytest
from sanic import Sanic

from bot.channels.model_reload import ModelReloadChannel, model_file
from bot.settings import settings
from tests.support.widget_channel import channel_server

KEY = "model-key-" + "k" * 32


class SlowAgent:
    """Loads a model when the test lets it (``release``), or fails to."""

    def __init__(self, fails: bool = False) -> None:
        self.model_name = "gracious-quick.tar.gz"
        self.model_id = "quick"
        self.release = threading.Event()
        self.started = threading.Event()
        self.fails = fails
        self.loaded: list[Path] = []

    def load_model(self, path: Path) -> None:
        self.started.set()
        assert self.release.wait(10)
        if self.fails:
            raise OSError("not a model archive")
        self.loaded.append(path)
        self.model_name, self.model_id = Path(path).name, "full"


@pytest.fixture(autouse=True)
def model_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(Sanic, "test_mode", True)
    monkeypatch.setenv("BILLING_API_KEY", "b" * 32)
    monkeypatch.setenv("GRACIOUS_MODEL_KEY", KEY)
    settings.cache_clear()
    yield
    settings.cache_clear()


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    path = tmp_path / "gracious.tar.gz"
    path.write_bytes(b"a model")
    return path


async def call(
    url: str, method: str, body: Any = None, key: Optional[str] = KEY
) -> tuple[int, Any]:
    headers = {"X-Gracious-Model-Key": key} if key is not None else {}
    async with aiohttp.ClientSession() as session:
        async with session.request(
            method,
            f"{url}/webhooks/model/serving",
            json=body,
            headers=headers,
            timeout=10,
        ) as answer:
            return answer.status, await answer.json(content_type=None)


def serve(agent: Any) -> Any:
    blueprint = ModelReloadChannel().blueprint(lambda message: asyncio.sleep(0))
    return channel_server(agent, blueprint, "/webhooks/model")


async def test_the_old_model_answers_while_the_new_one_loads(archive: Path) -> None:
    agent = SlowAgent()
    async with serve(agent) as url:
        loading = asyncio.create_task(call(url, "PUT", {"model_file": str(archive)}))
        await asyncio.get_running_loop().run_in_executor(None, agent.started.wait, 10)
        # the server is not blocked by the load, and still names the old model
        assert await call(url, "GET") == (
            200,
            {"model": "gracious-quick.tar.gz", "model_id": "quick"},
        )
        status, body = await call(url, "PUT", {"model_file": str(archive)})
        assert status == 409 and "Another model" in body["error"]
        agent.release.set()
        assert await loading == (200, {"model": "gracious.tar.gz", "model_id": "full"})
        assert await call(url, "GET") == (
            200,
            {"model": "gracious.tar.gz", "model_id": "full"},
        )
    assert agent.loaded == [archive]


async def test_a_model_that_fails_to_load_leaves_the_old_one(archive: Path) -> None:
    agent = SlowAgent(fails=True)
    agent.release.set()
    async with serve(agent) as url:
        status, body = await call(url, "PUT", {"model_file": str(archive)})
        assert status == 422
        assert "OSError" in body["error"] and "gracious-quick.tar.gz" in body["error"]
        assert (await call(url, "GET"))[1]["model"] == "gracious-quick.tar.gz"


@pytest.mark.parametrize("key", [None, "", "wrong-" + "k" * 32])
async def test_no_load_without_the_key(archive: Path, key: Optional[str]) -> None:
    agent = SlowAgent()
    agent.release.set()
    async with serve(agent) as url:
        status, body = await call(url, "PUT", {"model_file": str(archive)}, key=key)
        assert status == 403 and "X-Gracious-Model-Key" in body["error"]
        assert (await call(url, "GET", key=key))[0] == 403
    assert agent.loaded == [] and not agent.started.is_set()


async def test_no_key_set_opens_nothing(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRACIOUS_MODEL_KEY")
    settings.cache_clear()
    agent = SlowAgent()
    agent.release.set()
    async with serve(agent) as url:
        assert (await call(url, "PUT", {"model_file": str(archive)}, key=""))[0] == 403
    assert agent.loaded == []


async def test_a_bad_body_is_told_what_is_wrong(tmp_path: Path) -> None:
    agent = SlowAgent()
    agent.release.set()
    async with serve(agent) as url:
        status, body = await call(url, "PUT", ["models/gracious.tar.gz"])
        assert status == 400 and "model_file" in body["error"]
        missing = tmp_path / "nothing.tar.gz"
        status, body = await call(url, "PUT", {"model_file": str(missing)})
        assert status == 400 and str(missing) in body["error"]
    assert agent.loaded == []


def test_model_file_reads_the_body(archive: Path, tmp_path: Path) -> None:
    assert model_file({"model_file": f" {archive} "}) == archive
    assert "model_file" in str(model_file({"model_file": 3}))
    assert "model_file" in str(model_file(None))
    assert "no model archive" in str(model_file({"model_file": str(tmp_path)}))
