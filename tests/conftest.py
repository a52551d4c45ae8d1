"""Fixtures shared by every test: real services, started once per session."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.billing import (
    BillingService,
    postgres_database,
    start_billing_service,
)
from tests.support.stack import Stack, running_stack

POSTGRES_URL = os.environ.get("GRACIOUS_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = Path(__file__).parent / "artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session", params=BACKENDS)
def billing(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BillingService]:
    """A real billing service over HTTP, once on SQLite and once on PostgreSQL."""
    logs = tmp_path_factory.mktemp("billing-logs")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('billing-db') / 'billing.sqlite3'}"
        process, service = start_billing_service(url, logs)
        yield service
        process.stop()
        return
    with postgres_database(POSTGRES_URL) as url:
        process, service = start_billing_service(url, logs)
        yield service
        process.stop()
        service.engine.dispose()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole running bot, shared by the conversation and browser tests."""
    try:
        with running_stack(tmp_path_factory.mktemp("stack")) as running:
            yield running
    except RuntimeError as problem:
        pytest.fail(str(problem))
