"""The whole bot, for real: billing service, action server and Rasa server.

Started once per test session, on SQLite files in a temporary folder, with
the trained model from models/ (`./gracious test` trains it), every channel
configured: REST with a trusted identity key, SMS with a Twilio auth token,
the widget with a login secret and its demo page. Two proxies let tests cut
the network: billing's (an outage) and the browsers' (a dropped connection).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from bot.settings import rasa_environment
from scripts.processes import free_port
from scripts.stack import MODEL, start_actions, start_rasa, start_retry_worker
from tests.support.billing import API_KEY, BillingService, start_billing_service
from tests.support.chat import IDENTITY_KEY, Chat
from tests.support.fake_http import ScriptedServer
from tests.support.proxy import CuttableProxy
from tests.support.sms import (
    COMPANY_NUMBER,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    twilio_messages_api,
)

WIDGET_SECRET = "test-widget-secret-" + "w" * 32
NOTICE_KEY = "test-notice-key-" + "n" * 32
MODEL_KEY = "test-model-key-" + "m" * 32


@dataclass
class Stack:
    """The running bot and what the tests need to reach into."""

    billing: BillingService
    outage: CuttableProxy  # between the action server and billing
    proxy: CuttableProxy  # between browsers and the bot
    twilio: ScriptedServer  # Twilio's Messages API, for texts sent later
    rasa_url: str
    tracker_db: Path
    bot_db: Path
    logs: Path
    # Every Rasa server of the stack, rasa_url first (several share the stores).
    rasa_urls: tuple[str, ...] = ()

    @property
    def demo_url(self) -> str:
        return f"{self.proxy.url}/webhooks/widget/demo"

    def transcript(self, chat: Chat) -> str:
        """Return the conversation's events as the tracker store holds them."""
        lines = []
        for kind, action, intent, event in self._events(chat.sender):
            if kind == "user":
                lines.append(f"user: {event.get('text')!r} -> {intent}")
            elif kind == "bot":
                lines.append(f"  bot: {event.get('text')!r}")
            elif kind == "action":
                lines.append(f"  action: {action}")
            elif kind == "slot" and event.get("name") in (
                "next_step",
                "requested_slot",
                "goal",
            ):
                lines.append(f"    slot {event['name']} = {event.get('value')!r}")
            elif kind == "active_loop":
                lines.append(f"    loop = {event.get('name')}")
        return "\n".join(lines)

    def bot_texts(self, conversation_id: str) -> list[str]:
        """Return the bot's messages in a conversation, from the tracker store."""
        return [
            event.get("text") or ""
            for kind, _, _, event in self._events(conversation_id)
            if kind == "bot"
        ]

    def slot_values(self, conversation_id: str, name: str) -> list[Any]:
        """Return every value the slot was set to in a conversation, in order."""
        return [
            event.get("value")
            for kind, _, _, event in self._events(conversation_id)
            if kind == "slot" and event.get("name") == name
        ]

    def turns_until(self, conversation_id: str, pattern: re.Pattern[str]) -> int:
        """Count the customer's messages up to the bot's first match of pattern.

        Read from the tracker store, so it counts what the bot recorded, not
        what a test sent; 0 if the bot never said it.
        """
        turns = 0
        for kind, _, _, event in self._events(conversation_id):
            if kind == "user":
                turns += 1
            elif kind == "bot" and pattern.search(event.get("text") or ""):
                return turns
        return 0

    def parses(self, conversation_id: str) -> list[dict[str, Any]]:
        """Return what the NLU made of each customer message, notes included."""
        return [
            event.get("parse_data") or {}
            for kind, _, _, event in self._events(conversation_id)
            if kind == "user"
        ]

    def _events(self, conversation_id: str) -> list[tuple[str, Any, Any, Any]]:
        with sqlite3.connect(self.tracker_db) as db:
            rows = db.execute(
                "SELECT type_name, action_name, intent_name, data FROM events "
                "WHERE sender_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
        return [
            (kind, action, intent, json.loads(data))
            for kind, action, intent, data in rows
        ]

    def chat(self, **identity: str) -> Chat:
        """A new conversation; ``phone=...`` or ``customer_id=...`` as the channel's."""
        if not identity:
            return Chat(self.rasa_url)
        [(kind, value)] = identity.items()
        return Chat(self.rasa_url, identity={"kind": kind, "value": value})


@contextmanager
def running_stack(
    work: Path,
    billing_database: str = "",
    bot_databases: tuple[str, str] = ("", ""),
    lock_store: str = "in_memory",
    rasa_servers: int = 1,
    model: Path = MODEL,
) -> Iterator[Stack]:
    """Start the three processes with every channel configured; stop them after.

    SQLite files in ``work`` unless other database URLs are given (billing;
    tracker store and the bot's own tables); ``lock_store="redis"`` uses the
    local Redis, as several Rasa servers would, and ``rasa_servers`` starts
    that many on the same stores (the retry worker and the browsers' proxy
    reach the first). ``model`` is the archive they start on.
    """
    if not model.exists():
        raise RuntimeError(f"No trained model at {model}: `./gracious test` trains it.")
    billing_process, billing = start_billing_service(
        billing_database or f"sqlite:///{work / 'billing.sqlite3'}", work
    )
    tracker_url, bot_url = bot_databases
    outage = CuttableProxy(int(billing.url.rsplit(":", 1)[1]))
    actions_port = free_port()
    rasa_ports = [free_port() for _ in range(rasa_servers)]
    rasa_port = rasa_ports[0]
    rasa_urls = tuple(f"http://127.0.0.1:{port}" for port in rasa_ports)
    proxy = CuttableProxy(rasa_port)
    twilio = ScriptedServer(twilio_messages_api).__enter__()
    env = rasa_environment(
        {
            **os.environ,
            "BILLING_URL": f"http://127.0.0.1:{outage.port}",
            "BILLING_API_KEY": API_KEY,
            "BILLING_READ_TIMEOUT_SECONDS": "5",
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook",
            "BOT_DATABASE_URL": bot_url or f"sqlite:///{work / 'bot.sqlite3'}",
            "TRACKER_DATABASE_URL": tracker_url
            or f"sqlite:///{work / 'tracker.sqlite3'}",
            "LOCK_STORE_TYPE": lock_store,
            "GRACIOUS_REST_IDENTITY_KEY": IDENTITY_KEY,
            "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
            "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
            "TWILIO_FROM_NUMBER": COMPANY_NUMBER,
            "TWILIO_API_URL": twilio.url,
            "GRACIOUS_RETRY_INTERVAL_SECONDS": "0.5",
            "GRACIOUS_RASA_URL": f"http://127.0.0.1:{rasa_port}",
            "GRACIOUS_NOTICE_KEY": NOTICE_KEY,
            "GRACIOUS_MODEL_KEY": MODEL_KEY,
            "WIDGET_JWT_SECRET": WIDGET_SECRET,
            "WIDGET_ALLOWED_ORIGINS": ",".join([proxy.url, *rasa_urls]),
            "GRACIOUS_DEMO_PAGE": "1",
        }
    )
    started = [billing_process]
    try:
        started.append(start_actions(env, work, actions_port))
        started.append(start_retry_worker(env, work))
        for number, port in enumerate(rasa_ports):
            logs = work / f"rasa-{number + 1}" if number else work
            logs.mkdir(exist_ok=True)
            started.append(start_rasa(env, logs, port, model))
        yield Stack(
            billing,
            outage,
            proxy,
            twilio,
            rasa_urls[0],
            work / "tracker.sqlite3",
            work / "bot.sqlite3",
            work,
            rasa_urls,
        )
    finally:
        for process in reversed(started):
            process.stop()
        outage.close()
        proxy.close()
        twilio.__exit__(None, None, None)
