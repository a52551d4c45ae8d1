"""Every setting of the billing service, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CATALOG = Path(__file__).with_name("offers.json")


class SettingsError(RuntimeError):
    """A required setting is missing or malformed; the message names it."""


class Secret:
    """A string that is never printed by accident."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret itself, for the one place that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


def _int(env: dict[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _secret(env: dict[str, str], name: str) -> Secret:
    raw = env.get(name, "")
    if len(raw) < 32:
        raise SettingsError(
            f"{name} is not set (or shorter than 32 characters). Set it in the "
            "environment; `./gracious run` writes random local values to .env."
        )
    return Secret(raw)


@dataclass(frozen=True)
class Settings:
    """The billing service's configuration; see the README's settings table."""

    database_url: str
    api_key: Secret
    token_secret: Secret
    host: str = "127.0.0.1"
    port: int = 5100
    token_ttl_seconds: int = 900
    cancel_grace_seconds: int = 259_200
    lockout_max_failures: int = 3
    lockout_window_seconds: int = 900
    lockout_seconds: int = 900
    offer_cooldown_days: int = 365
    offer_catalog: Path = DEFAULT_CATALOG
    max_body_bytes: int = 16_384

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read and check every setting; raise SettingsError naming a bad one."""
        env = dict(os.environ if env is None else env)
        return cls(
            database_url=env.get("BILLING_DATABASE_URL")
            or "sqlite:///var/billing.sqlite3",
            api_key=_secret(env, "BILLING_API_KEY"),
            token_secret=_secret(env, "BILLING_TOKEN_SECRET"),
            host=env.get("BILLING_HOST") or "127.0.0.1",
            port=_int(env, "BILLING_PORT", 5100, minimum=0),
            token_ttl_seconds=_int(env, "BILLING_TOKEN_TTL_SECONDS", 900),
            cancel_grace_seconds=_int(
                env, "BILLING_CANCEL_GRACE_SECONDS", 259_200, minimum=0
            ),
            lockout_max_failures=_int(env, "BILLING_LOCKOUT_MAX_FAILURES", 3),
            lockout_window_seconds=_int(env, "BILLING_LOCKOUT_WINDOW_SECONDS", 900),
            lockout_seconds=_int(env, "BILLING_LOCKOUT_SECONDS", 900),
            offer_cooldown_days=_int(env, "BILLING_OFFER_COOLDOWN_DAYS", 365),
            offer_catalog=Path(env.get("BILLING_OFFER_CATALOG") or DEFAULT_CATALOG),
            max_body_bytes=_int(env, "BILLING_MAX_BODY_BYTES", 16_384, minimum=256),
        )
