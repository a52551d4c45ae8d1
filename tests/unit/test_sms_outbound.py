"""Texting first through Twilio's Messages API (a scripted stand-in for Twilio)."""

from __future__ import annotations

import base64
from urllib.parse import parse_qsl

import pytest

from bot.channels.sms_outbound import SmsNotSent, TwilioSender
from scripts.processes import free_port
from tests.support.fake_http import ScriptedServer
from tests.support.sms import TWILIO_ACCOUNT_SID, twilio_messages_api


def test_a_text_is_posted_with_basic_auth_and_plain_characters() -> None:
    with ScriptedServer(twilio_messages_api) as twilio:
        sender = TwilioSender(TWILIO_ACCOUNT_SID, "secret", "+15550009999", twilio.url)
        sid = sender.send(
            "+15550001111", "Done. Premium ends 15 Dec \u2014 code GR-2YY7QN"
        )
    assert sid.startswith("SM")
    [headers] = twilio.requests
    expected = base64.b64encode(f"{TWILIO_ACCOUNT_SID}:secret".encode()).decode()
    assert headers["authorization"] == f"Basic {expected}"
    form = dict(parse_qsl(twilio.bodies[0].decode()))
    assert form == {
        "To": "+15550001111",
        "From": "+15550009999",
        "Body": "Done. Premium ends 15 Dec - code GR-2YY7QN",
    }


def test_a_refusal_or_no_answer_is_an_error_that_says_why() -> None:
    refused = ScriptedServer(lambda n: (400, b'{"message": "bad To"}', 0.0))
    with refused:
        sender = TwilioSender(TWILIO_ACCOUNT_SID, "secret", "+15550009999", refused.url)
        with pytest.raises(SmsNotSent, match="400"):
            sender.send("+1", "hello")
    nobody = TwilioSender(
        TWILIO_ACCOUNT_SID, "secret", "+15550009999", f"http://127.0.0.1:{free_port()}"
    )
    with pytest.raises(SmsNotSent, match="unreachable"):
        nobody.send("+15550001111", "hello")


def test_a_refusal_keeps_twilios_status_and_code_but_never_its_text() -> None:
    """Twilio's message quotes the number it refused; logs carry this error."""
    refusal = (
        b'{"code": 21211, "message": "The \'To\' number +15550001111 is not a '
        b'valid phone number.", "more_info": "https://www.twilio.com/docs/errors/'
        b'21211", "status": 400}'
    )
    with ScriptedServer(lambda n: (400, refusal, 0.0)) as twilio:
        sender = TwilioSender(TWILIO_ACCOUNT_SID, "secret", "+15550009999", twilio.url)
        with pytest.raises(SmsNotSent) as refused:
            sender.send("+15550001111", "hello")
    said = str(refused.value)
    assert "400" in said and "21211" in said
    assert "https://www.twilio.com/docs/errors/21211" in said
    assert "5550001111" not in said and "valid phone number" not in said
    # an answer that is not Twilio's JSON at all: its status alone
    with ScriptedServer(lambda n: (502, b"<html>+15550001111</html>", 0.0)) as proxy:
        sender = TwilioSender(TWILIO_ACCOUNT_SID, "secret", "+15550009999", proxy.url)
        with pytest.raises(SmsNotSent) as refused:
            sender.send("+15550001111", "hello")
    assert str(refused.value) == "Twilio answered 502"
