"""Texting the running bot as Twilio would: signed form POSTs, TwiML back."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import parse_qsl, urlencode

import requests

from tests.support.fake_http import ScriptedServer

TWILIO_AUTH_TOKEN = "test-twilio-auth-token-" + "t" * 20
TWILIO_ACCOUNT_SID = "AC" + "0" * 32
COMPANY_NUMBER = "+15550009999"


def twilio_messages_api(request_number: int) -> tuple[int, bytes, float]:
    """Twilio's Messages API as far as the bot uses it: 201 and a message SID."""
    return 201, b'{"sid": "SM%032d", "status": "queued"}' % request_number, 0.0


def texts_sent(api: ScriptedServer) -> list[dict[str, str]]:
    """The form fields of every message the bot asked the fake Twilio to send."""
    return [dict(parse_qsl(body.decode())) for body in api.bodies]


def signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's documented algorithm, written out independently of bot/ for the tests.

    HMAC-SHA1 keyed with the auth token over the URL followed by each POST
    parameter's name and value in name order, then Base64.
    """
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(
        hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    ).decode()


@dataclass
class Phone:
    """One customer's phone texting the company's number."""

    rasa_url: str
    number: str
    token: str = TWILIO_AUTH_TOKEN
    sent: list[str] = field(default_factory=list)
    last_status: int = 0
    # the texts of the last answer as the phone got them, replies joined
    last_messages: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.rasa_url}/webhooks/sms/webhook"

    def post(
        self,
        params: dict[str, str],
        sign_with: Optional[str] = None,
        headers: Optional[dict[str, str]] = None,
    ) -> requests.Response:
        sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        if sign_with is not None:
            sent["X-Twilio-Signature"] = signature(sign_with, self.url, params)
        return requests.post(self.url, data=urlencode(params), headers=sent, timeout=60)

    def params(
        self, body: Optional[str], sid: Optional[str] = None, **extra: str
    ) -> dict[str, str]:
        params = {
            "MessageSid": sid or "SM" + secrets.token_hex(16),
            "AccountSid": "AC" + "0" * 32,
            "From": self.number,
            "To": COMPANY_NUMBER,
            "NumMedia": "0",
            **extra,
        }
        if body is not None:
            params["Body"] = body
        return params

    def text(
        self, body: Optional[str], sid: Optional[str] = None, **extra: str
    ) -> list[str]:
        """Send one signed text; return the bot's replies in it, in order.

        A turn's replies come as one text, a blank line between them
        (``last_messages`` holds the texts themselves).
        """
        reply = self.post(self.params(body, sid, **extra), sign_with=self.token)
        self.last_status = reply.status_code
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"].startswith("application/xml")
        self.sent.append(body or "")
        self.last_messages = [
            m.text or "" for m in ET.fromstring(reply.text).iter("Message")
        ]
        return [
            part for message in self.last_messages for part in message.split("\n\n")
        ]
