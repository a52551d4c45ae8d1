"""The widget channel trusts only tokens the company signed, from listed origins."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from socketio import AsyncRedisManager

from bot.channels.widget import (
    OriginPolicy,
    TokenVerifier,
    WidgetInput,
    demo_page,
    join_conversation,
    mint_token,
)
from bot.channels.widget_shared import SHARED_CHANNEL
from bot.settings import DEFAULT_WIDGET_ORIGINS, Settings, SettingsError

SECRET = "widget-secret-" + "w" * 32
KEY = "k" * 40


def rsa_pair() -> tuple[Any, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


PRIVATE, PUBLIC = rsa_pair()
OTHER_PRIVATE, _ = rsa_pair()


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {"sub": "cus_ana", "iat": now, "exp": now + 300}
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def test_a_valid_hs256_token_names_the_customer() -> None:
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    assert TokenVerifier(secret=SECRET).customer_id(token) == "cus_ana"
    assert TokenVerifier(secret=SECRET).customer_id(mint_token("cus_x", SECRET)) == (
        "cus_x"
    )


def test_a_valid_rs256_token_names_the_customer() -> None:
    token = jwt.encode(claims(sub="cus_ben"), PRIVATE, algorithm="RS256")
    assert TokenVerifier(public_key=PUBLIC).customer_id(token) == "cus_ben"
    both = TokenVerifier(secret=SECRET, public_key=PUBLIC)
    assert both.customer_id(token) == "cus_ben"


def test_a_public_key_with_escaped_line_breaks_from_one_env_line_works() -> None:
    one_line = PUBLIC.replace("\n", "\\n")
    config = Settings.from_env(
        {"BILLING_API_KEY": KEY, "WIDGET_JWT_PUBLIC_KEY": one_line}
    )
    token = jwt.encode(claims(), PRIVATE, algorithm="RS256")
    assert TokenVerifier(public_key=config.widget_jwt_public_key).customer_id(token)


def test_a_configured_audience_and_issuer_must_be_named_by_the_token() -> None:
    verifier = TokenVerifier(secret=SECRET, audience="gracious-chat", issuer="shop")
    ours = claims(aud="gracious-chat", iss="shop")
    assert verifier.customer_id(jwt.encode(ours, SECRET, algorithm="HS256")) == (
        "cus_ana"
    )
    # an identity provider's token for another service, signed with the same key
    for other in (
        claims(aud="payments-api", iss="shop"),
        claims(aud="gracious-chat", iss="someone-else"),
        claims(iss="shop"),
        claims(aud="gracious-chat"),
    ):
        token = jwt.encode(other, SECRET, algorithm="HS256")
        assert verifier.customer_id(token) is None
    minted = mint_token("cus_x", SECRET, audience="gracious-chat", issuer="shop")
    assert verifier.customer_id(minted) == "cus_x"


def test_without_a_configured_audience_a_token_for_another_audience_is_anonymous() -> (
    None
):
    token = jwt.encode(claims(aud="payments-api"), SECRET, algorithm="HS256")
    assert TokenVerifier(secret=SECRET).customer_id(token) is None


def test_the_audience_and_issuer_come_from_the_environment() -> None:
    config = Settings.from_env(
        {
            "BILLING_API_KEY": KEY,
            "WIDGET_JWT_AUDIENCE": " gracious-chat ",
            "WIDGET_JWT_ISSUER": "https://shop.example",
        }
    )
    assert (config.widget_jwt_audience, config.widget_jwt_issuer) == (
        "gracious-chat",
        "https://shop.example",
    )


def test_a_token_from_a_server_whose_clock_runs_a_little_ahead_is_accepted() -> None:
    now = int(time.time())
    ahead = claims(iat=now + 10, nbf=now + 10, exp=now + 300)
    token = jwt.encode(ahead, SECRET, algorithm="HS256")
    assert TokenVerifier(secret=SECRET).customer_id(token) == "cus_ana"
    far_ahead = claims(iat=now + 600, nbf=now + 600, exp=now + 900)
    token = jwt.encode(far_ahead, SECRET, algorithm="HS256")
    assert TokenVerifier(secret=SECRET).customer_id(token) is None


def test_an_expired_token_is_anonymous() -> None:
    now = int(time.time())
    token = jwt.encode(claims(iat=now - 600, exp=now - 60), SECRET, algorithm="HS256")
    assert TokenVerifier(secret=SECRET).customer_id(token) is None


@pytest.mark.parametrize(
    "token",
    [
        jwt.encode(claims(), "another-secret-" + "x" * 32, algorithm="HS256"),
        jwt.encode(claims(), OTHER_PRIVATE, algorithm="RS256"),
    ],
    ids=["hs256-wrong-secret", "rs256-wrong-key"],
)
def test_a_token_signed_with_another_key_is_anonymous(token: str) -> None:
    verifier = TokenVerifier(secret=SECRET, public_key=PUBLIC)
    assert verifier.customer_id(token) is None


def test_a_tampered_token_is_anonymous() -> None:
    header, payload, signature = jwt.encode(claims(), SECRET, algorithm="HS256").split(
        "."
    )
    forged_payload = jwt.utils.base64url_encode(
        b'{"sub":"cus_ben","exp":%d}' % (int(time.time()) + 300)
    ).decode()
    # Flip one bit of the decoded signature: replacing its last characters
    # with fixed ones left it unchanged whenever it already ended in them.
    raw = bytearray(jwt.utils.base64url_decode(signature))
    raw[0] ^= 0x01
    bent_signature = jwt.utils.base64url_encode(bytes(raw)).decode()
    assert bent_signature != signature
    verifier = TokenVerifier(secret=SECRET)
    assert verifier.customer_id(f"{header}.{forged_payload}.{signature}") is None
    assert verifier.customer_id(f"{header}.{payload}.{bent_signature}") is None
    assert verifier.customer_id("not a token") is None
    assert verifier.customer_id({"sub": "cus_ana"}) is None


@pytest.mark.parametrize(
    "changes",
    [{"sub": None}, {"sub": ""}, {"sub": "   "}, {"exp": None}, {"sub": "c" * 500}],
    ids=["no-sub", "empty-sub", "blank-sub", "no-exp", "long-sub"],
)
def test_a_token_without_a_usable_sub_or_exp_is_anonymous(
    changes: dict[str, Any],
) -> None:
    token = jwt.encode(claims(**changes), SECRET, algorithm="HS256")
    assert TokenVerifier(secret=SECRET).customer_id(token) is None


def test_unsigned_tokens_and_algorithm_swaps_are_anonymous() -> None:
    verifier = TokenVerifier(secret=SECRET, public_key=PUBLIC)
    unsigned = jwt.encode(claims(), None, algorithm="none")
    assert verifier.customer_id(unsigned) is None
    # HS256 "signed" with the public key: the classic confusion attack.
    header = jwt.utils.base64url_encode(b'{"alg":"HS256","typ":"JWT"}').decode()
    body = jwt.utils.base64url_encode(
        b'{"sub":"cus_ana","exp":%d}' % (int(time.time()) + 300)
    ).decode()
    mac = hmac.new(PUBLIC.encode(), f"{header}.{body}".encode(), hashlib.sha256)
    signature = jwt.utils.base64url_encode(mac.digest()).decode()
    assert (
        TokenVerifier(public_key=PUBLIC).customer_id(f"{header}.{body}.{signature}")
        is None
    )


def test_without_keys_every_token_is_anonymous() -> None:
    verifier = TokenVerifier()
    assert not verifier.enabled
    assert verifier.customer_id(jwt.encode(claims(), SECRET, algorithm="HS256")) is None


def test_a_malformed_public_key_stops_start_up_with_its_name() -> None:
    with pytest.raises(SettingsError, match="WIDGET_JWT_PUBLIC_KEY"):
        TokenVerifier(public_key="-----BEGIN PUBLIC KEY-----\nnope\n")


def test_a_short_widget_secret_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match="WIDGET_JWT_SECRET"):
        Settings.from_env({"BILLING_API_KEY": KEY, "WIDGET_JWT_SECRET": "short"})
    config = Settings.from_env({"BILLING_API_KEY": KEY, "WIDGET_JWT_SECRET": SECRET})
    assert SECRET not in repr(config)


def test_only_the_bots_own_origin_is_allowed_by_default() -> None:
    config = Settings.from_env({"BILLING_API_KEY": KEY})
    assert config.widget_allowed_origins == DEFAULT_WIDGET_ORIGINS
    policy = OriginPolicy(config.widget_allowed_origins)
    assert policy.allows("http://127.0.0.1:5005")
    assert policy.allows("http://localhost:5005")
    assert not policy.allows("https://evil.example")
    assert not policy.allows("http://127.0.0.1:5006")
    assert not policy.allows(None) and not policy.allows("")
    assert not config.demo_page


def test_listed_origins_are_normalised_and_matched_exactly() -> None:
    config = Settings.from_env(
        {
            "BILLING_API_KEY": KEY,
            "WIDGET_ALLOWED_ORIGINS": " https://Shop.Example.com/ , http://localhost:8000",
        }
    )
    policy = OriginPolicy(config.widget_allowed_origins)
    assert policy.allows("https://shop.example.com")
    assert policy.allows("http://localhost:8000")
    assert not policy.allows("http://shop.example.com")
    assert not policy.allows("https://shop.example.com.evil.example")
    assert not policy.allows("http://127.0.0.1:5005")


@pytest.mark.parametrize(
    "value", ["*", "https://*.example.com", "shop.example.com", "https://x.com/path"]
)
def test_wildcards_and_non_origins_are_refused_by_name(value: str) -> None:
    with pytest.raises(SettingsError, match="WIDGET_ALLOWED_ORIGINS"):
        Settings.from_env({"BILLING_API_KEY": KEY, "WIDGET_ALLOWED_ORIGINS": value})


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("0", False)])
def test_the_demo_page_is_a_named_switch(value: str, expected: bool) -> None:
    config = Settings.from_env({"BILLING_API_KEY": KEY, "GRACIOUS_DEMO_PAGE": value})
    assert config.demo_page is expected
    with pytest.raises(SettingsError, match="GRACIOUS_DEMO_PAGE"):
        Settings.from_env({"BILLING_API_KEY": KEY, "GRACIOUS_DEMO_PAGE": "maybe"})


class SyncRooms:
    """python-socketio before 5.10: enter_room is a plain method."""

    def __init__(self) -> None:
        self.rooms: list[tuple[str, str]] = []

    def enter_room(self, sid: str, room: str) -> None:
        self.rooms.append((sid, room))


class AsyncRooms(SyncRooms):
    """python-socketio 5.10 and later: enter_room is a coroutine."""

    async def enter_room(self, sid: str, room: str) -> None:  # type: ignore[override]
        self.rooms.append((sid, room))


@pytest.mark.parametrize("server", [SyncRooms, AsyncRooms])
async def test_the_socket_joins_its_conversation_on_any_socketio(server: type) -> None:
    sio = server()
    await join_conversation(sio, "sid1", "conversation1")
    assert sio.rooms == [("sid1", "conversation1")]


def test_only_the_logged_in_demo_page_fetches_a_login() -> None:
    anonymous, ana = demo_page(False, True), demo_page(True, True)
    assert 'data-token-url="demo/token"' in ana
    assert "data-token-url" not in anonymous
    assert "{{" not in anonymous and "{{" not in ana


async def _ignore(message: Any) -> None:
    return None


def test_one_server_keeps_its_sockets_and_several_share_them_through_redis() -> None:
    alone = WidgetInput(config=Settings(billing_api_key=KEY))
    alone.blueprint(_ignore)
    assert not isinstance(alone.sio.manager, AsyncRedisManager)

    shared = WidgetInput(
        config=Settings(billing_api_key=KEY, widget_redis_url="redis://cache:6379/2")
    )
    shared.blueprint(_ignore)
    assert isinstance(shared.sio.manager, AsyncRedisManager)
    # Every server must publish and listen on the same channel.
    assert shared.sio.manager.channel == SHARED_CHANNEL
    assert shared.sio.manager.redis_url == "redis://cache:6379/2"
