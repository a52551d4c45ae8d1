"""The chat widget as a customer uses it: open, type, tap a suggested reply."""

from __future__ import annotations

import time
from typing import Any, Optional

from playwright.sync_api import expect

REPLY_SECONDS = 60
# The bot's answers to one message arrive together, a few ms apart.
SETTLE_SECONDS = 0.5


class Widget:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.launcher = page.get_by_role("button", name="Chat with us")
        self.panel = page.get_by_role("dialog", name="Subscription help")
        self.input = page.get_by_label("Your message")
        self.log = page.get_by_role("log", name="Conversation")
        self.status = page.locator("#gracious-widget .status")

    def open(self) -> None:
        self.launcher.click()
        expect(self.panel).to_be_visible()

    def bot_messages(self) -> list[str]:
        return list(self.page.locator(".msg.bot > span:last-child").all_inner_texts())

    def replies(self) -> list[str]:
        return list(self.page.locator(".replies button").all_inner_texts())

    def focused(self) -> Optional[str]:
        """Return the id or class of what has focus inside the widget."""
        return self.page.evaluate(
            """() => {
                const host = document.getElementById('gracious-widget');
                const active = host && host.shadowRoot.activeElement;
                return active ? (active.id || active.className) : null;
            }"""
        )

    def say(self, text: str) -> str:
        """Type a message and send it with Enter; return the bot's answer."""
        return self._answer(lambda: (self.input.fill(text), self.input.press("Enter")))

    def tap(self, title: str) -> str:
        """Click a suggested reply; return the bot's answer."""
        button = self.page.locator(".replies button", has_text=title)
        return self._answer(button.click)

    def wait_for_answer(self, before: int) -> str:
        deadline = time.monotonic() + REPLY_SECONDS
        count = before
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(SETTLE_SECONDS * 1000)
            latest = self.page.locator(".msg.bot").count()
            if latest > before and latest == count:
                return "\n".join(self.bot_messages()[before:])
            count = latest
        raise AssertionError(f"no answer within {REPLY_SECONDS} s: {self.log_text()}")

    def log_text(self) -> str:
        return str(self.log.inner_text())

    def _answer(self, send: Any) -> str:
        before = self.page.locator(".msg.bot").count()
        send()
        return self.wait_for_answer(before)
