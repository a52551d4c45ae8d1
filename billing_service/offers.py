"""The retention offer policy: at most one eligible offer, and its outcome.

Eligibility, in the order checked:
- only an active subscription that is not already being cancelled;
- none for a customer who accepted any offer within the cooldown (12 months);
- none once an offer was declined in this cancellation (the same
  conversation, or in the last day when no conversation is named);
- the same offer again if one is still awaiting an answer (a retried turn
  must not produce a second offer);
- none once another of the customer's plans had an offer in this
  cancellation: one offer per conversation, not one per plan;
- from the catalog, the first offer for this plan that matches the reason the
  customer gave, otherwise the one marked default, otherwise the first.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .errors import Conflict, NotFound
from .events import record_event
from .payloads import DecisionRequest, OfferRequest
from .schema import Customer, Plan, RetentionOffer, Subscription, utcnow
from .subscriptions import (
    current_status,
    customer_subscription,
    day,
    next_charge_cents,
    subscription_body,
)

DECLINE_MEMORY = dt.timedelta(days=1)


@dataclass(frozen=True)
class CatalogOffer:
    """One entry of the offer catalog file."""

    id: str
    kind: str
    plans: tuple[str, ...] = ("*",)
    reasons: tuple[str, ...] = ()
    default: bool = False
    percent_off: int = 0
    months: int = 0
    to_plan: Optional[str] = None
    extra: dict[str, Any] = field(default_factory=dict)

    def fits_plan(self, plan_id: str) -> bool:
        return "*" in self.plans or plan_id in self.plans

    def fits_reason(self, reason: Optional[str]) -> bool:
        text = (reason or "").lower()
        return bool(text) and any(word in text for word in self.reasons)


def load_catalog(path: Path) -> list[CatalogOffer]:
    """Read and check the catalog; a bad file fails at start-up, not mid-chat."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    catalog = []
    for entry in raw["offers"]:
        offer = CatalogOffer(
            id=entry["id"],
            kind=entry["kind"],
            plans=tuple(entry.get("plans", ["*"])),
            reasons=tuple(word.lower() for word in entry.get("reasons", [])),
            default=bool(entry.get("default", False)),
            percent_off=int(entry.get("percent_off", 0)),
            months=int(entry.get("months", 0)),
            to_plan=entry.get("to_plan"),
        )
        if offer.kind not in ("discount", "pause", "downgrade"):
            raise ValueError(f"offer {offer.id}: unknown kind {offer.kind!r}")
        if offer.kind == "discount" and not (0 < offer.percent_off <= 100):
            raise ValueError(f"offer {offer.id}: percent_off must be 1-100")
        if offer.kind in ("discount", "pause") and offer.months < 1:
            raise ValueError(f"offer {offer.id}: months must be at least 1")
        if offer.kind == "downgrade" and not offer.to_plan:
            raise ValueError(f"offer {offer.id}: a downgrade needs to_plan")
        catalog.append(offer)
    return catalog


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """Return the same day ``months`` later, clamped to the month's last day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def _terms(
    session: Session, offer: CatalogOffer, subscription: Subscription, now: dt.datetime
) -> Optional[dict[str, Any]]:
    """Return the exact terms of ``offer`` for this subscription, or None."""
    plan = subscription.plan
    base = {"plan_name": plan.name, "currency": plan.currency}
    if offer.kind == "discount":
        price = next_charge_cents(subscription, now)
        return {
            **base,
            "percent_off": offer.percent_off,
            "months": offer.months,
            "price_cents": price,
            "discounted_price_cents": price * (100 - offer.percent_off) // 100,
            "starts_on": day(subscription.current_period_end),
        }
    if offer.kind == "pause":
        resumes = add_months(subscription.current_period_end, offer.months)
        return {
            **base,
            "months": offer.months,
            "pauses_on": day(subscription.current_period_end),
            "resumes_on": day(resumes),
            "price_cents": plan.price_cents,
        }
    target = session.get(Plan, offer.to_plan)
    if target is None or target.id == plan.id or target.price_cents >= plan.price_cents:
        return None
    return {
        **base,
        "to_plan_id": target.id,
        "to_plan_name": target.name,
        "price_cents": plan.price_cents,
        "new_price_cents": target.price_cents,
        "starts_on": day(subscription.current_period_end),
    }


def _choose(
    catalog: list[CatalogOffer], plan_id: str, reason: Optional[str]
) -> list[CatalogOffer]:
    fitting = [offer for offer in catalog if offer.fits_plan(plan_id)]
    by_reason = [offer for offer in fitting if offer.fits_reason(reason)]
    defaults = [offer for offer in fitting if offer.default]
    rest = [offer for offer in fitting if offer not in by_reason + defaults]
    return by_reason + defaults + rest


def offer_body(offer: RetentionOffer) -> dict[str, Any]:
    return {
        "id": offer.id,
        "subscription_id": offer.subscription_id,
        "kind": offer.kind,
        "status": offer.status,
        "terms": offer.terms,
        "presented_at": offer.presented_at.replace(tzinfo=dt.timezone.utc).isoformat(),
    }


def _no_offer(reason: str) -> tuple[int, dict[str, Any]]:
    return 200, {"offer": None, "reason": reason}


def evaluate_offer(
    session: Session,
    catalog: list[CatalogOffer],
    cooldown: dt.timedelta,
    customer_id: str,
    subscription_id: str,
    request: OfferRequest,
) -> tuple[int, dict[str, Any]]:
    """Present the one eligible offer for a cancellation, or say why there is none."""
    now = utcnow()
    subscription = customer_subscription(
        session, customer_id, subscription_id, for_update=True
    )
    if (
        current_status(subscription, now) != "active"
        or subscription.cancel_at_period_end
    ):
        return _no_offer("not_active")

    if _accepted_since(session, customer_id, now - cooldown) is not None:
        return _no_offer("recently_accepted")

    this_cancellation = [RetentionOffer.presented_at >= now - DECLINE_MEMORY]
    if request.conversation_id:
        this_cancellation.append(
            RetentionOffer.conversation_id == request.conversation_id
        )
    earlier = (
        session.execute(
            select(RetentionOffer)
            .join(Subscription, RetentionOffer.subscription_id == Subscription.id)
            .where(
                Subscription.customer_id == customer_id,
                RetentionOffer.status.in_(("presented", "declined")),
                or_(*this_cancellation),
            )
            .order_by(RetentionOffer.presented_at.desc())
        )
        .scalars()
        .all()
    )
    if any(offer.status == "declined" for offer in earlier):
        return _no_offer("already_declined")
    if any(offer.subscription_id != subscription.id for offer in earlier):
        return _no_offer("already_offered")
    if earlier:
        return 200, {"offer": offer_body(earlier[0]), "reason": "already_presented"}

    for candidate in _choose(catalog, subscription.plan_id, request.reason):
        terms = _terms(session, candidate, subscription, now)
        if terms is None:
            continue
        offer = RetentionOffer(
            id="off_" + secrets.token_hex(8),
            subscription_id=subscription.id,
            catalog_id=candidate.id,
            kind=candidate.kind,
            terms=terms,
            status="presented",
            conversation_id=request.conversation_id,
            channel=request.channel,
            presented_at=now,
        )
        session.add(offer)
        record_event(
            session,
            "retention_offer.presented",
            customer_id,
            subscription.id,
            request,
            offer_id=offer.id,
            catalog_id=candidate.id,
            reason=request.reason,
        )
        session.flush()
        return 201, {"offer": offer_body(offer), "reason": "eligible"}
    return _no_offer("none_fits")


def _customer_offer(
    session: Session, customer_id: str, offer_id: str
) -> RetentionOffer:
    query = (
        select(RetentionOffer)
        .join(Subscription, RetentionOffer.subscription_id == Subscription.id)
        .join(Customer, Subscription.customer_id == Customer.id)
        .where(RetentionOffer.id == offer_id, Customer.id == customer_id)
        .with_for_update(of=RetentionOffer)
    )
    offer = session.execute(query).unique().scalar_one_or_none()
    if offer is None:
        raise NotFound("No such offer for this customer.")
    return offer


def _apply(offer: RetentionOffer, subscription: Subscription) -> None:
    terms = offer.terms
    if offer.kind == "discount":
        subscription.discount_percent = terms["percent_off"]
        subscription.discount_until = add_months(
            subscription.current_period_end, terms["months"]
        )
    elif offer.kind == "pause":
        subscription.status = "paused"
        subscription.paused_until = add_months(
            subscription.current_period_end, terms["months"]
        )
    else:
        subscription.pending_plan_id = terms["to_plan_id"]


def _accepted_since(
    session: Session, customer_id: str, since: dt.datetime
) -> Optional[str]:
    """Return an offer of the customer's accepted since ``since``, if any."""
    return session.execute(
        select(RetentionOffer.id)
        .join(Subscription, RetentionOffer.subscription_id == Subscription.id)
        .where(
            Subscription.customer_id == customer_id,
            RetentionOffer.status == "accepted",
            RetentionOffer.decided_at >= since,
        )
        .limit(1)
    ).scalar_one_or_none()


def decide_offer(
    session: Session,
    customer_id: str,
    offer_id: str,
    decision: str,
    request: DecisionRequest,
    cooldown: dt.timedelta,
) -> tuple[int, dict[str, Any]]:
    """Record the customer's yes or no; a yes applies the offer at once.

    An offer is made for the cancellation under way: it can be taken within
    DECLINE_MEMORY of being presented, and not once another was taken
    within the cooldown (two offers presented side by side, one accepted).
    """
    now = utcnow()
    offer = _customer_offer(session, customer_id, offer_id)
    subscription = customer_subscription(
        session, customer_id, offer.subscription_id, for_update=True
    )
    if offer.status != "presented":
        if offer.status == decision:
            return 200, {
                "offer": offer_body(offer),
                "subscription": subscription_body(subscription, now),
            }
        raise Conflict(
            f"This offer was already {offer.status}.", code="offer_already_decided"
        )
    if decision == "accepted":
        if (
            current_status(subscription, now) != "active"
            or subscription.cancel_at_period_end
        ):
            raise Conflict(
                "The subscription is no longer active, so the offer cannot apply.",
                code="subscription_not_active",
            )
        if offer.presented_at < now - DECLINE_MEMORY:
            raise Conflict(
                "This offer was made for an earlier cancellation and has lapsed.",
                code="offer_expired",
            )
        if _accepted_since(session, customer_id, now - cooldown) is not None:
            raise Conflict(
                "Another offer was accepted recently; only one applies.",
                code="recently_accepted",
            )
        _apply(offer, subscription)
    offer.status = decision
    offer.decided_at = now
    record_event(
        session,
        f"retention_offer.{decision}",
        customer_id,
        subscription.id,
        request,
        offer_id=offer.id,
        kind=offer.kind,
    )
    session.flush()
    # a downgrade set pending_plan_id: the answer (kept for replays) must
    # show the plan it points to now, not the relationship loaded before
    session.refresh(subscription, ["pending_plan"])
    return 200, {
        "offer": offer_body(offer),
        "subscription": subscription_body(subscription, now),
    }
