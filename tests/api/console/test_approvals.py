"""Approvals in the console: through the changes and refunds services, never around them."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.changes import applying as changes
from api.changes.models import ChangeRequest, ChangeStatus
from api.changes.schemas import PersonalDetailsChange
from api.config import Settings
from api.members.models import Member
from api.outbox.models import OutboundEmail
from api.payments import service as payments
from api.payments.models import RefundRequest, RefundStatus
from api.security import Caller
from api.staff.models import StaffUser
from tests.api import factories
from tests.api.console.conftest import csrf_token, open_case, pending_employment_change, sign_in


def _status(db: Session, change: ChangeRequest) -> ChangeStatus:
    db.expire_all()
    found = db.get(ChangeRequest, change.id)
    assert found is not None
    return found.status


def test_the_data_team_approves_a_held_employment_change_and_the_member_is_told(
    console: TestClient, db: Session, data_user: StaffUser
) -> None:
    change = pending_employment_change(db)
    sign_in(console, "dana.data")
    page = console.get("/console/approvals").text
    assert change.reference in page and "Moves the member into or out of a running ballot" in page

    response = console.post(
        f"/console/change-requests/{change.reference}/decision",
        data={"decision": "approve", "csrf_token": csrf_token(console, "/console/approvals")},
    )

    assert response.status_code == 303
    assert "The member has been told" in console.get(response.headers["location"]).text
    assert _status(db, change) == ChangeStatus.applied
    member = db.get(Member, change.member_id)
    assert member.employer.name == "Leeds City Council"
    audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "change_request_approved"))
    assert audit.actor == "staff:dana.data" and audit.channel == "console"
    [told] = db.scalars(select(OutboundEmail).where(OutboundEmail.to_address == member.email))
    assert told.subject == f"Your request {change.reference} is approved"
    assert "your employer and workplace" in told.body_text


def test_rejecting_needs_a_reason_which_the_member_is_given(
    console: TestClient, db: Session, data_user: StaffUser
) -> None:
    change = pending_employment_change(db)
    sign_in(console, "dana.data")
    token = csrf_token(console, "/console/approvals")
    url = f"/console/change-requests/{change.reference}/decision"

    refused = console.post(url, data={"decision": "reject", "csrf_token": token})
    assert "Say why the change is rejected" in console.get(refused.headers["location"]).text
    assert _status(db, change) == ChangeStatus.pending_review

    console.post(url, data={"decision": "reject", "reason": "Payroll shows you still at the "
                            "Trust <until March>", "csrf_token": token})

    assert _status(db, change) == ChangeStatus.rejected
    [told] = db.scalars(select(OutboundEmail))
    assert told.subject == f"About your request {change.reference}"
    assert "Payroll shows you still at the Trust <until March>" in told.body_text
    assert "&lt;until March&gt;" in told.body_html


def test_the_requester_can_never_approve_their_own_change(
    console: TestClient, db: Session, data_user: StaffUser
) -> None:
    member = factories.member(db)
    change = changes.request_personal_details_change(
        db_session=db, member=member, channel="console",
        caller=Caller(kind="staff", staff_id=data_user.id, username=data_user.username,
                      role=data_user.role.value),
        details=PersonalDetailsChange(last_name="Jones"),
    ).change
    sign_in(console, "dana.data")

    response = console.post(
        f"/console/change-requests/{change.reference}/decision",
        data={"decision": "approve", "csrf_token": csrf_token(console, "/console/approvals")},
    )

    assert "maker-checker" in console.get(response.headers["location"]).text
    assert _status(db, change) == ChangeStatus.pending_review
    assert db.scalars(select(OutboundEmail)).all() == []


def test_an_agent_cannot_decide_even_by_posting_the_form(
    console: TestClient, db: Session, agent: StaffUser
) -> None:
    change = pending_employment_change(db)
    sign_in(console, "alex.agent")

    response = console.post(
        f"/console/change-requests/{change.reference}/decision",
        data={"decision": "approve", "csrf_token": csrf_token(console)},
    )

    assert "error=" in response.headers["location"]
    assert _status(db, change) == ChangeStatus.pending_review


def test_held_changes_can_be_decided_from_the_case_page(
    console: TestClient, db: Session, settings: Settings, data_user: StaffUser
) -> None:
    change = pending_employment_change(db)
    case = open_case(db, settings, member_id=change.member_id, intent="change_employer")
    sign_in(console, "dana.data")
    page = console.get(f"/console/cases/{case.reference}").text
    back_to = re.search(r'name="back_to" value="([^"]+)"', page).group(1)

    response = console.post(
        f"/console/change-requests/{change.reference}/decision",
        data={"decision": "approve", "back_to": back_to,
              "csrf_token": csrf_token(console, f"/console/cases/{case.reference}")},
    )

    assert response.headers["location"].startswith(f"/console/cases/{case.reference}?notice=")
    assert _status(db, change) == ChangeStatus.applied
    # Only ever back to a console page.
    other = pending_employment_change(db, member=factories.member(db))
    away = console.post(
        f"/console/change-requests/{other.reference}/decision",
        data={"decision": "approve", "back_to": "//evil.example/",
              "csrf_token": csrf_token(console, "/console/approvals")},
    )
    assert away.headers["location"].startswith("/console/approvals?")


def test_refunds_are_decided_with_maker_checker_too(
    console: TestClient, db: Session, data_user: StaffUser
) -> None:
    member = factories.member(db, email="sam@example.org")
    staff_caller = Caller(kind="staff", staff_id=data_user.id, username=data_user.username,
                          role=data_user.role.value)
    own = payments.request_refund(
        db_session=db, member=member, collection_due_on=None, amount=Decimal("12.00"),
        reason="Charged twice in May", caller=staff_caller, channel="console",
    )
    theirs = payments.request_refund(
        db_session=db, member=member, collection_due_on=None, amount=Decimal("24.50"),
        reason="Paid after leaving", caller=Caller(kind="service"), channel="webchat",
    )
    sign_in(console, "dana.data")
    token = csrf_token(console, "/console/approvals")

    mine = console.post(f"/console/refund-requests/{own.reference}/decision",
                        data={"decision": "approve", "csrf_token": token})
    console.post(f"/console/refund-requests/{theirs.reference}/decision",
                 data={"decision": "approve", "csrf_token": token})

    assert "someone else must decide" in console.get(mine.headers["location"]).text
    db.expire_all()
    assert db.get(RefundRequest, own.id).status == RefundStatus.pending_review
    assert db.get(RefundRequest, theirs.id).status == RefundStatus.approved
    [told] = db.scalars(select(OutboundEmail).where(OutboundEmail.to_address == "sam@example.org"))
    assert theirs.reference in told.body_text
