"""Reading "no offers", card digits, emails and choices out of free text."""

from __future__ import annotations

from typing import Optional

import pytest

from bot import phrases
from bot.nlu.entities import find_entities


@pytest.mark.parametrize(
    "text",
    [
        "cancel my subscription, no offers",
        "just cancel it",
        "cancel please, no discounts",
        "I don't want any offers, cancel",
        "cancel without any offers please",
        "skip the retention pitch and cancel",
        "don't try to keep me, cancel",
        "Cancel my plan. NO OFFERS.",
        "not interested in deals, just end it",
    ],
)
def test_no_offers_is_heard(text: str) -> None:
    assert phrases.wants_no_offers(text)


@pytest.mark.parametrize(
    "text",
    [
        "cancel my subscription",
        "I want to cancel, it's too expensive",
        "can you offer me something cheaper?",
        "what offers do you have?",
        "no, I want to cancel",
        "cancel my plan please",
        # said about offers, not asked of them (they used to skip the offer)
        "please cancel, don't keep charging me",
        "I want to cancel, it's no big deal",
        "cancel it, there was no discount for students",
    ],
)
def test_other_requests_keep_the_offer(text: str) -> None:
    assert not phrases.wants_no_offers(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("4242", "4242"),
        (" 0005 ", "0005"),
        ("it ends in 1881", "1881"),
        ("last four are 4242.", "4242"),
        ("12345", None),
        ("4242 or 1881", None),
        ("no idea", None),
        ("", None),
    ],
)
def test_card_last4(text: str, expected: str | None) -> None:
    assert phrases.card_last4(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Ana@Example.com", "ana@example.com"),
        ("it's ana.b+x@mail.example.org.", "ana.b+x@mail.example.org"),
        ("ana at example dot com", None),
        ("@example.com", None),
        # not the URL around it, nor the quotes
        ("https://shop.example/account?email=ana@example.com", "ana@example.com"),
        ("«ana@example.com»", "ana@example.com"),
    ],
)
def test_email_address(text: str, expected: str | None) -> None:
    assert phrases.email_address(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1", [0]),
        ("2", [1]),
        ("the second one, 2", [1]),
        ("all", [0, 1]),
        ("both please", [0, 1]),
        ("premium", [0]),
        ("the family one", [1]),
        ("the add-on", [1]),
        ("the premium one, keep the family add-on", [0]),
        ("not premium, the other", [1]),
        ("keep premium", [1]),
        ("not sure", None),
        ("the add-on, not sure", [1]),
        ("I do not know, premium I guess", [0]),
        ("3", None),
        ("hmm", None),
        ("1 and 2", None),
        # "all" in passing chose every plan
        ("Premium, I don't use it at all", [0]),
        ("2, I'm not using it at all", [1]),
        ("both of them, no offers", [0, 1]),
        # a plan named wins over "all" in passing; "all but" names the other
        ("premium, I've tried all the plans", [0]),
        ("all but premium", [1]),
        ("all except the family add-on", [0]),
        ("cancel all my plans except premium", [1]),
        ("all good, the premium one", [0]),
        ("everything", [0, 1]),
        ("both premium and the add-on", [0, 1]),
    ],
)
def test_subscription_choice(text: str, expected: list[int] | None) -> None:
    assert phrases.subscription_choice(text, ["Premium", "Family add-on"]) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("cancel my premium plan", [0]),
        ("please end my Premium subscription, it's too expensive", [0]),
        ("drop the family add-on", [1]),
        ("cancel the family add-on but keep my premium", [1]),
        ("cancel premium but not the family add on", [0]),
        ("cancel premium, keeping the family one", [0]),
        ("cancel my subscription but keep the family add-on", [0]),
        # typos of a name's longer words count, short words must be exact
        ("cancel my premum", [0]),
        ("cancel the famly add-on", [1]),
        # "all" outright, "all but", and "all" in passing beside a plan named
        ("cancel both", [0, 1]),
        ("cancel both premium and the add-on", [0, 1]),
        ("cancel all but premium", [1]),
        ("cancel all my plans except premium", [1]),
        ("cancel my premium, I've tried all the plans", [0]),
        ("cancel all my subscriptions", [0, 1]),
        # an opening "all" that is no choice
        ("All right, cancel my premium", [0]),
        ("all I want is to cancel the family add-on", [1]),
        # both named, joined
        ("cancel premium and family", [0, 1]),
        # neither named: the bot asks which
        ("cancel my subscription", None),
        ("cancel my plan on the 5th", None),
        ("cancel the add-on", None),
        ("I want to cancel, I paid 15 for 2 months", None),
    ],
)
def test_plans_named(text: str, expected: list[int] | None) -> None:
    assert phrases.plans_named(text, ["Premium", "Family add-on"]) == expected


def test_short_plan_words_must_match_exactly() -> None:
    assert (
        phrases.plans_named("cancel on the basis of cost", ["Basic", "Premium"]) is None
    )
    assert phrases.plans_named("cancel my basic plan", ["Basic", "Premium"]) == [0]


def test_two_plans_sharing_a_word_are_asked_about() -> None:
    names = ["Premium", "Premium Family"]
    assert phrases.plans_named("cancel my premium", names) is None
    assert phrases.plans_named("cancel premium and premium family", names) == [0, 1]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("cancel it immediately", True),
        ("end my plan today please", True),
        ("stop it right now", True),
        ("cancel my subscription", False),
        ("cancel at the end of the month", False),
    ],
)
def test_wants_it_now(text: str, expected: bool) -> None:
    assert phrases.wants_it_now(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("cancel both", True),
        ("cancel everything, no offers", True),
        ("please cancel all my subscriptions", True),
        ("end them all", True),
        ("I want both of my plans gone", True),
        ("everything is too expensive, cancel", False),
        ("cancel my subscription, that's all", False),
        ("all I want is to cancel", False),
        ("both of my kids used it, but cancel it", False),
    ],
)
def test_names_all(text: str, expected: bool) -> None:
    assert phrases.names_all(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("cancel my family add-on", True),
        ("remove the addon please", True),
        ("I don't want the sports add on any more", True),
        ("what add-ons do you have?", False),
        ("add on a second screen", False),
        ("cancel my order", False),
    ],
)
def test_ends_an_add_on(text: str, expected: bool) -> None:
    assert phrases.ends_an_add_on(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("undo the family add-on cancellation", True),
        ("I changed my mind about the add-on, keep it", True),
        ("don't cancel the add-on", True),
        ("can I get the add-on back?", True),
        ("cancel premium but keep the add-on", False),
        ("cancel my family add-on", False),
        ("what add-ons do you have?", False),
    ],
)
def test_undoes_an_add_on(text: str, expected: bool) -> None:
    assert phrases.undoes_an_add_on(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I want a refund", True),
        ("can I get my money back?", True),
        ("why wasn't I refunded", True),
        ("cancel my subscription", False),
    ],
)
def test_wants_refund(text: str, expected: bool) -> None:
    assert phrases.wants_refund(text) is expected


PRICES = ["15.00 USD a month", "4.00 USD a month"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("never mind", True),
        ("no wait, never mind", True),
        ("forget it", True),
        ("actually I've changed my mind", True),
        ("not now, thanks", True),
        ("no, the premium one", False),
        ("4242", False),
        ("no 4242", False),
    ],
)
def test_wants_to_stop(text: str, expected: bool) -> None:
    assert phrases.wants_to_stop(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I changed my mind, I'll stay", True),
        ("no, keep it", True),
        ("don't cancel it", True),
        ("actually I want to stay subscribed", True),
        ("no thanks", False),
        ("just cancel", False),
        ("no", False),
        ("never mind", False),
        ("no, I want my money back", False),
        ("keep your discount, cancel it", False),
        ("cancel it, I won't stay", False),
        # a negated stay is a no
        ("No, I'm not staying", False),
        ("no thanks, I can't keep paying for this", False),
        ("nah, not keeping it", False),
        ("no, I won't stay", False),
    ],
)
def test_wants_to_stay(text: str, expected: bool) -> None:
    assert phrases.wants_to_stay(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("sorry, I meant undo my cancellation", True),
        ("changed my mind, reactivate it", True),
        ("bring my old plan back", True),
        ("I changed my mind", False),
        ("I changed my mind, keep it", False),
        ("actually I want to keep my subscription", False),
    ],
)
def test_mentions_undoing(text: str, expected: bool) -> None:
    assert phrases.mentions_undoing(text) is expected


@pytest.mark.parametrize(
    "text, prices, expected",
    [
        ("the cheaper one", PRICES, 1),
        ("cheapest please", PRICES, 1),
        ("the less expensive one", PRICES, 1),
        ("the more expensive one", PRICES, 0),
        ("the pricier plan", PRICES, 0),
        ("the expensive one, not the cheap one", PRICES, None),
        ("premium", PRICES, None),
        ("the cheaper one", ["15.00 USD a month", "4.00 USD a year"], None),
        ("the cheaper one", ["4.00 USD a month", "4.00 USD a month"], None),
    ],
)
def test_choice_by_price(text: str, prices: list[str], expected: Optional[int]) -> None:
    assert phrases.choice_by_price(text, prices) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("what happens if I cancel?", True),
        ("will I lose my playlists if I cancel", True),
        ("is there a cancellation fee?", True),
        ("if i cancel now will i still have access until the end of the month", True),
        ("what happens to my account after cancelling", True),
        ("is there a fee to cancel my plan", True),
        ("Is there a penalty for cancelling early?", True),
        ("what's the cancellation fee on my membership?", True),
        ("can I get a refund if I cancel my flight", False),
        ("what is the cancellation fee for my booking", False),
        ("I was charged after I cancelled", False),
        ("I will cancel if you don't fix this", False),
        ("cancel my subscription", False),
    ],
)
def test_asks_about_cancelling(text: str, expected: bool) -> None:
    assert phrases.asks_about_cancelling(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("try again", True),
        ("Try again please", True),
        ("retry", True),
        ("again?", True),
        ("I changed my mind", False),
        ("cancel my subscription again and again, " * 3, False),
    ],
)
def test_wants_retry(text: str, expected: bool) -> None:
    assert phrases.wants_retry(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1", 1),
        (" 2 ", 2),
        ("1.", 1),
        ("2)", 2),
        ("12", 12),
        ("1 please", None),
        ("4242", None),
        ("", None),
        ("one", None),
    ],
)
def test_numbered_choice(text: str, expected: int | None) -> None:
    assert phrases.numbered_choice(text) == expected


def test_the_reason_kept_is_the_customers_words_without_their_details() -> None:
    text = "Cancel please, my email is ana@example.com and card ends 4242. Too pricey"
    assert (
        phrases.without_details(text, find_entities(text))
        == "Cancel please, my email is and card ends . Too pricey"
    )
    assert phrases.without_details("cancel it", []) == "cancel it"
    email = "ana@example.com"
    assert phrases.without_details(email, find_entities(email)) == ""
