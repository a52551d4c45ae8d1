"""The route that loads another model into the running server, on a real Sanic.

The agent and the model's loading are stand-ins (a real model is loaded into
a real Rasa server in tests/conversation/test_model_reload.py); the route,
its task and Sanic are real.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator, Optional

import aiohttp
import pytest
from sanic import Sanic

from bot.channels import model_reload
from bot.channels.model_reload import ModelReloadChannel, model_file
from bot.settings import settings
from tests.support.widget_channel import channel_server

KEY = "model-key-" + "k" * 32


class Domain:
    def __init__(self, fingerprint: str) -> None:
        self._fingerprint = fingerprint

    def fingerprint(self) -> str:
        return self._fingerprint


class Agent:
    """Rasa's Agent as the route uses it: the processor says which model."""

    def __init__(self) -> None:
        self.processor = SimpleNamespace(name="gracious-quick.tar.gz", id="quick")
        self.domain = Domain("d1")

    @property
    def model_name(self) -> str:
        return str(self.processor.name)

    @property
    def model_id(self) -> str:
        return str(self.processor.id)


class Build:
    """Builds the new model's processor when the test lets it, or fails to."""

    def __init__(self, error: Optional[Exception] = None, domain: str = "d1") -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.error = error
        self.domain = domain

    def __call__(self, agent: Agent, path: Path) -> Any:
        self.started.set()
        assert self.release.wait(10)
        if self.error is not None:
            raise self.error
        return SimpleNamespace(name=path.name, id="full", domain=Domain(self.domain))


@pytest.fixture(autouse=True)
def model_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setattr(Sanic, "test_mode", True)
    monkeypatch.setenv("BILLING_API_KEY", "b" * 32)
    monkeypatch.setenv("GRACIOUS_MODEL_KEY", KEY)
    monkeypatch.chdir(tmp_path)  # the server's folder: models/ is under it
    settings.cache_clear()
    yield
    settings.cache_clear()


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    path = tmp_path / "models" / "gracious.tar.gz"
    path.parent.mkdir()
    path.write_bytes(b"a model")
    return path


async def call(
    url: str,
    method: str,
    body: Any = None,
    key: Optional[str] = KEY,
    timeout: float = 10,
) -> tuple[int, Any]:
    headers = {"X-Gracious-Model-Key": key} if key is not None else {}
    async with aiohttp.ClientSession() as session:
        async with session.request(
            method,
            f"{url}/webhooks/model/serving",
            json=body,
            headers=headers,
            timeout=timeout,
        ) as answer:
            return answer.status, await answer.json(content_type=None)


def serve(agent: Agent, build: Build) -> Any:
    channel = ModelReloadChannel(build=build)
    blueprint = channel.blueprint(lambda message: asyncio.sleep(0))
    return channel_server(agent, blueprint, "/webhooks/model")


async def until(event: threading.Event) -> None:
    assert await asyncio.get_running_loop().run_in_executor(None, event.wait, 10)


def status(model: str, loading: Optional[str] = None, failed: Any = None) -> dict:
    model_id = "full" if model == "gracious.tar.gz" else "quick"
    return {"model": model, "model_id": model_id, "loading": loading, "failed": failed}


async def test_the_old_model_answers_while_the_new_one_loads(archive: Path) -> None:
    agent, build = Agent(), Build()
    async with serve(agent, build) as url:
        body = {"model_file": "models/gracious.tar.gz"}
        loading = asyncio.create_task(call(url, "PUT", body))
        await until(build.started)
        # the server is not blocked by the load, and still names the old model
        assert await call(url, "GET") == (
            200,
            status("gracious-quick.tar.gz", loading="gracious.tar.gz"),
        )
        status_code, answer = await call(url, "PUT", body)
        assert (
            status_code == 409 and "gracious.tar.gz is being loaded" in answer["error"]
        )
        build.release.set()
        assert await loading == (200, {"model": "gracious.tar.gz", "model_id": "full"})
        assert await call(url, "GET") == (200, status("gracious.tar.gz"))


async def test_a_long_load_answers_202_and_goes_on(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_reload, "LOAD_ANSWER_SECONDS", 0.2)
    agent, build = Agent(), Build()
    async with serve(agent, build) as url:
        assert await call(url, "PUT", {"model_file": str(archive)}) == (
            202,
            status("gracious-quick.tar.gz", loading="gracious.tar.gz"),
        )
        build.release.set()
        for _ in range(100):
            if (await call(url, "GET"))[1]["loading"] is None:
                break
            await asyncio.sleep(0.05)
        assert await call(url, "GET") == (200, status("gracious.tar.gz"))


async def test_a_caller_that_hangs_up_neither_stops_the_load_nor_frees_the_route(
    archive: Path,
) -> None:
    agent, build = Agent(), Build()
    async with serve(agent, build) as url:
        with pytest.raises(asyncio.TimeoutError):
            await call(url, "PUT", {"model_file": str(archive)}, timeout=0.3)
        await until(build.started)
        assert (await call(url, "PUT", {"model_file": str(archive)}))[0] == 409
        build.release.set()
        for _ in range(100):
            if agent.model_name == "gracious.tar.gz":
                break
            await asyncio.sleep(0.05)
        assert await call(url, "GET") == (200, status("gracious.tar.gz"))


async def test_a_model_that_fails_to_load_leaves_the_old_one(archive: Path) -> None:
    agent, build = Agent(), Build(error=OSError("not a model archive"))
    build.release.set()
    async with serve(agent, build) as url:
        status_code, body = await call(url, "PUT", {"model_file": str(archive)})
        assert status_code == 422
        assert "gracious.tar.gz: OSError" in body["error"]
        assert "gracious-quick.tar.gz still answers" in body["error"]
        assert await call(url, "GET") == (
            200,
            status("gracious-quick.tar.gz", failed="gracious.tar.gz: OSError"),
        )


async def test_a_model_with_another_domain_is_refused(archive: Path) -> None:
    agent, build = Agent(), Build(domain="d2")
    build.release.set()
    async with serve(agent, build) as url:
        status_code, body = await call(url, "PUT", {"model_file": str(archive)})
    assert status_code == 422
    assert "DomainChanged" in body["error"] and "restart the servers" in body["error"]
    assert agent.model_name == "gracious-quick.tar.gz"


@pytest.mark.parametrize("key", [None, "", "wrong-" + "k" * 32])
async def test_no_load_without_the_key(archive: Path, key: Optional[str]) -> None:
    agent, build = Agent(), Build()
    build.release.set()
    async with serve(agent, build) as url:
        status_code, body = await call(url, "PUT", {"model_file": str(archive)}, key)
        assert status_code == 403 and "X-Gracious-Model-Key" in body["error"]
        assert (await call(url, "GET", key=key))[0] == 403
    assert not build.started.is_set()


async def test_no_key_set_opens_nothing(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRACIOUS_MODEL_KEY")
    settings.cache_clear()
    agent, build = Agent(), Build()
    async with serve(agent, build) as url:
        assert (await call(url, "PUT", {"model_file": str(archive)}, key=""))[0] == 403
    assert not build.started.is_set()


async def test_a_bad_body_is_told_what_is_wrong(archive: Path) -> None:
    agent, build = Agent(), Build()
    async with serve(agent, build) as url:
        for body, says in [
            (["models/gracious.tar.gz"], "model_file"),
            ({"model_file": "models/nothing.tar.gz"}, "no model archive"),
            ({"model_file": "/etc/passwd"}, "Only archives under models or var/models"),
        ]:
            status_code, answer = await call(url, "PUT", body)
            assert status_code == 400 and says in answer["error"], answer
    assert not build.started.is_set()


def test_model_file_takes_archives_under_the_model_folders_only(tmp_path: Path) -> None:
    (tmp_path / "var" / "models").mkdir(parents=True)
    quick = tmp_path / "var" / "models" / "gracious-quick.tar.gz"
    quick.write_bytes(b"m")
    (tmp_path / "secret.tar.gz").write_bytes(b"m")
    assert model_file({"model_file": " var/models/gracious-quick.tar.gz "}) == quick
    assert model_file({"model_file": str(quick)}, base=tmp_path) == quick
    for outside in ["secret.tar.gz", "models/../secret.tar.gz", str(tmp_path / "x")]:
        assert "Only archives under" in str(model_file({"model_file": outside}))
    assert "model_file" in str(model_file({"model_file": 3}))
    assert "model_file" in str(model_file(None))
