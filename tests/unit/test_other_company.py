"""The other-company rule: ending another company's service is not a cancel request."""

import pytest

from bot.nlu import CancelTargetGuard, foreign_cancel_target
from bot.nlu.other_company import other_company
from tests.support.nlu import classified


@pytest.mark.parametrize(
    "text, found",
    [
        ("cancel my Flixora account", "Flixora account"),
        ("how do i unsubscribe from Tunely premium", "Tunely premium"),
        ("delete my Swiply dating profile", "Swiply profile"),
        ("I need to close my account at Northfold Bank", "account at Northfold"),
        ("cancel my phone contract with Telvana, can you?", "contract with Telvana"),
        ("get me out of my contract with Skylink mobile", "contract with Skylink"),
        ("stop my magazine subscription from Weekly Grove", "magazine from Weekly"),
        (
            "cancel my broadband with Fibrelink, I'm moving to you",
            "broadband with Fibrelink",
        ),
        # what such a business delivers, named by its brand
        ("cancel my Vinora wine club", "Vinora club"),
        ("I need to cancel my Crunchbox meal kit", "Crunchbox kit"),
        ("how do I stop the Glowbox beauty box", "Glowbox box"),
    ],
)
def test_another_companys_service_is_found(text, found):
    assert other_company(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "cancel my subscription",
        # plan tiers and abbreviations are capitalised too, and are ours
        "cancel my Premium plan",
        "please end my Pro subscription",
        "terminate my SIM-only plan",
        "cancel my Gold wine club",
        "stop my Family box deliveries",
        # the company written to, not a third party
        "@StreamlyHelp cancel my subscription today",
        # a sentence's first word, and names that own nothing being ended
        "Hi, this is Sarah. Cancel my account please",
        "Membership cancelled? Please confirm",
        "close my account and move the money to my Barclays account",
        "can I pay for my membership with Apple Pay",
        # title case and capitals say nothing about names
        "Cancel My Flixora Account Please",
        "CANCEL MY ACCOUNT",
        # lower-case brands cannot be told from ordinary words
        "cancel my flixora account",
        # our own nouns capitalised, and the bot's name (they were brands)
        "I want to cancel my Premium Plan subscription",
        "please cancel the Family Add-on subscription",
        "please cancel my Gracious subscription",
    ],
)
def test_our_own_service_is_left_alone(text):
    assert other_company(text) is None


def test_the_companys_own_names_are_not_another_company():
    assert other_company("cancel my Flixora account", {"flixora"}) is None
    assert other_company("cancel my Tunely account", {"flixora"}) == "Tunely account"


@pytest.mark.parametrize(
    "text",
    [
        "cancel my car insurance",
        "how can I terminate my policy",
        "end my broadband, I'm switching",
        "I want to end my home cover",
    ],
)
def test_insurance_and_telecom_words_are_ours(text):
    assert foreign_cancel_target(text) is None


def _cancel(text):
    return classified(
        text,
        "cancel_subscription",
        1.0,
        [("cancel_subscription", 1.0), ("out_of_scope", 0.0)],
    )


def test_guard_turns_another_companys_service_out_of_scope():
    msg = _cancel("I want to cancel my Streamora subscription, can you do that")
    CancelTargetGuard(CancelTargetGuard.get_default_config()).process([msg])
    assert msg.get("intent") == {"name": "out_of_scope", "confidence": 1.0}
    assert msg.get("cancel_guard") == {
        "original_intent": "cancel_subscription",
        "object": "Streamora subscription",
    }
    assert msg.get("foreign_cancel_object") == "Streamora subscription"


def test_guard_keeps_a_cancel_that_names_the_deploying_company():
    config = {**CancelTargetGuard.get_default_config(), "product_words": ["Streamora"]}
    msg = _cancel("I want to cancel my Streamora subscription, can you do that")
    CancelTargetGuard(config).process([msg])
    assert msg.get("intent")["name"] == "cancel_subscription"
    assert msg.get("cancel_guard") is None
