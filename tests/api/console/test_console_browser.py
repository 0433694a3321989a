"""The console in a real browser (Debian's Chromium through Playwright) against a real server.

Staff signs in, sees the queue, opens a case escalated from a webchat conversation, takes it and
replies; the member's answer (posted by the channel through the hand-off API) appears without a
reload; staff hands back to the assistant. Then a data-team user approves a held employment
change, and opens the dashboard. Screenshots of the queue, the case and the dashboard are saved
in test-artifacts/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright import sync_api
from sqlalchemy.orm import Session

import api.models  # noqa: F401
from api.cases import service as cases
from api.cases.models import SatisfactionRating
from api.changes.models import ChangeRequest, ChangeStatus
from api.config import Settings
from api.conversations import service as conversations
from api.database import Base, make_engine
from api.members.models import Member
from api.staff.models import Role
from api.staff.service import ensure_default_teams
from api.timekeeping import utcnow
from harness.processes import free_port
from tests.api import factories
from tests.api.console.conftest import PASSWORD, pending_employment_change

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
SERVICE_TOKEN = "browser-test-service-token-0123456789"
SECRET_KEY = "browser-test-secret-key-" + "y" * 32
CONVERSATION = "webchat-browser-1"
ROOT = Path(__file__).resolve().parents[3]



def _prepare(url: str) -> dict[str, str]:
    """The organisation the journey needs: staff, a member, a held change, a case, history."""
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    settings = Settings(env="test", database_url=url, service_token=SERVICE_TOKEN,
                        secret_key=SECRET_KEY)
    with Session(engine, expire_on_commit=False) as db:
        teams = {t.code: t for t in ensure_default_teams(db)}
        factories.staff(db, "alex.agent", Role.agent, team=teams["records"])
        factories.staff(db, "dana.data", Role.data_team, team=teams["records"])
        change = pending_employment_change(db)
        member = db.get(Member, change.member_id)
        assert member is not None
        now = utcnow()
        for i, (channel, intent, fallback) in enumerate([
            ("webchat", "change_address", False), ("webchat", "ballot_when", False),
            ("telegram", "payment_failed", False), ("telegram", "change_address", True),
            ("email", "complaint", False),
        ]):
            conversations.record_turn(db_session=db, conversation_id=f"history-{i}",
                                      channel=channel, intent=intent, fallback=fallback,
                                      at=now - timedelta(days=i % 3))
        conversations.record_turn(db_session=db, conversation_id=CONVERSATION,
                                  channel="webchat", intent="change_employer", fallback=False)
        for score in (5, 4, 4, 2):
            db.add(SatisfactionRating(conversation_id="history-0", channel="webchat",
                                      score=score))
        opened = cases.open_case(
            db_session=db, member_id=member.id, channel="webchat", conversation_id=CONVERSATION,
            intent="change_employer", summary="Moved to the council during the ballot",
            transcript=[
                {"at": (now - timedelta(minutes=4)).isoformat(), "sender": "member",
                 "text": "I work for the council now <script>alert('x')</script> {{ 7*7 }}"},
                {"at": (now - timedelta(minutes=3)).isoformat(), "sender": "bot",
                 "text": "This affects a ballot, so I'll pass you to our records team."},
            ],
            collected_values={"employer": "Leeds City Council", "workplace": "Civic Hall"},
            identity_level="identity_checked", actor="service:assistant", settings=settings,
        )
        references = {"case": opened.case.reference, "change": change.reference}
    engine.dispose()
    return references


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], str]]:
    """A records API process on 127.0.0.1 on its own SQLite file; stopped afterwards."""
    if not os.path.exists(CHROMIUM) or not (ROOT / "node_modules" / "htmx.org").is_dir():
        message = f"needs {CHROMIUM} (apt-get install chromium) and node_modules (npm ci)"
        # CI sets MEMBERDESK_REQUIRE_BROWSER=1 (.ci/run): there a missing browser is a failure.
        if os.environ.get("MEMBERDESK_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip("SKIPPING BROWSER TEST - " + message)
    url = f"sqlite:///{tmp_path / 'console.db'}"
    references = _prepare(url)
    port = free_port()
    env = {**os.environ, "MEMBERDESK_ENV": "test", "MEMBERDESK_DATABASE_URL": url,
           "MEMBERDESK_SERVICE_TOKEN": SERVICE_TOKEN, "MEMBERDESK_SECRET_KEY": SECRET_KEY,
           "MEMBERDESK_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "server.log").read_text())
            time.sleep(0.2)
        yield base, references, url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _sign_in(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/console/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/console/queue")


def test_staff_work_a_case_and_approve_a_change_in_the_browser(
    server: tuple[str, dict[str, str], str], artifacts_dir: Path
) -> None:
    base, refs, url = server
    expect = sync_api.expect
    channel = httpx.Client(base_url=f"{base}/api/v1",
                           headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
    problems: list[str] = []

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        # Any script error, CSP refusal or alert() (the transcript holds a <script>) is a defect.
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))

        _sign_in(page, base, "alex.agent")
        expect(page.get_by_role("heading", name="Queue: Records")).to_be_visible()
        row = page.locator("tr", has_text=refs["case"])
        expect(row).to_contain_text("left")
        page.screenshot(path=str(artifacts_dir / "console-queue.png"), full_page=True)

        row.get_by_role("link", name=refs["case"]).click()
        page.wait_for_url(f"{base}/console/cases/{refs['case']}")
        conversation = page.locator("#conversation")
        expect(conversation).to_contain_text("<script>alert('x')</script> {{ 7*7 }}")
        expect(page.locator(".identity")).to_have_text("identity checked")
        expect(page.locator(f"#change-{refs['change']}")).to_be_visible()

        page.get_by_role("button", name="Take this case").click()
        expect(page.locator(".notice")).to_contain_text("You have taken the case")
        expect(conversation).to_contain_text(
            "Alex Agent from the Records team has joined the conversation.")

        # From here on the page must not reload: a marker on window would be lost if it did.
        page.evaluate("window.noReload = true")
        page.get_by_label("Message").fill("Hello, I'm Alex. When did you start at the council?")
        page.get_by_role("button", name="Send to member").click()
        expect(conversation).to_contain_text("When did you start at the council?")
        expect(page.get_by_label("Message")).to_have_value("")

        # The member's webchat receives both staff messages, then the member answers.
        waiting = channel.get(f"/conversations/{CONVERSATION}/staff-messages").json()["messages"]
        assert [m["text"] for m in waiting][-1].endswith("When did you start at the council?")
        channel.post(f"/conversations/{CONVERSATION}/staff-messages/delivered",
                     json={"message_ids": [m["id"] for m in waiting]})
        assert channel.get(f"/conversations/{CONVERSATION}/handoff").json()["paused"] is True
        channel.post(f"/conversations/{CONVERSATION}/member-messages",
                     json={"text": "On the 1st of this month"})
        expect(conversation).to_contain_text("On the 1st of this month", timeout=10_000)
        assert page.evaluate("window.noReload") is True
        page.screenshot(path=str(artifacts_dir / "console-case.png"), full_page=True)

        learned = "Started at the council on the 1st"
        page.get_by_label("What the assistant should know").fill(learned)
        page.get_by_role("button", name="Hand back to the assistant").click()
        expect(page.locator(".notice")).to_contain_text("Handed back to the assistant")
        handoff = channel.get(f"/conversations/{CONVERSATION}/handoff").json()
        assert handoff["state"] == "handed_back"
        assert handoff["handback"]["note"] == learned
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{base}/console/sign-in")

        _sign_in(page, base, "dana.data")
        page.get_by_role("link", name="Approvals").click()
        held = page.locator(f"#change-{refs['change']}")
        expect(held).to_contain_text("running ballot")
        held.get_by_role("button", name="Approve").click()
        expect(page.locator(".notice")).to_contain_text(f"Change {refs['change']} is applied")
        expect(page.locator(f"#change-{refs['change']}")).to_have_count(0)

        page.get_by_role("link", name="Dashboard").click()
        expect(page.locator("#fig-conversations")).to_have_text("6")
        expect(page.locator("svg.chart")).to_have_count(5)
        page.screenshot(path=str(artifacts_dir / "console-dashboard.png"), full_page=True)
        browser.close()
    channel.close()

    assert problems == [], problems
    engine = make_engine(url)
    with Session(engine) as db:
        change = db.query(ChangeRequest).filter_by(reference=refs["change"]).one()
        assert change.status == ChangeStatus.applied
    engine.dispose()
    for name in ("console-queue.png", "console-case.png", "console-dashboard.png"):
        assert (artifacts_dir / name).stat().st_size > 10_000
