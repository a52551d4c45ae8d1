"""The chat widget as a customer uses it: open, type, tap a suggested reply."""

from __future__ import annotations

import json
import re
import time
from typing import Any, Optional

from playwright.sync_api import expect

REPLY_SECONDS = 60
# The bot's answers to one message arrive together, a few ms apart.
SETTLE_SECONDS = 0.5
# a socket.io event packet, with or without a request for acknowledgement
USER_UTTERED = re.compile(r'^42\d*(\["user_uttered",.*)$', re.DOTALL)


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


class WidgetSockets:
    """Every widget socket a page opens, passed on by Playwright.

    ``silence()`` makes the open ones carry nothing either way while staying
    open, as when the network dropped and the browser has not noticed yet;
    ``deafen()`` loses only what the bot sends. Sockets opened later work.
    What the page sent on each socket is kept, in order.
    """

    def __init__(self, page: Any) -> None:
        self.links: list[dict[str, Any]] = []
        page.route_web_socket(re.compile(r"/socket\.io/"), self._open)

    def _open(self, page_side: Any) -> None:
        bot_side = page_side.connect_to_server()
        link: dict[str, Any] = {"silent": False, "deaf": False, "sent": []}

        def upward(message: Any) -> None:
            link["sent"].append(message)
            if not link["silent"]:
                bot_side.send(message)

        def downward(message: Any) -> None:
            if not (link["silent"] or link["deaf"]):
                page_side.send(message)

        page_side.on_message(upward)
        bot_side.on_message(downward)
        self.links.append(link)

    def silence(self) -> None:
        for link in self.links:
            link["silent"] = True

    def deafen(self) -> None:
        for link in self.links:
            link["deaf"] = True

    def uttered(self) -> list[list[dict[str, Any]]]:
        """Return, socket by socket, the user_uttered data the page sent."""
        sockets = []
        for link in self.links:
            said = []
            for frame in link["sent"]:
                packet = USER_UTTERED.match(str(frame))
                if packet:
                    said.append(json.loads(packet.group(1))[1])
            sockets.append(said)
        return sockets
