"""Customers with two plans (Premium and the Family add-on), as tests use them."""

from __future__ import annotations

from billing_service.seed import DemoCustomer
from tests.support.billing import BillingService
from tests.support.chat import Chat
from tests.support.stack import Stack


def two_plans(stack: Stack) -> tuple[DemoCustomer, Chat]:
    """Return a new customer with Premium and the Family add-on, and a chat."""
    customer = stack.billing.new_customer("premium-monthly", "family-addon-monthly")
    return customer, stack.chat(customer_id=customer.id)


def cancelled(stack: Stack, customer: DemoCustomer) -> tuple[bool, bool]:
    """Return whether Premium and the add-on are cancelled, in billing."""
    return cancelled_in(stack.billing, customer)


def cancelled_in(billing: BillingService, customer: DemoCustomer) -> tuple[bool, bool]:
    """The same, from the billing service alone (tests without the bot)."""
    premium, add_on = (billing.subscription(customer, n) for n in (1, 2))
    return bool(premium.cancel_at_period_end), bool(add_on.cancel_at_period_end)
