"""Issue 6: a member on the webchat and a member of staff in the console, in one browser.

Two contexts of Debian's Chromium (driven by Playwright) against the real Rasa server, action
server and records API (tests/bot/servers.py; the API process serves /console too): the member
asks for a person on the demo portal, Alex Agent takes the case in the console, they talk, and
Alex hands back to the assistant, which answers again. Then Dana from the data team approves an
employment change held because it moves a member into the open ballot's constituency.

Screenshots of the queue, the case, the member's chat and the dashboard go to
test-artifacts/journey/. Without /usr/bin/chromium (`apt-get install chromium`) these tests are
skipped with a loud reason, unless MEMBERDESK_REQUIRE_BROWSER=1 (CI sets it), which turns the
skip into a failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from channels.webchat.portal import DEMO_PASSWORD
from tests.bot.channels.staff_console import PASSWORD as STAFF_PASSWORD
from tests.bot.servers import ROOT, Assistant, RecordsApi
from tests.browser import chromium

ARTIFACTS = ROOT / "test-artifacts/journey"
# The assistant is a real model on a shared two-core machine, and staff messages reach the
# widget by polling (every few seconds): allow them time.
ANSWER_MS = 60_000
# Demo members no other bot test uses: the journey's member is the first of them who is active
# and employed outside the open ballot (the seed is deterministic).
CANDIDATES = [f"10000{n}" for n in range(50, 60)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


class Contexts:
    """Browser contexts (separate cookie jars: a member's browser, a staff member's browser)
    whose pages must raise no script error and open no dialog."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.opened: list[BrowserContext] = []
        self.problems: list[str] = []

    def page(self, who: str, width: int = 1100) -> Page:
        context = self.browser.new_context(viewport={"width": width, "height": 850})
        self.opened.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.problems.append(f"{who}: {error}"))
        page.on("dialog", lambda dialog: (
            self.problems.append(f"{who}: dialog {dialog.message!r}"), dialog.dismiss()
        ))
        return page

    def close(self) -> None:
        for context in self.opened:
            context.close()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Contexts]:
    opened = Contexts(browser)
    yield opened
    opened.close()
    assert opened.problems == [], f"the pages raised: {opened.problems}"


def _screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- the member's side: the demo portal and its chat widget -----------------------------------


def _portal(stack: Assistant) -> str:
    return f"{stack.rasa_url}/webhooks/webchat/portal"


def _open_chat(page: Page) -> Locator:
    page.get_by_role("button", name="Chat with us").click()
    log = page.get_by_role("log")
    expect(log).to_contain_text("I'm the membership assistant", timeout=ANSWER_MS)
    return log


def _type(page: Page, text: str) -> None:
    message = page.get_by_label("Your message")
    message.fill(text)
    message.press("Enter")


def _say(page: Page, text: str, expected: str) -> None:
    """Type a message and press Enter, as a member would, then wait for the answer."""
    _type(page, text)
    expect(page.get_by_role("log")).to_contain_text(expected, timeout=ANSWER_MS)


def _case_reference(log: Locator) -> str:
    found = re.search(r"CASE-[A-Z0-9]+", log.inner_text())
    assert found, log.inner_text()
    return found[0]


# --- the staff side: the console --------------------------------------------------------------


def _sign_in(page: Page, api: RecordsApi, username: str) -> None:
    page.goto(f"{api.url}/console/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{api.url}/console/queue")


# --- the records API, as the service uses it --------------------------------------------------


def _service(api: RecordsApi) -> httpx.Client:
    return api.client()


def _only_case(api: RecordsApi, reference: str) -> dict:
    with _service(api) as client:
        found = client.get(f"/cases/{reference}")
    assert found.status_code == 200, found.text
    return found.json()  # type: ignore[no-any-return]


def _open_ballot(api: RecordsApi) -> dict:
    with _service(api) as client:
        ballots = client.get("/ballots").json()
    running = [b for b in ballots if b["state"] == "open"]
    assert running, ballots
    return running[0]  # type: ignore[no-any-return]


def _member_outside(api: RecordsApi, ballot: dict) -> dict:
    """An active demo member employed outside the open ballot's constituency."""
    for number in CANDIDATES:
        record = api.member(number)
        if record["status"] == "active" and record["employer"] and \
                record["employer"] not in ballot["employers"]:
            return record
    raise AssertionError(f"none of {CANDIDATES} is active and outside {ballot['code']}")


def _hold_a_move_into_the_ballot(api: RecordsApi, record: dict, ballot: dict) -> tuple[str, str]:
    """The member tells the assistant they now work for an employer in the open ballot: the
    assistant verifies them and asks the records API to change their employment, as the action
    server does. The change is held for the data team; its reference and the new employer."""
    number = record["membership_number"]
    with _service(api) as client:
        checked = client.post("/identity/check", json={
            "membership_number": number, "date_of_birth": record["date_of_birth"],
            "postcode": record["postcode"],
        })
        assert checked.status_code == 200, checked.text
        employers = {e["name"]: e["workplaces"] for e in client.get("/employers").json()}
    employer = next(name for name in ballot["employers"] if employers.get(name))
    moved = httpx.put(
        f"{api.url}/api/v1/members/{number}/employment",
        json={"employer": employer, "workplace": employers[employer][0],
              "version": record["version"]},
        headers={"Authorization": f"Bearer {checked.json()['token']}",
                 "X-Memberdesk-Channel": "webchat"},
        timeout=10,
    )
    assert moved.status_code == 200, moved.text
    outcome = moved.json()
    assert outcome["status"] == "pending_review", outcome
    assert api.member(number)["employer"] == record["employer"]
    return outcome["reference"], employer


# --- the tests ------------------------------------------------------------------------------


def test_a_webchat_member_talks_to_staff_who_hand_back_and_a_held_change_is_approved(
    stack: Assistant, contexts: Contexts
) -> None:
    api = stack.api
    ballot = _open_ballot(api)
    number = _member_outside(api, ballot)["membership_number"]

    # The member signs in on the portal and asks for a person.
    member = contexts.page("member")
    member.goto(_portal(stack))
    member.get_by_label("Membership number").fill(number)
    member.get_by_label("Password").fill(DEMO_PASSWORD)
    member.get_by_role("button", name="Sign in").click()
    expect(member.get_by_text(f"Signed in as member {number}")).to_be_visible()
    log = _open_chat(member)
    _say(member, "I want to speak to a real person please", "CASE-")
    reference = _case_reference(log)
    case = _only_case(api, reference)
    assert (case["channel"], case["membership_number"]) == ("webchat", number), case

    # Alex sees it in their own team's queue and opens it.
    staff = contexts.page("staff", width=1400)
    _sign_in(staff, api, "alex.agent")
    expect(staff.get_by_role("heading", name=f"Queue: {case['team_name']}")).to_be_visible()
    expect(staff.locator(".who")).to_contain_text(case["team_name"])
    row = staff.locator("#queue-rows tr", has_text=reference)
    expect(row).to_contain_text(re.compile(r"\d+h \d\dm (left|overdue)"))
    expect(row).to_contain_text(case["summary"])
    _screenshot(staff, "console-queue")
    row.get_by_role("link", name=reference).click()
    staff.wait_for_url(f"{api.url}/console/cases/{reference}")
    conversation = staff.locator("#conversation")
    expect(conversation).to_contain_text("I want to speak to a real person please")
    expect(staff.locator("#member-h + dl")).to_contain_text(number)
    expect(staff.locator(".identity")).to_have_text("signed in")
    _screenshot(staff, "console-case-opened")

    # Taking the case tells the member who joined.
    staff.get_by_role("button", name="Take this case").click()
    expect(staff.locator(".notice")).to_contain_text("You have taken the case")
    joined = log.locator(".md-from-staff", has_text="joined the conversation")
    expect(joined).to_contain_text("Alex Agent", timeout=ANSWER_MS)

    # From here on neither page reloads: a marker on window would be lost if one did.
    for page in (member, staff):
        page.evaluate("window.noReload = true")
    staff.get_by_label("Message", exact=True).fill("Hello, I'm Alex. Which employer is it now?")
    staff.get_by_role("button", name="Send to member").click()
    expect(conversation).to_contain_text("Which employer is it now?")
    expect(staff.get_by_label("Message", exact=True)).to_have_value("")
    from_alex = log.locator(".md-from-staff-member")
    expect(from_alex).to_contain_text("Which employer is it now?", timeout=ANSWER_MS)
    expect(from_alex.locator(".md-sender")).to_have_text("Alex Agent")

    _say(member, "I've started at the hospital trust this month", "passed to Alex Agent")
    expect(conversation).to_contain_text(
        "I've started at the hospital trust this month", timeout=ANSWER_MS
    )
    expect(conversation.locator("li.msg", has_text="Which employer is it now?")).to_contain_text(
        "· delivered", timeout=ANSWER_MS
    )
    assert staff.evaluate("window.noReload") is True
    assert member.evaluate("window.noReload") is True
    assert "I've started at the hospital trust" not in " ".join(
        event.get("text") or "" for event in stack.tracker(_conversation_id(member))["events"]
        if event["event"] == "user"
    )
    _screenshot(staff, "console-case")
    _screenshot(member, "member-talking-to-alex")

    # Alex hands back to the assistant; the member is told.
    staff.get_by_label("What the assistant should know").fill("Moving to an NHS trust")
    staff.get_by_role("button", name="Hand back to the assistant").click()
    expect(staff.locator(".notice")).to_contain_text("Handed back to the assistant")
    expect(log).to_contain_text("passed you back to the membership assistant", timeout=ANSWER_MS)

    # What the member told Alex is held for review: the move puts them in the open ballot.
    change, employer = _hold_a_move_into_the_ballot(api, api.member(number), ballot)
    data = contexts.page("data team", width=1400)
    _sign_in(data, api, "dana.data")
    data.get_by_role("link", name="Approvals").click()
    held = data.locator(f"#change-{change}")
    expect(held).to_contain_text("running ballot")
    expect(held.locator("tr.changed")).to_contain_text([employer])
    expect(data.locator(".approval", has=held)).to_contain_text(number)
    _screenshot(data, "console-approvals")
    held.get_by_role("button", name="Approve").click()
    expect(data.locator(".notice")).to_contain_text(f"Change {change} is applied")
    expect(data.locator(f"#change-{change}")).to_have_count(0)
    assert api.member(number)["employer"] == employer
    with _service(api) as client:
        history = client.get(f"/members/{number}/history").json()
    decided = next(h for h in history if h["reference"] == change)
    assert decided["status"] == "applied", decided

    data.get_by_role("link", name="Dashboard").click()
    expect(data.get_by_role("heading", name="Dashboard")).to_be_visible()
    # At least this conversation, escalated: nothing is contained yet if it is the only one.
    expect(data.locator("#fig-conversations")).to_have_text(re.compile(r"^[1-9]\d*$"))
    expect(data.locator("svg.chart")).not_to_have_count(0)
    _screenshot(data, "console-dashboard")
    for name in ("console-queue", "console-case", "console-dashboard"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000, name

    # Back on the webchat, the assistant answers the member again.
    with _service(api) as client:
        subscription = client.get(f"/members/{number}/subscription")
    assert subscription.status_code == 200, subscription.text
    explanation = subscription.json()["explanation"]
    answers = log.locator(".md-from-assistant")
    before = answers.count()
    _type(member, "how much do I pay?")
    expect(answers.nth(before)).to_be_visible(timeout=ANSWER_MS)
    _screenshot(member, "member-back-with-the-assistant")
    assert log.inner_text().count("passed to Alex Agent") == 1
    assert stack.tracker(_conversation_id(member))["paused"] is False
    answer = answers.nth(before).inner_text()
    if explanation[:40] not in answer:
        raise AssertionError(f"asked how much they pay, the member was told {answer!r}")


def _conversation_id(page: Page) -> str:
    """The conversation the server bound to this tab (from its signed session token)."""
    return str(page.evaluate(
        "JSON.parse(atob(sessionStorage.getItem('memberdesk-webchat:session')"
        ".split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).c"
    ))


def test_markup_a_member_types_in_the_webchat_is_shown_as_text_on_the_case_page(
    stack: Assistant, contexts: Contexts
) -> None:
    attack = "<script>alert(1)</script> {{ 7*7 }}"
    member = contexts.page("member")
    member.goto(_portal(stack))
    log = _open_chat(member)
    answers = log.locator(".md-from-assistant")
    before = answers.count()
    _type(member, attack)
    expect(answers.nth(before)).to_be_visible(timeout=ANSWER_MS)
    _say(member, "can I talk to a person please", "CASE-")
    reference = _case_reference(log)

    staff = contexts.page("staff", width=1400)
    _sign_in(staff, stack.api, "alex.agent")
    staff.goto(f"{stack.api.url}/console/cases/{reference}")
    typed = staff.locator("#conversation li.msg.member .text").filter(has_text="alert(1)")
    # In the transcript the assistant escalated with...
    expect(typed).to_have_text([attack])
    staff.get_by_role("button", name="Take this case").click()
    expect(staff.locator(".notice")).to_contain_text("You have taken the case")
    expect(log.locator(".md-from-staff")).to_contain_text(
        "joined the conversation", timeout=ANSWER_MS
    )
    # ...and live, once a person has the conversation, through the hand-off API.
    _say(member, attack, "passed to Alex Agent")
    expect(typed).to_have_text([attack, attack], timeout=ANSWER_MS)
    # Once more after htmx has swapped the conversation in again from its next poll.
    staff.wait_for_timeout(2_500)
    expect(typed).to_have_text([attack, attack])
    _screenshot(staff, "console-case-markup-as-text")

    assert staff.locator("#conversation script").count() == 0
    assert staff.evaluate("document.querySelectorAll('script:not([src])').length") == 0
    assert "49" not in " ".join(typed.all_inner_texts())
    # Shown as text in the member's own widget too.
    expect(log.locator(".md-from-member .md-text").filter(has_text="alert(1)")).to_have_text(
        [attack, attack]
    )
    assert log.locator("script").count() == 0
