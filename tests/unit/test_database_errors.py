"""A database error's message must not quote what was being written.

SQLAlchemy puts a failed statement's parameters into the exception's text,
and the bot, the billing service and Rasa's tracker store log their database
errors: emails and phone numbers would reach the logs.
"""

import datetime as dt
import logging
import secrets
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Iterator

import pytest
from rasa.core.agent import Agent
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from actions.handoff import ActionHandoff
from actions.other import ActionHandleOther
from billing_service.database import create_billing_engine, create_schema
from billing_service.schema import Customer
from bot import replies
from bot.billing import AccountRef, BillingUnavailable, Caller, Verification
from bot.database import engine_for, log_failure, utcnow
from bot.flow import Request, carry_out
from bot.handoff import handoff_contacts, request_person
from bot.pending import PendingStore
from bot.settings import settings
from tests.conftest import BACKENDS, POSTGRES_URL
from tests.support.billing import postgres_database, start_billing_service
from tests.unit.test_handoff_contact import run, tracker

EMAIL = "ana.private@example.com"
PHONE = "+15550104242"


def test_bot_database_errors_do_not_quote_the_values(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path}/bot.sqlite3")
    row = {"request_id": 1, "email": EMAIL, "added_at": utcnow()}
    with engine.begin() as conn:
        conn.execute(insert(handoff_contacts).values(row))
    with pytest.raises(IntegrityError) as error, engine.begin() as conn:
        conn.execute(insert(handoff_contacts).values(row))  # the same key
    assert "handoff_contacts" in str(error.value)  # the statement is still told
    assert EMAIL not in str(error.value)


def test_billing_database_errors_do_not_quote_the_values(tmp_path):
    engine = create_billing_engine(f"sqlite:///{tmp_path}/billing.sqlite3")
    create_schema(engine)

    def customer(customer_id):
        return Customer(
            id=customer_id,
            email=EMAIL,
            phone=PHONE,
            first_name="Ana",
            card_last4="4242",
            card_brand="visa",
        )

    with Session(engine) as session, session.begin():
        session.add(customer("c1"))
    with pytest.raises(IntegrityError) as error:
        with Session(engine) as session, session.begin():
            session.add(customer("c2"))  # the same email and phone
    assert "customers" in str(error.value)
    assert EMAIL not in str(error.value)
    assert PHONE not in str(error.value)


# What the bot, the billing service and Rasa log when a write is refused. The
# values hidden above are one source; the driver's own message is the other:
# PostgreSQL quotes the refused key or row ("DETAIL:  Key (email)=(...) already
# exists."), and a traceback prints it, also of an error raised from it.


@pytest.fixture(params=BACKENDS)
def bot_db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The bot's database as the actions find it, on SQLite and PostgreSQL."""
    monkeypatch.setenv("BILLING_API_KEY", "k" * 32)
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
        else:
            url = stack.enter_context(postgres_database(POSTGRES_URL))
            stack.callback(lambda: engine_for(url).dispose())
        monkeypatch.setenv("BOT_DATABASE_URL", url)
        settings.cache_clear()  # read once per process otherwise
        stack.callback(settings.cache_clear)
        yield url


def one_email_per_handoff_contact(url: str) -> None:
    """Make the bot's database refuse an email a second request gives."""
    with engine_for(url).begin() as connection:
        connection.execute(
            text("CREATE UNIQUE INDEX one_email ON handoff_contacts (email)")
        )


def refused(caplog: pytest.LogCaptureFixture, logger: str) -> logging.LogRecord:
    """Return the one record ``logger`` wrote, having checked it quotes nothing."""
    [record] = [r for r in caplog.records if r.name == logger]
    assert EMAIL not in caplog.text and PHONE not in caplog.text
    assert record.exc_info is None  # a traceback prints the driver's message
    return record


def test_a_handoff_the_database_refuses_is_logged_without_the_email(
    bot_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    one_email_per_handoff_contact(bot_db)
    assert run(ActionHandoff(), tracker("a person please", email=EMAIL)) == [
        replies.HANDOFF[0]
    ]
    # the customer asks again, the same email, and the database refuses it
    said = run(ActionHandoff(), tracker("a person, please!", email=EMAIL))
    assert said == [replies.HANDOFF_FAILED[0]]
    message = refused(caplog, "actions.handoff").getMessage()
    assert message.startswith("could not queue a handoff for conv-1: IntegrityError")
    if bot_db.startswith("postgresql"):
        assert "SQLSTATE 23505" in message and "one_email" in message


def test_an_email_for_a_handoff_the_database_refuses_is_logged_without_it(
    bot_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    one_email_per_handoff_contact(bot_db)
    run(ActionHandoff(), tracker("a person please", email=EMAIL))
    run(ActionHandoff(), tracker("a person, please!"))
    email = {"entity": "email", "value": EMAIL, "start": 12, "end": 35}
    said = run(
        ActionHandleOther(),
        tracker(
            f"my email is {EMAIL}",
            entities=[email],
            details_only=True,
            handoff_requested=True,
        ),
    )
    assert said == [replies.DETAILS_KEPT[0]]  # answered as any details are
    message = refused(caplog, "actions.other").getMessage()
    assert "could not add a contact to conv-1's handoff: IntegrityError" in message


class BillingDown:
    """A billing backend that cannot be reached, whatever is asked."""

    def __getattr__(self, name: str) -> Any:
        def unreachable(*args: Any, **kwargs: Any) -> Any:
            raise BillingUnavailable("billing did not answer")

        return unreachable


def test_a_cancellation_the_database_refuses_to_keep_is_logged_without_the_phone(
    bot_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    with engine_for(bot_db).begin() as connection:
        # PostgreSQL quotes the whole refused row; SQLite refuses by trigger
        if bot_db.startswith("postgresql"):
            connection.execute(
                text(
                    "ALTER TABLE pending_cancellations "
                    "ADD CONSTRAINT refuse CHECK (false) NOT VALID"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON pending_cancellations "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
    verified = Verification(
        "cus_ana", "Ana", "tok", dt.datetime.now(dt.timezone.utc) + dt.timedelta(1)
    )
    request = Request(
        goal="cancel",
        caller=Caller("sms", PHONE),
        turn="t1",
        channel_identity=AccountRef("phone", PHONE),
        verification=verified,
    )
    billing: Any = BillingDown()
    outcome = carry_out(billing, request, PendingStore(bot_db))
    assert outcome.slots.get("pending_retry") is True  # "try again", as before
    message = refused(caplog, "bot.flow").getMessage()
    assert message.startswith("could not keep a cancellation for later: ")
    if bot_db.startswith("postgresql"):
        assert "SQLSTATE 23514" in message and "constraint refuse" in message


@pytest.mark.skipif(not POSTGRES_URL, reason="GRACIOUS_TEST_POSTGRES_URL is not set")
def test_an_error_raised_from_a_database_error_is_logged_without_its_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with postgres_database(POSTGRES_URL) as url:
        engine = engine_for(url)
        one_email_per_handoff_contact(url)
        try:
            request_person(url, "conv-1", "web", None, "hi", EMAIL)
            try:
                request_person(url, "conv-2", "web", None, "hi", EMAIL)
            except IntegrityError as error:
                # a wrapper that quotes the cause, as a careless one would
                raise RuntimeError(f"could not queue: {error}") from error
        except RuntimeError as wrapped:
            log_failure(logging.getLogger("gracious.test"), wrapped, "it failed")
        finally:
            engine.dispose()
    message = refused(caplog, "gracious.test").getMessage()
    assert message == (
        "it failed: RuntimeError, from IntegrityError "
        "(psycopg2.errors.UniqueViolation, SQLSTATE 23505, "
        "table handoff_contacts, constraint one_email)"
    )


def test_any_other_error_keeps_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    try:
        try:
            {}["plan"]
        except KeyError as error:
            raise ValueError("no plan") from error
    except ValueError as error:
        log_failure(logging.getLogger("gracious.test"), error, "a bug")
    [record] = caplog.records
    assert record.getMessage() == "a bug" and record.exc_info is not None
    assert "KeyError: 'plan'" in caplog.text and "ValueError: no plan" in caplog.text


@pytest.mark.skipif(not POSTGRES_URL, reason="GRACIOUS_TEST_POSTGRES_URL is not set")
def test_the_billing_service_logs_a_refused_write_without_the_email(
    tmp_path: Path,
) -> None:
    with postgres_database(POSTGRES_URL) as url:
        process, service = start_billing_service(url, tmp_path)
        try:
            customer = service.new_customer("premium-monthly")
            token = service.verify(customer)
            # the receipt's email is refused: PostgreSQL quotes the whole row
            service.sql(
                "ALTER TABLE outbox ADD CONSTRAINT refuse CHECK (false) NOT VALID"
            )
            reply = service.call(
                "POST",
                f"/v1/subscriptions/sub_{customer.id[4:]}_1/cancel",
                key=secrets.token_hex(8),
                token=token,
                json={},
            )
        finally:
            process.stop()
            service.engine.dispose()
    assert reply.status_code == 500
    logged = "\n".join(log.read_text() for log in tmp_path.glob("*.log"))
    assert "Unexpected error on POST /v1/subscriptions/" in logged
    assert "IntegrityError (psycopg2.errors.CheckViolation, SQLSTATE 23514" in logged
    assert customer.email not in logged and customer.phone not in logged
    assert "Traceback" not in logged


# Rasa's tracker store, as endpoints.yml names it and the agent wraps it.

ENDPOINTS = Path(__file__).parents[2] / "endpoints.yml"


@pytest.fixture(params=BACKENDS)
def tracker_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.sqlite3'}"
        return
    with postgres_database(POSTGRES_URL) as url:
        yield url


def rasa_tracker_store(url: str, monkeypatch: pytest.MonkeyPatch) -> TrackerStore:
    """Return the store Rasa's agent would use for endpoints.yml."""
    for name, value in {
        "ACTION_ENDPOINT_URL": "http://127.0.0.1:5055/webhook",
        "TRACKER_DATABASE_URL": url,
        "LOCK_STORE_TYPE": "in_memory",
        "LOCK_STORE_REDIS_HOST": "127.0.0.1",
        "LOCK_STORE_REDIS_PORT": "6379",
        "LOCK_STORE_REDIS_DB": "1",
        "LOCK_STORE_REDIS_PASSWORD": "",
        "LOCK_STORE_REDIS_SSL": "false",
    }.items():
        monkeypatch.setenv(name, value)
    endpoints = AvailableEndpoints.read_endpoints(str(ENDPOINTS))
    store = TrackerStore.create(endpoints.tracker_store, Domain.empty())
    # Rasa falls back to memory, with a warning only, on a class it cannot load
    assert isinstance(store, SQLTrackerStore)
    return Agent._create_tracker_store(store, Domain.empty())


async def test_a_conversation_the_tracker_database_refuses_is_logged_without_it(
    tracker_db: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = rasa_tracker_store(tracker_db, monkeypatch)
    sms = PHONE  # an SMS conversation is named by the customer's number
    conversation = DialogueStateTracker.from_events(sms, [UserUttered("cancel")])
    await store.save(conversation)
    kept = await store.retrieve(sms)
    assert kept is not None and kept.latest_message.text == "cancel"

    engine = create_engine(tracker_db)
    with engine.begin() as connection:
        if tracker_db.startswith("postgresql"):  # it quotes the refused row
            connection.execute(
                text("ALTER TABLE events ADD CONSTRAINT refuse CHECK (false) NOT VALID")
            )
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON events "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
    engine.dispose()
    conversation.update(UserUttered(f"my email is {EMAIL}"))
    with caplog.at_level(logging.ERROR):
        await store.save(conversation)  # kept in memory instead, and logged
    assert "Error happened when trying to save conversation tracker" in caplog.text
    assert "IntegrityError" in caplog.text
    assert EMAIL not in caplog.text and PHONE not in caplog.text
    store._tracker_store.engine.dispose()  # type: ignore[attr-defined]
