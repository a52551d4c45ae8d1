"""The whole bot, for real: billing service, action server and Rasa server.

Started once for the conversation tests, on SQLite files in a temporary
folder, with the trained model from models/ (`./gracious test` trains it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from bot.settings import rasa_environment
from scripts.processes import free_port
from scripts.stack import MODEL, start_actions, start_rasa
from tests.support.billing import API_KEY, BillingService, start_billing_service
from tests.support.chat import IDENTITY_KEY, Chat
from tests.support.proxy import Outage
from tests.support.sms import TWILIO_AUTH_TOKEN


@dataclass
class Stack:
    billing: BillingService
    outage: Outage
    rasa_url: str
    tracker_db: Path
    bot_db: Path
    logs: Path

    def transcript(self, chat: Chat) -> str:
        """Return the conversation's events as the tracker store holds them."""
        import json
        import sqlite3

        with sqlite3.connect(self.tracker_db) as db:
            rows = db.execute(
                "SELECT type_name, action_name, intent_name, data FROM events "
                "WHERE sender_id = ? ORDER BY id",
                (chat.sender,),
            ).fetchall()
        lines = []
        for kind, action, intent, data in rows:
            event = json.loads(data)
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

    def chat(self, **identity: str) -> Chat:
        """A new conversation; ``phone=...`` or ``customer_id=...`` as the channel's."""
        if not identity:
            return Chat(self.rasa_url)
        [(kind, value)] = identity.items()
        return Chat(self.rasa_url, identity={"kind": kind, "value": value})


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not MODEL.exists():
        pytest.fail(
            f"No trained model at {MODEL}: run `./gracious test`, which trains it."
        )
    work = tmp_path_factory.mktemp("stack")
    billing_process, billing = start_billing_service(
        f"sqlite:///{work / 'billing.sqlite3'}", work
    )
    outage = Outage(int(billing.url.rsplit(":", 1)[1]))
    env = rasa_environment(
        {
            **os.environ,
            "BILLING_URL": f"http://127.0.0.1:{outage.port}",
            "BILLING_API_KEY": API_KEY,
            "BILLING_READ_TIMEOUT_SECONDS": "5",
            "GRACIOUS_REST_IDENTITY_KEY": IDENTITY_KEY,
            "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
            "BOT_DATABASE_URL": f"sqlite:///{work / 'bot.sqlite3'}",
            "TRACKER_DATABASE_URL": f"sqlite:///{work / 'tracker.sqlite3'}",
        }
    )
    actions_port, rasa_port = free_port(), free_port()
    env["ACTION_ENDPOINT_URL"] = f"http://127.0.0.1:{actions_port}/webhook"
    started = [billing_process]
    try:
        started.append(start_actions(env, work, actions_port))
        started.append(start_rasa(env, work, rasa_port))
        yield Stack(
            billing,
            outage,
            f"http://127.0.0.1:{rasa_port}",
            work / "tracker.sqlite3",
            work / "bot.sqlite3",
            work,
        )
    finally:
        for process in reversed(started):
            process.stop()
        outage.close()
