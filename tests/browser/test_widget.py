"""The website widget, in a real browser, against the whole running bot.

A customer opens the demo page, clicks "Chat with us" and cancels: logged in
(the page hands the widget a token the company signed) or anonymous (the
bot asks for the email). Afterwards billing must hold the cancellation.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from typing import Any, Iterator, Optional

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sanic import Sanic

from bot.replies import MESSAGE_NOT_THROUGH, STARTING_UP
from bot.settings import Settings
from scripts.processes import free_port
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    README_SCREENSHOTS,
    SCREENSHOTS,
    login_token,
)
from tests.browser.widget import Widget, WidgetSockets
from tests.support.stack import Stack
from tests.support.widget_channel import KEY as WIDGET_KEY
from tests.support.widget_channel import (
    THANKS,
    agent_on,
    agent_without_model,
    load_model_now,
    widget_server_in_thread,
)

CODE = re.compile(r"GR-[2-9A-HJ-NP-Z]{6}")
TOKEN_ROUTE = "**/webhooks/widget/demo/token"


def logged_in_as(page: Any, token: str) -> None:
    """Make the demo page's "company back end" hand out ``token``."""
    page.route(
        TOKEN_ROUTE,
        lambda route: route.fulfill(json={"token": token}, status=200),
    )


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))
    if os.environ.get("GRACIOUS_UPDATE_SCREENSHOTS") == "1":
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SCREENSHOTS / name, README_SCREENSHOTS / name)


def open_logged_in(widget_stack: Stack, new_page: Any) -> tuple[Any, Any, Widget]:
    """A customer logged in on the demo page opens the widget. Returns the
    customer, the page and its widget."""
    customer = widget_stack.billing.new_customer("premium-monthly")
    page = new_page(DESKTOP)
    logged_in_as(page, login_token(customer.id))
    page.goto(widget_stack.demo_url + "?as=ana")
    widget = Widget(page)
    widget.open()
    return customer, page, widget


def test_a_logged_in_customer_cancels_by_typing_and_a_quick_reply(
    widget_stack: Stack, new_page: Any
) -> None:
    customer, page, widget = open_logged_in(widget_stack, new_page)

    ask = widget.say("I'd like to cancel my subscription")
    assert "last 4 digits" in ask and "email" not in ask
    offer = widget.say(customer.card_last4)
    assert "Thanks, Test. Before you go" in offer
    assert "Reply yes to take it, or no to cancel now" in offer
    assert widget.replies() == ["Yes, take the offer", "No, cancel now"]
    screenshot(page, "widget-desktop.png")

    done = widget.tap("No, cancel now")
    assert "Premium is cancelled and ends on" in done, done
    code = CODE.search(done)
    assert code, done
    row = widget_stack.billing.subscription(customer)
    assert row.cancel_at_period_end and row.cancellation_code == code.group()
    channels = widget_stack.billing.sql(
        "SELECT DISTINCT channel FROM events WHERE customer_id = :c", c=customer.id
    )
    assert [c for (c,) in channels] == ["web"]


def test_an_anonymous_visitor_gives_the_email_on_a_phone(
    widget_stack: Stack, new_page: Any
) -> None:
    customer = widget_stack.billing.new_customer("premium-monthly")
    page = new_page(PHONE)
    page.goto(widget_stack.demo_url)
    widget = Widget(page)
    widget.open()
    assert widget.replies() == ["Cancel my subscription", "Check my subscription"]

    assert "email" in widget.tap("Cancel my subscription")
    assert "last 4 digits" in widget.say(customer.email)
    offer = widget.say(customer.card_last4)
    assert "Before you go" in offer
    box = page.locator("#gracious-widget .panel").bounding_box()
    assert box and box["width"] <= PHONE["width"] and box["x"] >= 0
    screenshot(page, "widget-phone.png")

    done = widget.say("no, cancel please")
    assert "Premium is cancelled" in done and CODE.search(done), done
    assert widget_stack.billing.subscription(customer).cancel_at_period_end


def asked_for_the_card(
    widget_stack: Stack, new_page: Any, page: Optional[Any] = None
) -> tuple[Any, Any, Widget]:
    """An anonymous visitor asks to cancel and gives the email; the bot asks
    for the card. ``page``: one set up before the widget loads, if the test
    needs that. Returns the customer, the page and its widget."""
    customer = widget_stack.billing.new_customer("premium-monthly")
    page = page or new_page(DESKTOP)
    page.goto(widget_stack.demo_url)
    widget = Widget(page)
    widget.open()
    widget.tap("Cancel my subscription")
    assert "last 4 digits" in widget.say(customer.email)
    return customer, page, widget


def test_a_reload_mid_conversation_continues_it(
    widget_stack: Stack, new_page: Any
) -> None:
    customer, page, widget = asked_for_the_card(widget_stack, new_page)

    page.reload()
    widget = Widget(page)
    expect(widget.panel).to_be_visible()
    assert customer.email in widget.log_text()
    assert "last 4 digits" in widget.bot_messages()[-1]

    # The bot still knows the email: the card alone is enough now.
    offer = widget.say(customer.card_last4)
    assert "Before you go" in offer
    accepted = widget.tap("Yes, take the offer")
    assert "Done: 50% off Premium" in accepted, accepted
    assert widget_stack.billing.subscription(customer).discount_percent == 50


def test_a_card_number_with_its_cvv_is_never_kept_in_the_browser(
    widget_stack: Stack, new_page: Any
) -> None:
    """The widget's own check used to miss a card followed by its CVV or in
    other digits, and kept it in the tab's storage (the server removed it)."""
    customer, page, widget = asked_for_the_card(widget_stack, new_page)
    told = widget.say("4111 1111 1111 1111 123")
    assert "only the last 4" in told, told
    assert "4111" not in widget.log_text()
    assert "4111" not in page.evaluate("JSON.stringify(sessionStorage)")
    # nor one typed in another script's digits (full-width here), which the
    # server's check read as digits and the widget's did not
    wide = "\uff14\uff11\uff11\uff11"
    told = widget.say(" ".join([wide] + ["\uff11" * 4] * 3))
    assert "only the last 4" in told, told
    assert wide not in widget.log_text()
    stored = page.evaluate("JSON.stringify(sessionStorage)")
    assert wide not in stored and "\\uff14" not in stored
    assert "Before you go" in widget.say(customer.card_last4)


def test_reset_on_logout_forgets_the_login(widget_stack: Stack, new_page: Any) -> None:
    """reset() used to start a new conversation that still knew the customer."""
    _, page, widget = open_logged_in(widget_stack, new_page)
    assert "email" not in widget.say("is my subscription active?")
    page.evaluate("window.GraciousWidget.reset()")
    expect(widget.log).to_have_text("")
    ask = widget.say("I'd like to cancel my subscription")
    assert "email" in ask and "last 4 digits" not in ask, ask


@pytest.mark.parametrize(
    "forge",
    [
        lambda customer_id: login_token(customer_id, secret="forged-" + "f" * 40),
        lambda customer_id: login_token(
            customer_id, iat=int(time.time()) - 3600, exp=int(time.time()) - 60
        ),
    ],
    ids=["signed-with-another-key", "expired"],
)
def test_a_forged_or_expired_token_leaves_the_visitor_anonymous(
    widget_stack: Stack, new_page: Any, forge: Any
) -> None:
    customer = widget_stack.billing.new_customer("premium-monthly")
    page = new_page(DESKTOP)
    logged_in_as(page, forge(customer.id))
    page.goto(widget_stack.demo_url + "?as=ana")
    widget = Widget(page)
    widget.open()

    ask = widget.say("I want to cancel my subscription")
    assert "email" in ask and "last 4" not in ask, ask
    transcript = widget.log_text().lower()
    for hint in ("token", "expired", "invalid", "signature", "error"):
        assert hint not in transcript
    assert widget.status.inner_text() == ""


def test_a_login_endpoint_that_never_answers_does_not_hold_the_chat_up(
    widget_stack: Stack, new_page: Any
) -> None:
    """The token fetch had no time limit: while it hung, nothing was sent."""
    page = new_page(DESKTOP)
    hanging: list[Any] = []

    def hang(route: Any) -> None:
        hanging.append(route)  # neither answered nor failed

    page.route(TOKEN_ROUTE, hang)
    page.goto(widget_stack.demo_url + "?as=ana")
    widget = Widget(page)
    widget.open()
    ask = widget.say("I want to cancel my subscription")
    assert hanging, "the widget did not ask for a login token"
    assert "email" in ask, ask  # on as an anonymous visitor


def test_it_works_with_the_keyboard_alone(widget_stack: Stack, new_page: Any) -> None:
    customer = widget_stack.billing.new_customer("premium-monthly")
    page = new_page(DESKTOP)
    page.goto(widget_stack.demo_url)
    widget = Widget(page)

    for _ in range(20):
        page.keyboard.press("Tab")
        if widget.focused() == "launcher":
            break
    assert widget.focused() == "launcher", "Tab never reached the launcher"
    page.keyboard.press("Enter")
    expect(widget.panel).to_be_visible()
    assert widget.focused() == "gw-input"
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")

    # Back from the message box to the suggested replies, and pick one.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert widget.focused() == "reply"
    before = len(widget.bot_messages())
    page.keyboard.press("Enter")
    assert "email" in widget.wait_for_answer(before)
    assert widget.focused() == "gw-input"

    page.keyboard.type(customer.email)
    before = len(widget.bot_messages())
    page.keyboard.press("Enter")
    assert "last 4 digits" in widget.wait_for_answer(before)

    page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()
    assert widget.focused() == "launcher"
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    assert widget.focused() == "gw-input"
    assert customer.email in widget.log_text()


def test_on_a_phone_tab_stays_inside_the_full_screen_panel(
    widget_stack: Stack, new_page: Any
) -> None:
    """The panel covers the page there, but Tab went on to the page behind it."""
    page = new_page(PHONE)
    page.goto(widget_stack.demo_url)
    widget = Widget(page)
    widget.open()
    expect(widget.panel).to_have_attribute("aria-modal", "true")
    inside = set()
    for _ in range(12):
        page.keyboard.press("Tab")
        where = widget.focused()
        assert where and where != "launcher", f"focus left the chat panel: {where}"
        inside.add(where)
    for _ in range(12):
        page.keyboard.press("Shift+Tab")
        assert widget.focused() not in (None, "", "launcher")
    assert {"gw-input", "close"} <= inside, inside
    # on a wide screen the page stays reachable: no modal there
    page.set_viewport_size(DESKTOP)
    expect(widget.panel).not_to_have_attribute("aria-modal", "true")


def test_it_reconnects_after_a_network_drop_and_sends_what_waited(
    widget_stack: Stack, new_page: Any
) -> None:
    customer, page, widget = asked_for_the_card(widget_stack, new_page)

    with widget_stack.proxy.outage():
        expect(widget.status).to_have_text(re.compile("Reconnecting"))
        before = len(widget.bot_messages())
        widget.input.fill(customer.card_last4)
        widget.input.press("Enter")
        page.wait_for_timeout(1000)
        assert len(widget.bot_messages()) == before
    assert "Before you go" in widget.wait_for_answer(before)
    expect(widget.status).to_have_text("")


def test_a_message_typed_while_offline_is_sent_after_a_reload(
    widget_stack: Stack, new_page: Any
) -> None:
    """Typed before the socket was up, it waited only in the page's memory: a
    reload or a link followed showed it as sent, and it never arrived."""
    customer, page, widget = asked_for_the_card(widget_stack, new_page)
    # from now on a new socket hangs unanswered (a captive portal, a proxy
    # holding it) until the test lets sockets through
    hanging = [True]

    def sockets(socket: Any) -> None:
        if not hanging[0]:
            socket.connect_to_server()

    page.route_web_socket(re.compile(r"/socket\.io/"), sockets)
    widget_stack.proxy.cut()  # the open socket drops; its successors hang
    expect(widget.status).to_have_text(re.compile("Reconnecting"))
    widget.input.fill(customer.card_last4)
    widget.input.press("Enter")
    hanging[0] = False
    page.reload()
    widget = Widget(page)
    expect(widget.log).to_contain_text(customer.card_last4)
    before = page.locator(".msg.bot").count()
    assert "Before you go" in widget.wait_for_answer(before)
    mine = page.locator(".msg.user", has_text=customer.card_last4)
    assert mine.count() == 1  # shown once, sent once


def test_a_reply_lost_on_the_way_is_shown_once_after_reconnecting(
    widget_stack: Stack, new_page: Any
) -> None:
    customer, page, widget = asked_for_the_card(widget_stack, new_page)
    conversation = stored_state(page)["sessionId"]
    before = len(widget.bot_messages())
    answered = len(widget_stack.bot_texts(conversation))

    with widget_stack.proxy.one_way():
        widget.input.fill(customer.card_last4)
        widget.input.press("Enter")
        # the bot answered (the tracker has it) but the answer was lost
        deadline = time.monotonic() + 60
        while len(widget_stack.bot_texts(conversation)) == answered:
            assert time.monotonic() < deadline, "the bot never answered"
            page.wait_for_timeout(200)
        assert len(widget.bot_messages()) == before

    offer = widget.wait_for_answer(before)
    assert "Before you go" in offer
    expect(widget.status).to_have_text("")
    # each missed reply exactly once, as the bot sent it
    missed = widget_stack.bot_texts(conversation)[answered:]
    assert widget.bot_messages()[before:] == [
        part for text in missed for part in text.split("\n\n")
    ]
    # and the conversation goes on from there
    done = widget.say("no thanks")
    assert "is cancelled and ends on" in done, done
    assert widget_stack.billing.subscription(customer).cancel_at_period_end
    assert widget.log_text().count("Before you go") == 1


def card_asked_on_watched_sockets(
    widget_stack: Stack, new_page: Any
) -> tuple[Any, Any, Widget, WidgetSockets, str]:
    """As asked_for_the_card, with the page's sockets in the test's hands.
    Returns the customer, the page, its widget, its sockets and the
    conversation id."""
    page = new_page(DESKTOP)
    sockets = WidgetSockets(page)
    customer, page, widget = asked_for_the_card(widget_stack, new_page, page)
    return customer, page, widget, sockets, stored_state(page)["sessionId"]


def stored_state(page: Any) -> dict[str, Any]:
    """What the widget keeps in the tab for an anonymous visitor."""
    return dict(
        page.evaluate("JSON.parse(sessionStorage.getItem('gracious-demo-anonymous'))")
    )


def customer_said(widget_stack: Stack, conversation: str) -> list[str]:
    """The customer's messages, as the bot recorded them (one per turn)."""
    return [parse.get("text") for parse in widget_stack.parses(conversation)]


def outbox(page: Any) -> list[Any]:
    """What the widget keeps in the tab, waiting for the bot to acknowledge."""
    return list(stored_state(page).get("waiting") or [])


def test_a_message_sent_on_a_socket_that_died_unnoticed_arrives_once(
    widget_stack: Stack, new_page: Any
) -> None:
    """It left the widget as if sent, reached no one, and nothing sent it again."""
    customer, page, widget, sockets, conversation = card_asked_on_watched_sockets(
        widget_stack, new_page
    )
    sockets.silence()  # open, carrying nothing: the widget cannot tell yet
    before = len(widget.bot_messages())
    widget.input.fill(customer.card_last4)
    widget.input.press("Enter")
    mine = page.locator(".msg.user", has_text=customer.card_last4)
    # no acknowledgement: the widget gives the socket up and says so
    expect(mine.locator(".note")).to_have_text("Sending\u2026", timeout=30_000)
    assert customer.card_last4 not in customer_said(widget_stack, conversation)

    offer = widget.wait_for_answer(before)
    assert "Before you go" in offer, offer
    assert customer_said(widget_stack, conversation).count(customer.card_last4) == 1
    assert mine.count() == 1  # shown once, as sent
    expect(mine.locator(".note")).to_have_count(0)
    assert outbox(page) == []
    done = widget.say("no thanks")
    assert "is cancelled and ends on" in done, done
    assert widget_stack.billing.subscription(customer).cancel_at_period_end


def test_a_tapped_reply_waiting_for_its_acknowledgement_survives_a_reload(
    widget_stack: Stack, new_page: Any
) -> None:
    """A button sends its payload and shows its title; it is kept in the tab
    like a typed message (it was kept in memory only, and a reload lost it)."""
    customer, page, widget, sockets, _ = card_asked_on_watched_sockets(
        widget_stack, new_page
    )
    assert "Before you go" in widget.say(customer.card_last4)
    sockets.silence()
    page.locator(".replies button", has_text="No, cancel now").click()
    expect(page.locator(".msg.user", has_text="No, cancel now")).to_have_count(1)
    waiting = outbox(page)
    assert len(waiting) == 1, waiting
    page.reload()
    widget = Widget(page)
    before = len(widget.bot_messages())
    done = widget.wait_for_answer(before)
    assert "is cancelled and ends on" in done, done
    assert widget_stack.billing.subscription(customer).cancel_at_period_end
    assert outbox(page) == []


def test_a_message_whose_acknowledgement_was_lost_runs_once(
    widget_stack: Stack, new_page: Any
) -> None:
    """Sent again on the next socket, the bot acknowledges it and does not run
    it a second time; its answer comes with the replies missed."""
    customer, page, widget, sockets, conversation = card_asked_on_watched_sockets(
        widget_stack, new_page
    )
    sockets.deafen()  # the bot hears the widget; nothing comes back
    before = len(widget.bot_messages())
    widget.input.fill(customer.card_last4)
    widget.input.press("Enter")
    deadline = time.monotonic() + 60
    while customer.card_last4 not in customer_said(widget_stack, conversation):
        assert time.monotonic() < deadline, "the bot never received it"
        page.wait_for_timeout(200)

    offer = widget.wait_for_answer(before)
    assert "Before you go" in offer, offer
    deadline = time.monotonic() + 30
    while outbox(page):
        assert time.monotonic() < deadline, f"never acknowledged: {outbox(page)}"
        page.wait_for_timeout(200)
    # it was sent twice, the second time on a new socket and marked a resend
    sent = [
        (number, said)
        for number, socket in enumerate(sockets.uttered())
        for said in socket
        if said["message"] == customer.card_last4
    ]
    assert len(sent) == 2, sent
    (first, original), (later, resend) = sent
    assert later > first and resend["client_id"] == original["client_id"]
    assert resend.get("resent") is True and "resent" not in original

    # turns run one at a time, in order: a second run of the card would come
    # before this one's answer
    done = widget.say("no thanks")
    assert "is cancelled and ends on" in done, done
    said = customer_said(widget_stack, conversation)
    assert said[-2:] == [customer.card_last4, "no thanks"], said
    assert said.count(customer.card_last4) == 1, said
    assert widget.log_text().count("Before you go") == 1
    assert page.locator(".msg.user", has_text=customer.card_last4).count() == 1


def bot_on_its_own(agent: Any) -> Iterator[tuple[str, Any]]:
    """Serve the widget's channel for ``agent``; yield the demo page's URL and it."""
    port = free_port()
    config = Settings(
        billing_api_key=WIDGET_KEY,
        demo_page=True,
        widget_allowed_origins=(f"http://127.0.0.1:{port}",),
    )
    with widget_server_in_thread(agent, config, port) as url:
        yield url + "/webhooks/widget/demo", agent


@pytest.fixture
def failing_bot(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    """The widget's channel on a server of its own, its turns failing on demand.

    No model: the agent's processor is a stand-in (tests/support/widget_channel.py).
    Returns the demo page's URL and the agent.
    """
    monkeypatch.setattr(Sanic, "test_mode", True)
    yield from bot_on_its_own(agent_on())


@pytest.fixture
def starting_bot(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    """The widget's channel on a server whose Rasa agent has no model yet."""
    monkeypatch.setattr(Sanic, "test_mode", True)
    yield from bot_on_its_own(agent_without_model())


def test_a_message_sent_before_the_model_is_loaded_can_be_sent_again(
    starting_bot: tuple[str, Any], new_page: Any
) -> None:
    """Rasa drops a message while it has no model: the customer is told we are
    starting up, and "Send again" runs it once the model is loaded."""
    demo, agent = starting_bot
    page = new_page(DESKTOP)
    page.goto(demo)
    widget = Widget(page)
    widget.open()
    assert widget.say("no thanks") == STARTING_UP
    typed = page.locator(".msg.user", has_text="no thanks")
    expect(typed.locator(".note")).to_have_text("Not sent")
    assert widget.replies() == ["Send again"]

    processor = load_model_now(agent)
    assert widget.tap("Send again") == THANKS
    expect(typed.locator(".note")).to_have_count(0)
    assert page.locator(".msg.user").count() == 1
    assert processor.turns == ["no thanks"]
    assert stored_state(page)["botSeen"] == 1


def test_a_message_the_bot_failed_to_handle_can_be_sent_again(
    failing_bot: tuple[str, Any], new_page: Any
) -> None:
    """Acknowledged, then its turn failed (the tracker's database was down):
    the bot says so, and the message is sent again from where it was typed."""
    demo, agent = failing_bot
    agent.processor.fail_at = "start"
    page = new_page(DESKTOP)
    page.goto(demo)
    widget = Widget(page)
    widget.open()
    assert widget.say("no thanks") == MESSAGE_NOT_THROUGH
    typed = page.locator(".msg.user", has_text="no thanks")
    expect(typed.locator(".note")).to_have_text("Not sent")
    assert widget.replies() == ["Send again"]
    assert outbox(page) == []  # acknowledged: only the notice brings it back

    assert widget.tap("Send again") == THANKS
    expect(typed.locator(".note")).to_have_count(0)
    assert page.locator(".msg.user").count() == 1
    assert agent.processor.turns == ["no thanks", "no thanks"]
    # the notice is not the bot's reply in the conversation: a reconnecting
    # tab must be sent again the replies after THANKS, not after one more
    assert stored_state(page)["botSeen"] == 1


def test_a_cancellation_finished_after_a_billing_outage_is_shown_in_the_chat(
    widget_stack: Stack, new_page: Any
) -> None:
    customer, page, widget = asked_for_the_card(widget_stack, new_page)
    assert "Before you go" in widget.say(customer.card_last4)
    with widget_stack.outage.outage():
        kept = widget.say("no thanks")
        assert "cancellation is saved" in kept, kept
        before = len(widget.bot_messages())
    # nothing typed: the retry worker finishes it and the open widget shows it
    update = widget.wait_for_answer(before)
    assert update.startswith("Update: our billing system is back"), update
    code = CODE.search(update)
    assert code and widget_stack.billing.subscription(customer).cancellation_code == (
        code.group()
    )
    # a reload shows it once, from the conversation's history
    page.reload()
    widget = Widget(page)
    expect(widget.panel).to_be_visible()
    expect(widget.status).to_have_text("")
    page.wait_for_timeout(1000)
    assert widget.log_text().count(code.group()) == 1


LIVE_REGIONS = """() => Array.from(
    document.querySelector("#gracious-widget").shadowRoot
        .querySelectorAll("[role=status]"),
    (region) => [region.textContent, getComputedStyle(region).display])"""


TYPING_TEXTS = """() => {
    const region = document.querySelector("#gracious-widget").shadowRoot
        .querySelector(".typing-live");
    window.typingTexts = [];
    new MutationObserver(() => window.typingTexts.push(region.textContent))
        .observe(region, {childList: true, characterData: true, subtree: true});
}"""


def test_the_live_regions_are_in_place_before_they_have_news(
    widget_stack: Stack, new_page: Any
) -> None:
    """Screen readers often miss a live region that appears with its text: the
    status line and "typing" were display: none until they had something."""
    page = new_page(DESKTOP)
    page.goto(widget_stack.demo_url)
    widget = Widget(page)
    widget.open()
    regions = page.evaluate(LIVE_REGIONS)
    assert len(regions) == 2
    assert all(text == "" and display != "none" for text, display in regions)
    # the typing line has words for screen readers while the bot answers;
    # every text it takes is recorded, as a quick answer may clear it before
    # a check from here would see it
    page.evaluate(TYPING_TEXTS)
    before = page.locator(".msg.bot").count()
    widget.input.fill("hello")
    widget.input.press("Enter")
    widget.wait_for_answer(before)
    expect(page.locator("#gracious-widget .typing-live")).to_have_text("")
    texts = page.evaluate("() => window.typingTexts")
    changes = [t for i, t in enumerate(texts) if i == 0 or t != texts[i - 1]]
    assert changes == ["The assistant is typing", ""]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_axe_finds_no_serious_accessibility_problem(
    widget_stack: Stack, new_page: Any, viewport: dict[str, int]
) -> None:
    page = new_page(viewport)
    page.goto(widget_stack.demo_url)
    axe = Axe()
    closed = axe.run(page).response["violations"]
    widget = Widget(page)
    widget.open()
    widget.tap("Cancel my subscription")
    opened = axe.run(page).response["violations"]

    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in closed + opened
        if v["impact"] in ("serious", "critical")
    ]
    assert problems == []
