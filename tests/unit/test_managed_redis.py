"""The lock store on a managed Redis: a password, TLS, as endpoints.yml passes them.

Rasa builds the lock store from endpoints.yml with the LOCK_STORE_*
variables; the widget's claims use its client, so they follow
(bot/lock_store.py, bot/channels/widget_claims.py).
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import redis
from rasa.core.lock_store import LockStore
from rasa.core.utils import AvailableEndpoints

from bot.channels.widget_claims import Claim, claims_in
from bot.lock_store import ConversationLockStore
from bot.settings import RASA_ENVIRONMENT_DEFAULTS, rasa_environment
from scripts.processes import free_port

ENDPOINTS = Path(__file__).parents[2] / "endpoints.yml"
PASSWORD = f"managed-redis-{uuid.uuid4().hex}"
MESSAGE_ID = "0b6f3c1e-9a4d-4d2e-8f31-5c7a2b9e4d10"


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    """A throwaway Redis that requires PASSWORD, as a managed one does."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("needs redis-server on PATH")
    port = free_port()
    # The configuration on stdin: the password stays out of the process list.
    process = subprocess.Popen(
        [server, "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdin is not None
    process.stdin.write(
        f'port {port}\nbind 127.0.0.1\nrequirepass {PASSWORD}\nsave ""\nappendonly no\n'
    )
    process.stdin.close()
    try:
        client = redis.Redis(port=port, password=PASSWORD, socket_timeout=1)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None:
                    pytest.skip("redis-server did not start")
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def lock_store_from_endpoints(
    monkeypatch: pytest.MonkeyPatch, **settings: str
) -> LockStore:
    """Return the lock store Rasa builds from endpoints.yml in this environment."""
    for name in RASA_ENVIRONMENT_DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    for name, value in rasa_environment(settings).items():
        monkeypatch.setenv(name, value)
    endpoints = AvailableEndpoints.read_endpoints(str(ENDPOINTS))
    return LockStore.create(endpoints.lock_store)


def test_every_variable_endpoints_yml_reads_has_a_default() -> None:
    """Rasa refuses an unset ${VAR}: each must get a value wherever Rasa runs."""
    wanted = set(re.findall(r"\$\{(\w+)\}", ENDPOINTS.read_text()))
    assert wanted == set(RASA_ENVIRONMENT_DEFAULTS)
    assert RASA_ENVIRONMENT_DEFAULTS["LOCK_STORE_REDIS_PASSWORD"] == ""


async def test_with_its_password_several_servers_lock_and_claim(
    redis_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = lock_store_from_endpoints(
        monkeypatch,
        LOCK_STORE_TYPE="redis",
        LOCK_STORE_REDIS_PORT=str(redis_port),
        LOCK_STORE_REDIS_PASSWORD=PASSWORD,
    )
    assert isinstance(store, ConversationLockStore)
    talk = uuid.uuid4().hex
    async with store.lock(talk):
        claims = claims_in(store)
        assert claims is not None
        assert await claims.claim(talk, MESSAGE_ID) is Claim.FIRST
        assert await claims.state(talk, MESSAGE_ID) is Claim.CLAIMED


@pytest.mark.parametrize("password", ["", "not-the-password"])
async def test_without_its_password_the_lock_says_so_and_the_message_still_runs(
    redis_port: int,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    password: str,
) -> None:
    store = lock_store_from_endpoints(
        monkeypatch,
        LOCK_STORE_TYPE="redis",
        LOCK_STORE_REDIS_PORT=str(redis_port),
        LOCK_STORE_REDIS_PASSWORD=password,
    )
    talk = uuid.uuid4().hex
    with pytest.raises(redis.AuthenticationError) as refused:
        async with store.lock(talk):
            pass
    claims = claims_in(store)
    assert claims is not None
    # a claim Redis refuses is a claim unknown: the message runs, a warning says why
    with caplog.at_level(logging.WARNING, logger="bot.channels.widget_claims"):
        assert await claims.claim(talk, MESSAGE_ID) is Claim.UNKNOWN
    [warning] = [r for r in caplog.records if r.name == "bot.channels.widget_claims"]
    assert warning.exc_info is not None
    assert isinstance(warning.exc_info[1], redis.AuthenticationError)
    if password:
        assert password not in str(refused.value) + caplog.text


@pytest.mark.parametrize(
    "setting, connection",
    [
        ("", redis.Connection),
        ("false", redis.Connection),
        ("true", redis.SSLConnection),
        ("1", redis.SSLConnection),
    ],
)
def test_lock_store_redis_ssl_asks_for_tls(
    monkeypatch: pytest.MonkeyPatch, setting: str, connection: type
) -> None:
    store = lock_store_from_endpoints(
        monkeypatch, LOCK_STORE_TYPE="redis", LOCK_STORE_REDIS_SSL=setting
    )
    assert isinstance(store, ConversationLockStore)
    assert store.shared_redis is not None
    assert store.shared_redis.connection_pool.connection_class is connection


def test_a_malformed_lock_store_redis_ssl_stops_rasa_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValueError, match="LOCK_STORE_REDIS_SSL"):
        lock_store_from_endpoints(
            monkeypatch, LOCK_STORE_TYPE="redis", LOCK_STORE_REDIS_SSL="sometimes"
        )
