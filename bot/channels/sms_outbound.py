"""Texting a customer first: Twilio's Messages API, for replies that come later.

Conversations are answered in the webhook's own response (TwiML). Only a
cancellation completed after billing came back needs a text the customer
did not just ask for; it goes through the REST API with the account's SID
and auth token, and a timeout, like every network call.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Optional

import requests

from bot.channels.sms_text import to_gsm7

log = logging.getLogger(__name__)

TIMEOUT = (3.05, 10.0)  # (connect, read) seconds
# Twilio's error pages; anything else in more_info is not repeated
TWILIO_ERROR_PAGE = re.compile(r"^https://www\.twilio\.com/docs/errors/\d{1,6}$")
# What ``send`` returns for a message Twilio took without saying its SID.
NO_SID = "(no sid)"


class SmsNotSent(RuntimeError):
    """Twilio did not accept the message; the text says why.

    Only the HTTP status, Twilio's numeric error code and its error page:
    Twilio's own message can quote the number ("The 'To' number +1555...
    is not a valid phone number"), and this error is logged.
    """


def _refusal(answer: requests.Response) -> SmsNotSent:
    """Return the error for a refused message, without Twilio's wording."""
    try:
        error: Any = answer.json()
    except ValueError:
        error = None
    said = f"Twilio answered {answer.status_code}"
    if not isinstance(error, dict):
        return SmsNotSent(said)
    code, more_info = error.get("code"), error.get("more_info")
    if isinstance(code, int) and not isinstance(code, bool):
        said += f", code {code}"
    if isinstance(more_info, str) and TWILIO_ERROR_PAGE.match(more_info):
        said += f" ({more_info})"
    return SmsNotSent(said)


class TwilioSender:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_url: str = "https://api.twilio.com",
        session: Optional[requests.Session] = None,
    ) -> None:
        self._url = (
            f"{api_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        )
        self._auth = (account_sid, auth_token)
        self._from = from_number
        self._session = session or requests.Session()

    def send(self, to: str, body: str) -> str:
        """Send one text; return Twilio's message SID (NO_SID if it gave none)."""
        try:
            answer = self._session.post(
                self._url,
                data={"To": to, "From": self._from, "Body": to_gsm7(body)},
                auth=self._auth,
                timeout=TIMEOUT,
            )
        except requests.RequestException as error:
            raise SmsNotSent(f"Twilio unreachable: {type(error).__name__}") from None
        if not 200 <= answer.status_code < 300:
            raise _refusal(answer)
        return _sid(answer)


def _sid(accepted: requests.Response) -> str:
    """Return the SID of a message Twilio took, or NO_SID if it gave none."""
    try:
        message: Any = accepted.json()
    except ValueError:
        message = None
    sid = message.get("sid") if isinstance(message, dict) else None
    if isinstance(sid, str) and sid:
        return sid
    # A 2xx means the text is on its way: an error now would fail the retry
    # round after the customer got it, and a later round would text it again.
    # Only the status is logged: the answer may quote the number or the text.
    log.warning(
        "Twilio took a text (%d) but its answer held no message SID",
        accepted.status_code,
    )
    return NO_SID
