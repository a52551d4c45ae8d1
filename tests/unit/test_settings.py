"""Settings fail fast and clearly, and secrets are not printed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from billing_service.settings import Settings as BillingSettings
from billing_service.settings import SettingsError as BillingSettingsError
from bot.settings import Settings, SettingsError

KEY = "k" * 40


def test_the_bot_needs_the_billing_key_and_names_it() -> None:
    with pytest.raises(SettingsError, match="BILLING_API_KEY"):
        Settings.from_env({})


def test_the_bot_reads_its_settings_and_hides_the_key() -> None:
    settings = Settings.from_env(
        {
            "BILLING_API_KEY": KEY,
            "BILLING_URL": "http://billing:9000",
            "BILLING_READ_TIMEOUT_SECONDS": "2.5",
            "BILLING_RETRIES": "0",
        }
    )
    assert settings.billing_url == "http://billing:9000"
    assert settings.billing_read_timeout == 2.5 and settings.billing_retries == 0
    assert KEY not in repr(settings)


@pytest.mark.parametrize(
    "name, value",
    [
        ("BILLING_READ_TIMEOUT_SECONDS", "soon"),
        ("BILLING_CONNECT_TIMEOUT_SECONDS", "0"),
        ("BILLING_RETRIES", "-1"),
    ],
)
def test_a_malformed_bot_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({"BILLING_API_KEY": KEY, name: value})


def test_billing_needs_long_secrets_and_hides_them() -> None:
    with pytest.raises(BillingSettingsError, match="BILLING_TOKEN_SECRET"):
        BillingSettings.from_env(
            {"BILLING_API_KEY": KEY, "BILLING_TOKEN_SECRET": "short"}
        )
    settings = BillingSettings.from_env(
        {
            "BILLING_API_KEY": KEY,
            "BILLING_TOKEN_SECRET": "t" * 40,
            "BILLING_LOCKOUT_MAX_FAILURES": "5",
        }
    )
    assert settings.lockout_max_failures == 5
    assert settings.database_url == "sqlite:///var/billing.sqlite3"
    assert KEY not in repr(settings) and KEY not in str(settings.api_key)
    with pytest.raises(BillingSettingsError, match="BILLING_LOCKOUT_SECONDS"):
        BillingSettings.from_env(
            {
                "BILLING_API_KEY": KEY,
                "BILLING_TOKEN_SECRET": "t" * 40,
                "BILLING_LOCKOUT_SECONDS": "ten",
            }
        )


def test_the_billing_service_refuses_to_start_without_secrets() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "billing_service", "serve"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "BILLING_API_KEY is not set" in run.stderr


@pytest.mark.parametrize(
    "variable, field",
    [("GRACIOUS_NOTICE_KEY", "notice_key"), ("GRACIOUS_MODEL_KEY", "model_key")],
)
def test_route_keys_are_optional_but_never_short_or_printed(
    variable: str, field: str
) -> None:
    assert getattr(Settings.from_env({"BILLING_API_KEY": KEY}), field) == ""
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({"BILLING_API_KEY": KEY, variable: "short"})
    key = "n" * 32
    config = Settings.from_env({"BILLING_API_KEY": KEY, variable: key})
    assert getattr(config, field) == key and key not in repr(config)


def test_several_servers_share_widget_sockets_through_the_lock_stores_redis() -> None:
    def url(**env: str) -> str:
        return Settings.from_env({"BILLING_API_KEY": KEY, **env}).widget_redis_url

    assert url() == "" and url(LOCK_STORE_TYPE="in_memory") == ""
    assert url(LOCK_STORE_TYPE="redis") == "redis://127.0.0.1:6379/1"
    assert (
        url(
            LOCK_STORE_TYPE="redis",
            LOCK_STORE_REDIS_HOST="redis.internal",
            LOCK_STORE_REDIS_PORT="6380",
            LOCK_STORE_REDIS_DB="3",
        )
        == "redis://redis.internal:6380/3"
    )
    secret = "rediss://:hunter2-password@cache.internal:6380/0"
    assert url(WIDGET_REDIS_URL=secret) == secret
    env = {"BILLING_API_KEY": KEY, "WIDGET_REDIS_URL": secret}
    assert "hunter2" not in repr(Settings.from_env(env))
    for bad in ["localhost:6379", "http://cache:6379", "redis://"]:
        with pytest.raises(SettingsError, match="WIDGET_REDIS_URL"):
            url(WIDGET_REDIS_URL=bad)


def test_the_widgets_shared_sockets_log_in_to_a_managed_lock_store_redis() -> None:
    """Its password and TLS come along; the password is never printed."""
    env = {
        "BILLING_API_KEY": KEY,
        "LOCK_STORE_TYPE": "redis",
        "LOCK_STORE_REDIS_HOST": "cache.internal",
        "LOCK_STORE_REDIS_PASSWORD": "p@ss/w:rd-hunter2",
        "LOCK_STORE_REDIS_SSL": "true",
    }
    config = Settings.from_env(env)
    assert config.widget_redis_url == (
        "rediss://:p%40ss%2Fw%3Ard-hunter2@cache.internal:6379/1"
    )
    assert "hunter2" not in repr(config)
    plain = Settings.from_env({**env, "LOCK_STORE_REDIS_SSL": "false"})
    assert plain.widget_redis_url.startswith("redis://:p%40ss")
    with pytest.raises(SettingsError, match="LOCK_STORE_REDIS_SSL"):
        Settings.from_env({**env, "LOCK_STORE_REDIS_SSL": "sometimes"})
