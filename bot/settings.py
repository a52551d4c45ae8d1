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
from urllib.parse import quote


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


def _flag(env: Mapping[str, str], name: str) -> bool:
    return flag(env.get(name), name)


def flag(value: object, name: str) -> bool:
    """Return a yes/no setting; empty is no. Also endpoints.yml's ${VAR} text."""
    raw = str(value or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be 1 or 0 (true or false), got {raw!r}")


# Where the widget's socket may be opened from when WIDGET_ALLOWED_ORIGINS is
# unset: only pages the bot serves itself on the default port (the demo page).
DEFAULT_WIDGET_ORIGINS = ("http://127.0.0.1:5005", "http://localhost:5005")


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name) or ""
    if not raw.strip():
        return DEFAULT_WIDGET_ORIGINS
    origins = []
    for item in raw.split(","):
        origin = item.strip().rstrip("/").lower()
        scheme, _, host = origin.partition("://")
        if scheme not in ("http", "https") or not host or "/" in host or "*" in host:
            raise SettingsError(
                f"{name} must list origins like https://shop.example.com, "
                f"comma-separated (no wildcard, no path), got {item.strip()!r}"
            )
        origins.append(origin)
    return tuple(origins)


def _widget_redis_url(env: Mapping[str, str]) -> str:
    """Where several Rasa servers share their widget sockets' messages.

    WIDGET_REDIS_URL when given; otherwise, when the conversations are locked
    in Redis (several Rasa servers), that same Redis, password and TLS
    included: a reply or a notice emitted by one server must reach the
    customer's socket on another.
    """
    raw = (env.get("WIDGET_REDIS_URL") or "").strip()
    if raw:
        if not raw.startswith(("redis://", "rediss://")) or len(raw) < 9:
            raise SettingsError(
                "WIDGET_REDIS_URL must be a Redis URL like redis://host:6379/0"
            )
        return raw
    if (env.get("LOCK_STORE_TYPE") or "").strip().lower() != "redis":
        return ""
    host, port, db = (
        env.get(name) or RASA_ENVIRONMENT_DEFAULTS[name]
        for name in (
            "LOCK_STORE_REDIS_HOST",
            "LOCK_STORE_REDIS_PORT",
            "LOCK_STORE_REDIS_DB",
        )
    )
    password = env.get("LOCK_STORE_REDIS_PASSWORD") or ""
    login = f":{quote(password, safe='')}@" if password else ""
    scheme = "rediss" if _flag(env, "LOCK_STORE_REDIS_SSL") else "redis"
    return f"{scheme}://{login}{host}:{port}/{db}"


def _optional_secret(env: Mapping[str, str], name: str) -> str:
    secret = env.get(name) or ""
    if secret and len(secret) < 32:
        raise SettingsError(f"{name} must be at least 32 characters long")
    return secret


@dataclass(frozen=True)
class Settings:
    """The bot's configuration; see the README's settings table."""

    billing_url: str = "http://127.0.0.1:5100"
    billing_api_key: str = field(default="", repr=False)
    billing_connect_timeout: float = 2.0
    billing_read_timeout: float = 4.0
    billing_retries: int = 1
    bot_database_url: str = "sqlite:///var/bot.sqlite3"
    rest_identity_key: str = field(default="", repr=False)
    widget_jwt_secret: str = field(default="", repr=False)
    widget_jwt_public_key: str = field(default="", repr=False)
    widget_jwt_audience: str = ""
    widget_jwt_issuer: str = ""
    widget_allowed_origins: tuple[str, ...] = DEFAULT_WIDGET_ORIGINS
    demo_page: bool = False
    # Empty for one Rasa server; a Redis URL (it may hold a password) for several.
    widget_redis_url: str = field(default="", repr=False)
    twilio_auth_token: str = field(default="", repr=False)
    twilio_public_url: str = ""
    sms_insecure_skip_signature: bool = False
    # Outbound texts (a cancellation completed after a billing outage).
    twilio_account_sid: str = ""
    twilio_from_number: str = ""
    twilio_api_url: str = "https://api.twilio.com"
    retry_interval_seconds: float = 30.0
    # The retry worker tells web customers in their conversation
    # (bot/channels/notices.py); without the key it cannot.
    rasa_url: str = "http://127.0.0.1:5005"
    notice_key: str = field(default="", repr=False)
    # Opens the route that loads another model into the running server
    # (bot/channels/model_reload.py); without it the route refuses all.
    model_key: str = field(default="", repr=False)

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
            bot_database_url=env.get("BOT_DATABASE_URL") or cls.bot_database_url,
            rest_identity_key=env.get("GRACIOUS_REST_IDENTITY_KEY", ""),
            widget_jwt_secret=_optional_secret(env, "WIDGET_JWT_SECRET"),
            # A PEM in one .env line may carry its line breaks as \n.
            widget_jwt_public_key=(env.get("WIDGET_JWT_PUBLIC_KEY") or "").replace(
                "\\n", "\n"
            ),
            widget_jwt_audience=(env.get("WIDGET_JWT_AUDIENCE") or "").strip(),
            widget_jwt_issuer=(env.get("WIDGET_JWT_ISSUER") or "").strip(),
            widget_allowed_origins=_origins(env, "WIDGET_ALLOWED_ORIGINS"),
            demo_page=_flag(env, "GRACIOUS_DEMO_PAGE"),
            widget_redis_url=_widget_redis_url(env),
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN", ""),
            twilio_public_url=(env.get("TWILIO_PUBLIC_URL") or "").strip(),
            sms_insecure_skip_signature=_flag(
                env, "GRACIOUS_SMS_INSECURE_SKIP_SIGNATURE"
            ),
            twilio_account_sid=(env.get("TWILIO_ACCOUNT_SID") or "").strip(),
            twilio_from_number=(env.get("TWILIO_FROM_NUMBER") or "").strip(),
            twilio_api_url=env.get("TWILIO_API_URL") or cls.twilio_api_url,
            retry_interval_seconds=_float(env, "GRACIOUS_RETRY_INTERVAL_SECONDS", 30.0),
            rasa_url=(env.get("GRACIOUS_RASA_URL") or cls.rasa_url).rstrip("/"),
            notice_key=_optional_secret(env, "GRACIOUS_NOTICE_KEY"),
            model_key=_optional_secret(env, "GRACIOUS_MODEL_KEY"),
        )


# What endpoints.yml reads, with the embedded defaults: one Rasa process,
# SQLite, the action server beside it. Production sets these instead.
RASA_ENVIRONMENT_DEFAULTS = {
    "ACTION_ENDPOINT_URL": "http://127.0.0.1:5055/webhook",
    "TRACKER_DATABASE_URL": "sqlite:///var/tracker.sqlite3",
    "LOCK_STORE_TYPE": "in_memory",
    "LOCK_STORE_REDIS_HOST": "127.0.0.1",
    "LOCK_STORE_REDIS_PORT": "6379",
    "LOCK_STORE_REDIS_DB": "1",
    # A managed Redis's AUTH password (a secret: from the environment only)
    # and TLS. Rasa refuses an unset variable, so none is an empty one.
    "LOCK_STORE_REDIS_PASSWORD": "",
    "LOCK_STORE_REDIS_SSL": "false",
}


def rasa_environment(env: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """Return ``env`` with every variable endpoints.yml needs given a value."""
    env = dict(os.environ if env is None else env)
    for name, default in RASA_ENVIRONMENT_DEFAULTS.items():
        env[name] = env.get(name) or default
    return env


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Return the process's settings, read on first use."""
    return Settings.from_env()
