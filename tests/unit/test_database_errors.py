"""A database error's message must not quote what was being written.

SQLAlchemy puts a failed statement's parameters into the exception's text,
and the bot and the billing service log their database errors: emails and
phone numbers would reach the logs.
"""

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing_service.database import create_billing_engine, create_schema
from billing_service.schema import Customer
from bot.database import engine_for, utcnow
from bot.handoff import handoff_contacts

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
