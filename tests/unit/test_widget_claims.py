"""Claims of widget messages in the Redis the Rasa servers share.

Each "server" is a lock store of its own, with its own Redis client, against
the machine's Redis, as two Rasa processes would be
(bot/channels/widget_claims.py). What the servers' turns do with the claims
is in test_widget_delivery.py.
"""

from __future__ import annotations

import uuid

from rasa.utils.endpoints import EndpointConfig

from bot.channels.widget_claims import CLAIM_SECONDS, Claim, MessageClaims, claims_in
from bot.lock_store import ConversationLockStore
from scripts.processes import free_port
from tests.support.services import needs_redis

MESSAGE_ID = "0b6f3c1e-9a4d-4d2e-8f31-5c7a2b9e4d10"


def server(port: int = 6379) -> MessageClaims:
    """The claims a Rasa server with the lock store in Redis makes."""
    lock_store = ConversationLockStore(
        EndpointConfig(url="127.0.0.1", kind="redis", port=str(port), db="1")
    )
    claims = claims_in(lock_store)
    assert claims is not None
    return claims


def conversation() -> str:
    return uuid.uuid4().hex


@needs_redis
def test_of_two_servers_receiving_one_message_the_first_claims_it() -> None:
    here, there = server(), server()
    assert here.red is not there.red
    talk = conversation()
    assert here.claim(talk, MESSAGE_ID) is Claim.FIRST
    assert there.claim(talk, MESSAGE_ID) is Claim.CLAIMED
    assert here.claim(talk, MESSAGE_ID) is Claim.CLAIMED
    assert there.state(talk, MESSAGE_ID) is Claim.CLAIMED

    here.mark_done(talk, MESSAGE_ID)  # its turn ran
    assert there.claim(talk, MESSAGE_ID) is Claim.DONE
    assert there.state(talk, MESSAGE_ID) is Claim.DONE


@needs_redis
def test_the_same_id_in_another_conversation_is_another_message() -> None:
    here, there = server(), server()
    first, second = conversation(), conversation()
    assert here.claim(first, MESSAGE_ID) is Claim.FIRST
    here.mark_done(first, MESSAGE_ID)
    assert there.claim(second, MESSAGE_ID) is Claim.FIRST
    assert here.state(second, "another-message-id") is Claim.NONE


@needs_redis
def test_a_claim_lasts_an_hour_and_is_then_forgotten() -> None:
    claims, talk = server(), conversation()
    claims.claim(talk, MESSAGE_ID)
    key = f"gracious_widget_message:{talk}:{MESSAGE_ID}"
    assert 0 < claims.red.ttl(key) <= CLAIM_SECONDS == 3600
    claims.mark_done(talk, MESSAGE_ID)
    assert 0 < claims.red.ttl(key) <= CLAIM_SECONDS
    claims.red.delete(key)


def test_when_redis_does_not_answer_nothing_is_claimed_or_known() -> None:
    claims, talk = server(port=free_port()), conversation()  # nothing listens
    assert claims.claim(talk, MESSAGE_ID) is Claim.UNKNOWN
    assert claims.state(talk, MESSAGE_ID) is Claim.UNKNOWN
    claims.mark_done(talk, MESSAGE_ID)  # logged, not raised: the turn has run
    # the lock store's client, with its timeouts
    assert claims.red.connection_pool.connection_kwargs["socket_timeout"] == 5.0


def test_one_server_locking_in_memory_has_no_claims() -> None:
    assert claims_in(ConversationLockStore(EndpointConfig(kind="in_memory"))) is None
    assert claims_in(object()) is None  # Rasa's own lock stores
