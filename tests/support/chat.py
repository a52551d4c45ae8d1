"""Talking to the running bot over the REST channel, as a customer would."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Optional

import requests

IDENTITY_KEY = "test-identity-key-" + "i" * 32


@dataclass
class Chat:
    """One conversation: a fresh sender id, optionally a channel identity."""

    rasa_url: str
    identity: Optional[dict[str, str]] = None
    sender: str = field(default_factory=lambda: "test-" + secrets.token_hex(6))
    last: list[dict[str, Any]] = field(default_factory=list)

    def say(self, text: Any, trusted: bool = True) -> str:
        """Send one message; return every text the bot answered, joined."""
        body: dict[str, Any] = {"sender": self.sender, "message": text}
        headers = {}
        if self.identity:
            body["metadata"] = {"identity": self.identity}
            if trusted:
                headers["X-Gracious-Identity-Key"] = IDENTITY_KEY
        reply = requests.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json=body,
            headers=headers,
            timeout=60,
        )
        assert reply.status_code == 200, reply.text
        self.last = reply.json()
        return "\n".join(m["text"] for m in self.last if m.get("text"))

    @property
    def buttons(self) -> list[str]:
        return [b["title"] for m in self.last for b in (m.get("buttons") or [])]
