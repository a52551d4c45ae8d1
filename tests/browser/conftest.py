"""The web widget in a real headless Chromium, against the whole running bot.

The stack is the one the conversation tests use (tests/support/stack.py):
the widget's login secret, its demo page, and the browser's proxy, which the
tests can cut, are part of it.

Skipped, with the reason, where no Chromium binary is found (CHROMIUM_PATH,
else /usr/bin/chromium): `./gracious test` passes on a machine without one.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, Iterator

import jwt
import pytest

from scripts.processes import ROOT
from tests.support.stack import WIDGET_SECRET, Stack

# The same lookup as .ci/run's: CHROMIUM_PATH, else chromium on PATH.
CHROMIUM = Path(
    os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Every run saves its screenshots as artifacts (git-ignored); the README's
# copies in docs/ are refreshed only on request, so a test run leaves the
# work tree clean: GRACIOUS_UPDATE_SCREENSHOTS=1 ./gracious test -k widget
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
README_SCREENSHOTS = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}

try:
    import playwright.sync_api as playwright_api
except ImportError:  # pragma: no cover - the dev requirements install it
    playwright_api = None  # type: ignore[assignment]

if playwright_api is None:
    SKIP_REASON = "playwright is not installed (pip install -r requirements-dev.txt)"
    # The test modules import playwright and axe at the top; without them,
    # collecting them would be an error rather than a skip.
    collect_ignore = ["test_widget.py", "widget.py"]
elif not CHROMIUM.exists():
    SKIP_REASON = (
        f"no Chromium at {CHROMIUM}: install it (apt-get install chromium) "
        "or point CHROMIUM_PATH at one"
    )
else:
    SKIP_REASON = ""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not SKIP_REASON:
        return
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


def login_token(customer_id: str, secret: str = WIDGET_SECRET, **claims: Any) -> str:
    """Sign a login token as the company's back end would."""
    now = int(time.time())
    body = {"sub": customer_id, "iat": now, "exp": now + 600, **claims}
    return jwt.encode(body, secret, algorithm="HS256")


@pytest.fixture(scope="session")
def widget_stack(stack: Stack) -> Stack:
    """The shared running bot; its widget is reached through a cuttable proxy."""
    return stack


# Module scope, not session: Playwright's sync API keeps an event loop running
# in this thread while it lives, which would break every later async test.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert playwright_api is not None
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """Open pages in fresh browser contexts (a new tab, nothing stored)."""
    contexts = []

    def open_page(viewport: dict[str, int] = DESKTOP) -> Any:
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(60_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
