"""A text Twilio took (2xx) is sent, whatever its answer says about it.

Twilio's Messages API answers 201 and the message as JSON; a proxy in front
of it, or a change on Twilio's side, may answer otherwise. The retry worker
must then not count the text as failed: it went out, and a round that fails
after it is tried again, texting the customer twice.
"""

from __future__ import annotations

import logging

import pytest

from bot.channels.sms_outbound import NO_SID, TwilioSender
from tests.support.fake_http import ScriptedServer
from tests.support.sms import TWILIO_ACCOUNT_SID


@pytest.mark.parametrize(
    "status, answer",
    [
        (201, b"<html>Queued for +15550001111: GR-2YY7QN</html>"),
        (201, b'["SM1"]'),
        (201, b'{"status": "queued", "to": "+15550001111"}'),
        (201, b""),
        (202, b"accepted"),
    ],
)
def test_a_text_twilio_took_without_a_sid_is_sent_and_logged_without_details(
    status: int, answer: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with ScriptedServer(lambda n: (status, answer, 0.0)) as twilio:
        sender = TwilioSender(TWILIO_ACCOUNT_SID, "secret", "+15550009999", twilio.url)
        with caplog.at_level(logging.WARNING, "bot.channels.sms_outbound"):
            sid = sender.send("+15550001111", "Done. Premium ends, code GR-2YY7QN")
    assert sid == NO_SID and len(twilio.requests) == 1
    assert "no message SID" in caplog.text
    # the log holds neither the customer's number nor what they were told
    assert "5550001111" not in caplog.text and "GR-2YY7QN" not in caplog.text
