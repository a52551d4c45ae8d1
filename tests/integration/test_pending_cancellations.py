"""A cancellation asked for while billing is down is written down and completed.

The flow and the retry worker against the real billing service (SQLite and
PostgreSQL), with a proxy in between that plays the outage; the bot's own
table on SQLite and, when a server is configured, on PostgreSQL too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import secrets
from pathlib import Path
from typing import Iterator, Optional

import jwt
import pytest
from sqlalchemy import func, select, update

from bot import replies
from bot.billing import (
    BillingUnavailable,
    Caller,
    CancellationReceipt,
    HttpBillingClient,
    Verification,
)
from bot.database import engine_for
from bot.flow import Request, carry_out, offer_from_slot, verification_from_slot
from bot.handoff import handoff_requests
from bot.pending import PendingCancellation, PendingStore, pending_cancellations
from bot.retry_worker import run_due
from tests.conftest import POSTGRES_URL
from tests.integration.test_flow import request_for, texts
from tests.support.billing import (
    API_KEY,
    TOKEN_SECRET,
    BillingService,
    postgres_database,
)
from tests.support.plans import cancelled_in
from tests.support.proxy import CuttableProxy

CODE = re.compile(r"GR-[2-9A-HJ-NP-Z]{6}")


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PendingStore]:
    if request.param == "sqlite":
        yield PendingStore(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
        return
    with postgres_database(POSTGRES_URL) as url:
        yield PendingStore(url)
        engine_for(url).dispose()


@pytest.fixture
def outage(billing: BillingService) -> Iterator[CuttableProxy]:
    proxy = CuttableProxy(int(billing.url.rsplit(":", 1)[1]))
    yield proxy
    proxy.close()


@pytest.fixture
def client(outage: CuttableProxy) -> Iterator[HttpBillingClient]:
    client = HttpBillingClient(outage.url, API_KEY, retries=0, timeout=(1.0, 2.0))
    yield client
    client.close()


class Texts:
    """What the worker would text; records instead of calling Twilio."""

    def __init__(self) -> None:
        self.sent: list[tuple[PendingCancellation, list[CancellationReceipt]]] = []

    def __call__(
        self, pending: PendingCancellation, receipts: list[CancellationReceipt]
    ) -> Optional[str]:
        self.sent.append((pending, receipts))
        return "SM-test"


def offered(client: HttpBillingClient, customer, **changes) -> Request:
    """Run the conversation up to the offer; return the request answering it."""
    first = carry_out(client, request_for(customer, **changes))
    verification = verification_from_slot(first.slots["verified_customer"])
    offer = offer_from_slot(first.slots["offer"])
    assert verification is not None and offer is not None
    return dataclasses.replace(
        request_for(customer, **changes),
        verification=verification,
        offer=offer,
        offer_made=True,
        offer_answer="no",
    )


def test_a_no_while_billing_is_down_is_kept_and_completed_once(
    billing: BillingService, client, outage, store: PendingStore
) -> None:
    customer = billing.new_customer()
    answer = offered(client, customer, caller=Caller("sms", "conv-sms-1"))
    outage.go_down()
    down = carry_out(client, answer, store)
    assert "cancellation is saved" in texts(down)
    assert down.slots["goal"] is None and not down.slots.get("pending_retry")
    [row] = store.unfinished()
    assert row["subscription_id"] == answer.offer.subscription_id
    assert row["customer_id"] == customer.id and row["channel"] == "sms"
    assert not billing.subscription(customer).cancel_at_period_end

    sent = Texts()
    assert run_due(client, store, store.url, sent, 60) == ["retry"]
    outage.down = False
    assert run_due(client, store, store.url, sent, 60) == []  # waits its turn
    [row] = store.unfinished()
    assert row["next_attempt_at"] - row["requested_at"] >= dt.timedelta(seconds=110)
    _make_due(store)
    assert run_due(client, store, store.url, sent, 60) == ["cancelled"]
    assert billing.subscription(customer).cancel_at_period_end
    [(pending, [receipt])] = sent.sent
    assert pending.subscription_id == receipt.subscription_id
    assert receipt.confirmation_code == billing.subscription(customer)[2]
    assert store.unfinished() == []
    with engine_for(store.url).connect() as connection:
        tokens = connection.execute(select(pending_cancellations.c.token)).scalars()
        assert list(tokens) == [""]  # no live credential kept once finished
    events = billing.sql(
        "SELECT type FROM events WHERE subscription_id = :s AND type LIKE "
        "'subscription.cancel%'",
        s=answer.offer.subscription_id,
    )
    assert len(events) == 1


def test_a_first_attempt_that_did_reach_billing_is_not_repeated(
    billing: BillingService, client, outage, store: PendingStore
) -> None:
    """The turn's cancel committed but its answer was lost: same key, same code."""
    customer = billing.new_customer()
    answer = offered(client, customer, no_offers=False)
    outage.go_down()
    carry_out(client, answer, store)
    outage.down = False
    [row] = store.unfinished()
    # As if billing had taken the turn's request before the line dropped.
    first = client.cancel(
        answer.verification,
        row["subscription_id"],
        answer.caller,
        row["idempotency_key"],
    )
    assert run_due(client, store, store.url, Texts(), 0.01) == ["cancelled"]
    assert billing.subscription(customer)[2] == first.confirmation_code


def verified(billing: BillingService, customer) -> Verification:
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=15)
    return Verification(customer.id, "Test", billing.verify(customer), expires)


def test_billing_down_before_the_plan_was_known(
    billing: BillingService, client, outage, store: PendingStore
) -> None:
    """Verified, then billing fell over listing plans: their one plan is cancelled."""
    customer = billing.new_customer()
    verification = verified(billing, customer)
    outage.go_down()
    carry_out(
        client, request_for(customer, verification=verification, no_offers=True), store
    )
    [row] = store.unfinished()
    assert row["subscription_id"] is None
    outage.down = False
    assert run_due(client, store, store.url, Texts(), 0.01) == ["cancelled"]
    assert billing.subscription(customer).cancel_at_period_end


@pytest.mark.parametrize(
    "words, result, cancelled",
    [
        # nothing says which: a person finishes it
        ("cancel my subscription", "handed_to_staff", (False, False)),
        # the request's words choose, as they would have in the conversation
        ("cancel the family add-on, keep premium", "cancelled", (False, True)),
    ],
)
def test_two_plans_and_billing_down_before_the_choice(
    billing: BillingService,
    client,
    outage,
    store: PendingStore,
    words: str,
    result: str,
    cancelled: tuple[bool, bool],
) -> None:
    customer = billing.new_customer("premium-monthly", "family-addon-monthly")
    verification = verified(billing, customer)
    outage.go_down()
    request = request_for(
        customer, verification=verification, no_offers=True, reason=words, words=words
    )
    carry_out(client, request, store)
    [row] = store.unfinished()
    assert row["subscription_id"] is None and row["reason"] == words
    outage.down = False
    assert run_due(client, store, store.url, Texts(), 0.01) == [result]
    assert _handoffs(store, customer.id) == (result == "handed_to_staff")
    for number, expected in enumerate(cancelled, 1):
        assert bool(billing.subscription(customer, number).cancel_at_period_end) is (
            expected
        )


def test_nothing_is_kept_before_verification(
    billing: BillingService, client, outage, store: PendingStore
) -> None:
    customer = billing.new_customer()
    outage.go_down()
    outcome = carry_out(client, request_for(customer), store)
    assert "try again" in texts(outcome) and outcome.slots == {"pending_retry": True}
    assert store.unfinished() == []


def test_an_accepted_offer_is_not_turned_into_a_cancellation(
    billing: BillingService, client, outage, store: PendingStore
) -> None:
    customer = billing.new_customer()
    answer = dataclasses.replace(offered(client, customer), offer_answer="yes")
    outage.go_down()
    outcome = carry_out(client, answer, store)
    assert "try again" in texts(outcome) and store.unfinished() == []


def _token(customer_id: str, expired_seconds_ago: int) -> str:
    now = int(dt.datetime.now(dt.timezone.utc).timestamp())
    claims = {
        "sub": customer_id,
        "aud": "gracious-billing",
        "iat": now - expired_seconds_ago - 900,
        "exp": now - expired_seconds_ago,
    }
    return jwt.encode(claims, TOKEN_SECRET, algorithm="HS256")


def _kept(store: PendingStore, customer, token: str) -> None:
    store.keep(
        PendingCancellation(
            idempotency_key="late-" + secrets.token_hex(6),
            conversation_id="conv-late",
            channel="web",
            customer_id=customer.id,
            first_name="Test",
            token=token,
            token_expires_at=dt.datetime(2026, 1, 1),
            subscription_id=f"sub_{customer.id[4:]}_1",
        )
    )


def test_an_hour_late_the_verification_still_counts_for_cancelling_only(
    billing: BillingService, client, store: PendingStore
) -> None:
    customer = billing.new_customer()
    token = _token(customer.id, expired_seconds_ago=3600)
    # listing the plans too (the worker finds the one asked for), nothing else
    assert billing.call("GET", "/v1/subscriptions", token=token).status_code == 200
    one = f"/v1/subscriptions/sub_{customer.id[4:]}_1"
    assert billing.call("GET", one, token=token).status_code == 401
    offer = billing.call("POST", one + "/retention-offer", token=token, key="k1")
    assert offer.status_code == 401
    _kept(store, customer, token)
    assert run_due(client, store, store.url, Texts(), 0.01) == ["cancelled"]
    assert billing.subscription(customer).cancel_at_period_end


def test_after_the_grace_period_a_person_finishes_it(
    billing: BillingService, client, store: PendingStore
) -> None:
    customer = billing.new_customer()
    _kept(store, customer, _token(customer.id, expired_seconds_ago=4 * 86_400))
    assert run_due(client, store, store.url, Texts(), 0.01) == ["handed_to_staff"]
    assert not billing.subscription(customer).cancel_at_period_end
    assert _handoffs(store, customer.id) == 1 and store.unfinished() == []


def test_two_workers_never_take_the_same_request(
    billing: BillingService, store: PendingStore
) -> None:
    customer = billing.new_customer()
    _kept(store, customer, billing.verify(customer))
    other_instance = PendingStore(store.url)
    first, second = store.claim_due(), other_instance.claim_due()
    assert len(first) == 1 and second == []


def _handoffs(store: PendingStore, customer_id: str) -> int:

    with engine_for(store.url).connect() as connection:
        return int(
            connection.execute(
                select(func.count()).where(
                    handoff_requests.c.customer_id == customer_id
                )
            ).scalar_one()
        )


def _make_due(store: PendingStore) -> None:
    """Skip the wait before the next attempt, as if that time had passed."""
    due = update(pending_cancellations).values(next_attempt_at=dt.datetime(2000, 1, 1))
    with engine_for(store.url).begin() as connection:
        connection.execute(due)


def _saved_while_down(
    client: HttpBillingClient, outage: CuttableProxy, store: PendingStore, customer
) -> Request:
    """A "no" to the offer while billing is down; billing is back afterwards."""
    answer = offered(client, customer)
    outage.go_down()
    assert "cancellation is saved" in texts(carry_out(client, answer, store))
    outage.down = False
    return answer


def test_changing_ones_mind_withdraws_a_saved_cancellation(
    billing: BillingService, client, outage, store: PendingStore
) -> None:
    """It used to say "no cancellation to undo", and the worker cancelled later."""
    customer = billing.new_customer()
    answer = _saved_while_down(client, outage, store, customer)
    asked = dataclasses.replace(answer, goal="status", turn="t-status")
    status = texts(carry_out(client, asked, store))
    # billing still shows the plan running: the answer says why
    assert status.startswith(replies.SAVED_CANCELLATION_WAITING[0])
    assert "active" in status

    undo = dataclasses.replace(answer, goal="reactivate", turn="t-undo")
    back = texts(carry_out(client, undo, store))
    assert back.startswith(replies.SAVED_CANCELLATION_WITHDRAWN[0])
    assert replies.NOTHING_TO_UNDO[0] not in back
    assert store.unfinished() == []
    _make_due(store)
    assert run_due(client, store, store.url, Texts(), 0.01) == []
    assert not billing.subscription(customer).cancel_at_period_end


def test_cancelled_in_the_chat_meanwhile_the_saved_one_is_closed(
    billing: BillingService, client, outage, store: PendingStore
) -> None:
    customer = billing.new_customer()
    answer = _saved_while_down(client, outage, store, customer)
    again = dataclasses.replace(answer, turn="t-again")
    assert CODE.search(texts(carry_out(client, again, store)))
    assert store.unfinished() == []  # no second receipt from the worker
    _make_due(store)
    sent = Texts()
    assert run_due(client, store, store.url, sent, 0.01) == [] and sent.sent == []


def test_asked_again_while_billing_is_down_it_is_kept_once(
    billing: BillingService, client, outage, store: PendingStore
) -> None:
    customer = billing.new_customer()
    answer = offered(client, customer)
    outage.go_down()
    for turn in ("t1", "t2"):
        carry_out(client, dataclasses.replace(answer, turn=turn), store)
    assert len(store.unfinished()) == 1


class LostAnswers:
    """Billing that takes each cancellation but whose answer never arrives."""

    def __init__(self, client: HttpBillingClient) -> None:
        self.client = client

    def __getattr__(self, name: str):
        return getattr(self.client, name)

    def cancel(self, *args, **kwargs):
        self.client.cancel(*args, **kwargs)
        raise BillingUnavailable("read timed out")


def test_a_plan_named_and_taken_before_the_line_dropped_is_not_replaced(
    billing: BillingService, client, store: PendingStore
) -> None:
    """The worker used to choose again among the plans still open: the other one."""
    customer = billing.new_customer("premium-monthly", "family-addon-monthly")
    words = "cancel my premium please"
    request = request_for(
        customer,
        verification=verified(billing, customer),
        no_offers=True,
        reason=words,
        words=words,
    )
    assert "cancellation is saved" in texts(
        carry_out(LostAnswers(client), request, store)
    )
    [row] = store.unfinished()
    assert row["subscription_id"] == f"sub_{customer.id[4:]}_1"  # kept by plan
    assert run_due(client, store, store.url, Texts(), 0.01) == ["cancelled"]
    assert cancelled_in(billing, customer) == (True, False)


def test_a_plan_named_in_a_saved_request_and_cancelled_meanwhile(
    billing: BillingService, client, outage, store: PendingStore
) -> None:
    """Billing fell over before the plan was known; the customer then cancelled
    it in the chat. Only the add-on is open now: it must not be taken."""
    customer = billing.new_customer("premium-monthly", "family-addon-monthly")
    verification = verified(billing, customer)
    request = _saved_before_the_plan_was_known(
        client, outage, store, customer, verification, "cancel my premium please"
    )
    client.cancel(
        verification, f"sub_{customer.id[4:]}_1", request.caller, secrets.token_hex(6)
    )
    assert run_due(client, store, store.url, Texts(), 0.01) == ["nothing_to_cancel"]
    assert cancelled_in(billing, customer) == (True, False)


def test_the_worker_holds_one_request_at_a_time(
    billing: BillingService, client, store: PendingStore
) -> None:
    """A lease for a whole batch could run out while billing is slow on the
    first ones, and a second worker would text those receipts again."""
    customers = [billing.new_customer() for _ in range(3)]
    for customer in customers:
        _kept(store, customer, billing.verify(customer))
    held = []

    def notify(pending, receipts):
        with engine_for(store.url).connect() as connection:
            held.append(
                connection.execute(
                    select(func.count()).where(
                        pending_cancellations.c.lease_until.is_not(None),
                        pending_cancellations.c.finished_at.is_(None),
                    )
                ).scalar_one()
            )
        return None

    assert run_due(client, store, store.url, notify, 0.01) == ["cancelled"] * 3
    assert held == [1, 1, 1]


def test_changing_ones_mind_while_billing_is_still_down(
    billing: BillingService, client, outage, store: PendingStore
) -> None:
    customer = billing.new_customer()
    answer = offered(client, customer)
    outage.go_down()
    carry_out(client, answer, store)
    undo = dataclasses.replace(answer, goal="reactivate", turn="t-undo")
    back = carry_out(client, undo, store)
    assert texts(back) == replies.SAVED_CANCELLATION_WITHDRAWN[0]
    assert back.slots["goal"] is None and not back.slots.get("pending_retry")
    outage.down = False
    assert store.unfinished() == []
    assert not billing.subscription(customer).cancel_at_period_end


def test_one_plan_already_ending_and_a_request_naming_none(
    billing: BillingService, client, outage, store: PendingStore
) -> None:
    """The one plan still open is the one meant, as in the conversation."""
    customer = billing.new_customer("premium-monthly", "family-addon-monthly")
    verification = verified(billing, customer)
    caller = Caller("web", "conv-" + secrets.token_hex(4))
    client.cancel(
        verification, f"sub_{customer.id[4:]}_2", caller, secrets.token_hex(6)
    )
    _saved_before_the_plan_was_known(
        client, outage, store, customer, verification, "cancel my subscription"
    )
    assert run_due(client, store, store.url, Texts(), 0.01) == ["cancelled"]
    assert cancelled_in(billing, customer) == (True, True)


def _saved_before_the_plan_was_known(
    client, outage, store: PendingStore, customer, verification, words: str
) -> Request:
    """Verified, then "cancel" with ``words`` while billing is down: kept
    without a plan. Billing is back afterwards; returns the request."""
    request = request_for(
        customer, verification=verification, no_offers=True, reason=words, words=words
    )
    outage.go_down()
    carry_out(client, request, store)
    outage.down = False
    [row] = store.unfinished()
    assert row["subscription_id"] is None
    return request
