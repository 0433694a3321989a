"""Signing in to the console: the session cookie, CSRF, lock-out and signing out."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.cases.models import Case
from api.config import Settings
from api.staff.models import StaffSession, StaffUser
from api.staff.service import MAX_SIGN_IN_FAILURES
from tests.api import factories
from tests.api.conftest import staff_headers
from tests.api.console.conftest import csrf_token, open_case, sign_in


def test_signing_in_sets_a_secure_http_only_session_cookie(
    console: TestClient, agent: StaffUser, db: Session
) -> None:
    response = sign_in(console, "alex.agent")

    assert response.status_code == 303
    assert response.headers["location"] == "/console/queue"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("memberdesk_console=")
    )
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/console"):
        assert attribute in cookie
    page = console.get("/console/queue")
    assert page.status_code == 200
    assert "Alex Agent" in page.text and "Agent" in page.text
    # Only a hash of the cookie's token is stored.
    token = console.cookies.get("memberdesk_console")
    stored = db.scalars(select(StaffSession.token_hash)).all()
    assert token and token not in stored and len(stored) == 1
    assert "no-store" in page.headers["cache-control"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_a_wrong_password_gets_one_generic_answer(console: TestClient, agent: StaffUser) -> None:
    wrong = sign_in(console, "alex.agent", "not the password at all")
    unknown = sign_in(console, "nobody.here", "not the password at all")

    assert wrong.status_code == unknown.status_code == 401
    assert "aren&#39;t right" in wrong.text and "aren&#39;t right" in unknown.text
    assert "memberdesk_console=" not in wrong.headers.get("set-cookie", "")
    assert console.get("/console/queue").status_code == 303


def test_repeated_failures_lock_the_account_even_with_the_right_password(
    console: TestClient, agent: StaffUser, db: Session
) -> None:
    for _ in range(MAX_SIGN_IN_FAILURES):
        assert sign_in(console, "alex.agent", "wrong password again!").status_code == 401

    locked = sign_in(console, "alex.agent")

    assert locked.status_code == 401
    assert console.get("/console/queue").status_code == 303
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.actor == "staff:alex.agent"))
    assert "staff_locked" in list(actions)


def test_the_sign_in_form_needs_its_own_token(console: TestClient, agent: StaffUser) -> None:
    # A form posted from another site has no sign-in cookie to match (login CSRF).
    response = console.post(
        "/console/sign-in",
        data={"username": "alex.agent", "password": "correct horse battery staple",
              "sign_in_token": "made-up"},
    )

    assert response.status_code == 403
    assert console.get("/console/queue").status_code == 303


def test_a_post_without_the_csrf_token_changes_nothing(
    console: TestClient, agent: StaffUser, db: Session, settings: Settings
) -> None:
    case = open_case(db, settings, member_id=factories.member(db).id)
    sign_in(console, "alex.agent")

    missing = console.post(f"/console/cases/{case.reference}/take", data={})
    forged = console.post(f"/console/cases/{case.reference}/take", data={"csrf_token": "x" * 43})

    assert missing.status_code == forged.status_code == 403
    db.expire_all()
    assert db.get(Case, case.id).taken_at is None
    # The real token works, from the form field or the header htmx sends.
    token = csrf_token(console)
    assert console.post(f"/console/cases/{case.reference}/take",
                        headers={"X-CSRF-Token": token}).status_code == 303
    db.expire_all()
    assert db.get(Case, case.id).assigned_staff_id == agent.id


def test_signing_out_ends_the_session_wherever_the_cookie_went(
    console: TestClient, agent: StaffUser
) -> None:
    sign_in(console, "alex.agent")
    stolen = console.cookies.get("memberdesk_console")
    token = csrf_token(console)

    response = console.post("/console/sign-out", data={"csrf_token": token})

    assert response.status_code == 303
    console.cookies.set("memberdesk_console", stolen, domain="testserver", path="/console")
    assert console.get("/console/queue").status_code == 303


def test_a_deactivated_account_is_signed_out(
    console: TestClient, agent: StaffUser, db: Session
) -> None:
    sign_in(console, "alex.agent")
    agent.active = False
    db.commit()

    assert console.get("/console/queue").status_code == 303


def test_a_staff_bearer_token_does_not_open_the_console(
    console: TestClient, agent: StaffUser, settings: Settings
) -> None:
    response = console.get("/console/queue", headers=staff_headers(settings, agent))

    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in"


def test_a_crafted_link_cannot_put_words_on_a_console_page(
    console: TestClient, agent: StaffUser
) -> None:
    sign_in(console, "alex.agent")

    page = console.get("/console/queue?error=Your+password+expired.+Call+0800+000+000&sig=00")

    assert "Call 0800" not in page.text
