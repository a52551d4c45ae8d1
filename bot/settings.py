"""Every setting of the bot (Rasa server and action server), read once.

Values come from the environment; `./gracious run` loads .env into it first.
A missing or malformed required value is a SettingsError at start-up, naming
the variable, rather than a KeyError in the middle of a conversation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping, Optional


class SettingsError(RuntimeError):
    """A required setting is missing or malformed; the message names it."""


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name) or ""
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(
            f"{name} must be a number of seconds, got {raw!r}"
        ) from None
    if value <= 0:
        raise SettingsError(f"{name} must be above zero, got {raw!r}")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name) or ""
    if not raw:
        return default
    if not raw.isdigit():
        raise SettingsError(f"{name} must be a whole number, got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class Settings:
    """The bot's configuration; see the README's settings table."""

    billing_url: str = "http://127.0.0.1:5100"
    billing_api_key: str = field(default="", repr=False)
    billing_connect_timeout: float = 2.0
    billing_read_timeout: float = 4.0
    billing_retries: int = 1

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Settings:
        """Read and check every setting; raise SettingsError naming a bad one."""
        env = os.environ if env is None else env
        api_key = env.get("BILLING_API_KEY", "")
        if not api_key:
            raise SettingsError(
                "BILLING_API_KEY is not set: the bot needs the billing API's key. "
                "`./gracious run` generates one in .env for the local stack."
            )
        return cls(
            billing_url=env.get("BILLING_URL") or cls.billing_url,
            billing_api_key=api_key,
            billing_connect_timeout=_float(env, "BILLING_CONNECT_TIMEOUT_SECONDS", 2.0),
            billing_read_timeout=_float(env, "BILLING_READ_TIMEOUT_SECONDS", 4.0),
            billing_retries=_int(env, "BILLING_RETRIES", 1),
        )


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Return the process's settings, read on first use."""
    return Settings.from_env()
