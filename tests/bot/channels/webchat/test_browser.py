"""The chat widget in a real browser (Debian's Chromium, driven by Playwright) on the demo
member portal, against the real Rasa server, action server and records API.

Screenshots go to test-artifacts/webchat/. Without /usr/bin/chromium (`apt-get install
chromium`) these tests are skipped with a loud reason, unless MEMBERDESK_REQUIRE_BROWSER=1
(CI sets it), which turns the skip into a failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from channels.webchat.portal import DEMO_PASSWORD
from tests.bot.channels.staff_console import StaffConsole
from tests.bot.servers import RASA_API_TOKEN, ROOT, Assistant
from tests.browser import chromium

ARTIFACTS = ROOT / "test-artifacts/webchat"
# The assistant is a real model on a shared two-core machine: allow it time to answer.
ANSWER_MS = 60_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1100, "height": 800})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], f"the page raised: {errors}"


def _portal(stack: Assistant) -> str:
    return f"{stack.rasa_url}/webhooks/webchat/portal"


def _screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _say(page: Page, text: str, expected: str) -> None:
    """Type a message and press Enter, as a member would, then wait for the answer."""
    message = page.get_by_label("Your message")
    message.fill(text)
    message.press("Enter")
    expect(page.get_by_role("log")).to_contain_text(expected, timeout=ANSWER_MS)


def _open_chat(page: Page) -> None:
    page.get_by_role("button", name="Chat with us").click()
    expect(page.get_by_role("log")).to_contain_text(
        "I'm the membership assistant", timeout=ANSWER_MS
    )


def test_a_signed_in_member_changes_their_address_and_sees_it_after_a_reload(
    stack: Assistant, page: Page
) -> None:
    page.goto(_portal(stack))
    page.get_by_label("Membership number").fill("1000043")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as member 1000043")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_hidden()
    _open_chat(page)
    log = page.get_by_role("log")

    _say(page, "I've moved house", "first line of your new address")
    expect(log).not_to_contain_text("check who you are")
    _say(page, "22 Park Lane", "Which town or city?")
    _say(page, "Leeds", "new postcode")
    _say(page, "LS2 9JT", "Shall I update your record?")
    page.get_by_role("button", name="Yes, update it").click()
    expect(log).to_contain_text("your address is now 22 Park Lane", timeout=ANSWER_MS)
    _screenshot(page, "member-address-changed")

    record = stack.api.member("1000043")
    assert (record["address_line1"], record["postcode"]) == ("22 Park Lane", "LS2 9JT")

    page.reload()
    log = page.get_by_role("log")
    expect(log).to_contain_text("your address is now 22 Park Lane", timeout=ANSWER_MS)
    expect(log).to_contain_text("I've moved house")
    # The button press shows as the member's choice, and the old buttons can't be pressed.
    expect(log.locator(".md-from-member", has_text="Yes, update it")).to_have_count(1)
    expect(page.get_by_role("button", name="Yes, update it")).to_be_disabled()
    _screenshot(page, "member-history-after-reload")

    with page.expect_download() as saving:
        page.get_by_role("button", name="Download transcript").click()
    saved = saving.value
    assert re.fullmatch(r"memberdesk-chat-\d{4}-\d{2}-\d{2}\.txt", saved.suggested_filename)
    transcript = Path(saved.path()).read_text()
    assert "You: I've moved house" in transcript
    assert "You: Yes, update it" in transcript
    assert "Assistant: Done: your address is now 22 Park Lane" in transcript


def test_an_anonymous_visitor_goes_through_the_identity_check_with_the_keyboard(
    stack: Assistant, page: Page
) -> None:
    record = stack.api.member("1000044")
    born = date.fromisoformat(record["date_of_birth"]).strftime("%d/%m/%Y")
    page.goto(_portal(stack))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()

    launcher = page.get_by_role("button", name="Chat with us")
    launcher.focus()
    page.keyboard.press("Enter")
    message = page.get_by_label("Your message")
    expect(message).to_be_focused()
    log = page.get_by_role("log")
    assert log.get_attribute("aria-live") == "polite"
    expect(log).to_contain_text("I'm the membership assistant", timeout=ANSWER_MS)

    _say(page, "I've moved house", "What's your membership number?")
    _say(page, "1000044", "date of birth")
    _say(page, born, "postcode we have")
    _say(page, record["postcode"], "You're verified")
    expect(log).to_contain_text("first line of your new address", timeout=ANSWER_MS)
    _screenshot(page, "visitor-identity-checked")

    page.keyboard.press("Escape")
    expect(page.get_by_label("Your message")).to_be_hidden()
    expect(launcher).to_be_focused()


def test_the_chat_reconnects_after_the_network_drops_and_carries_on(
    stack: Assistant, page: Page
) -> None:
    page.goto(_portal(stack))
    _open_chat(page)
    _say(page, "hello", "What can I help with?")
    status, send = page.locator(".md-status"), page.get_by_role("button", name="Send")

    page.context.set_offline(True)
    expect(status).to_contain_text("Reconnecting")
    expect(send).to_be_disabled()
    _screenshot(page, "visitor-reconnecting")
    page.context.set_offline(False)

    expect(send).to_be_enabled()
    expect(status).to_have_text("")
    log = page.get_by_role("log")
    expect(log.locator(".md-from-member .md-text")).to_have_text(["hello"])
    _say(page, "thank you", "welcome")


def test_a_member_talks_to_the_person_who_takes_their_case(stack: Assistant, page: Page) -> None:
    page.goto(_portal(stack))
    _open_chat(page)
    _say(page, "I want to speak to a real person please", "CASE-")
    reference = re.search(r"CASE-[A-Z0-9]+", page.get_by_role("log").inner_text())
    assert reference, page.get_by_role("log").inner_text()
    log = page.get_by_role("log")
    console = StaffConsole(stack.api.url)
    try:
        console.take(reference[0])
        expect(log).to_contain_text("joined the conversation", timeout=ANSWER_MS)
        _say(page, "thanks for picking this up", "Your message has been passed to")
        console.reply(reference[0], "Hello, I'm looking at your record now.")
        expect(log.locator(".md-from-staff-member")).to_contain_text(
            "Hello, I'm looking at your record now.", timeout=ANSWER_MS
        )
    finally:
        console.close()
    expect(log.locator(".md-from-staff-member .md-sender")).not_to_have_text("")
    _screenshot(page, "visitor-talking-to-staff")


def test_html_from_a_member_the_assistant_or_staff_is_shown_as_text(
    stack: Assistant, page: Page
) -> None:
    page.goto(_portal(stack))
    _open_chat(page)
    log = page.get_by_role("log")
    attack = '<img src=x onerror="window.pwned=1"><b>bold</b>'

    _say(page, attack, attack)
    conversation = page.evaluate(
        "JSON.parse(atob(sessionStorage.getItem('memberdesk-webchat:session')"
        ".split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).c"
    )
    for event in (
        {"event": "bot", "text": '<img src=x onerror="window.pwned=2">assistant'},
        {"event": "bot", "text": None, "data": {
            "custom": {"memberdesk": {"staff_joined": '<img src=x onerror="window.pwned=3">Alex'}}
        }},
    ):
        httpx.post(
            f"{stack.rasa_url}/conversations/{conversation}/tracker/events",
            params={"output_channel": "webchat", "execute_side_effects": "true",
                    "token": RASA_API_TOKEN},
            json=event, timeout=30,
        ).raise_for_status()
    expect(log).to_contain_text('<img src=x onerror="window.pwned=2">assistant')
    expect(log).to_contain_text('<img src=x onerror="window.pwned=3">Alex joined the conversation')
    _screenshot(page, "html-shown-as-text")

    assert log.locator("img, b").count() == 0
    assert page.evaluate("window.pwned") is None
    # The same after a reload, when the history is drawn again.
    page.reload()
    expect(page.get_by_role("log")).to_contain_text("Alex joined the conversation")
    assert page.get_by_role("log").locator("img, b").count() == 0
    assert page.evaluate("window.pwned") is None


def test_a_card_number_typed_in_the_widget_is_masked_on_screen(
    stack: Assistant, page: Page
) -> None:
    page.goto(_portal(stack))
    _open_chat(page)

    _say(page, "my card is 4111 1111 1111 1111", "Please don't send card details")

    log = page.get_by_role("log")
    expect(log).to_contain_text("my card is [card number removed]")
    expect(log).not_to_contain_text("4111")

