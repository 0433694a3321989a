"""The review queue and reviewers' decisions: maker-checker, one decision per change."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.ballots.models import Ballot
from api.changes import reviewing
from api.changes.models import ChangeRequest, ChangeStatus
from api.config import Settings
from api.errors import InvalidValue
from api.members.models import EmploymentPeriod, Member
from api.security import Caller
from api.staff.models import Role, StaffUser
from tests.api import factories
from tests.api.changes.conftest import Employers
from tests.api.conftest import member_headers, staff_headers


def _reloaded(db: Session, member: Member) -> Member:
    db.expire_all()
    found = db.get(Member, member.id)
    assert found is not None
    return found


def _request_surname(
    client: TestClient, member: Member, headers: dict[str, str] | None = None
) -> str:
    response = client.post(
        f"/api/v1/members/{member.membership_number}/personal-details",
        json={"last_name": "Okafor"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["reference"])


def _decide(
    client: TestClient, settings: Settings, reviewer: StaffUser, reference: str, **body: object
):
    return client.post(
        f"/api/v1/change-requests/{reference}/decision",
        json=body,
        headers=staff_headers(settings, reviewer),
    )


def test_staff_see_the_queue_oldest_first_with_whose_record_it_is(
    service_client: TestClient, db: Session, settings: Settings
) -> None:
    first_member = factories.member(db, first_name="Ann", last_name="Lee")
    second_member = factories.member(db)
    first = _request_surname(service_client, first_member)
    second = _request_surname(service_client, second_member)
    service_client.put(
        f"/api/v1/members/{first_member.membership_number}/contact", json={"phone": "07700900999"}
    )
    # Reviewers only, as in the console (agents are refused: tests/api/staff/test_standing.py).
    lead = factories.staff(db, "jo.lead", Role.team_lead)

    response = service_client.get("/api/v1/change-requests", headers=staff_headers(settings, lead))

    assert response.status_code == 200
    queue = response.json()
    assert [c["reference"] for c in queue] == [first, second]
    assert queue[0]["membership_number"] == first_member.membership_number
    assert queue[0]["member_name"] == "Ann Lee"
    applied = service_client.get(
        "/api/v1/change-requests",
        params={"status": "applied"},
        headers=staff_headers(settings, lead),
    ).json()
    assert [c["field"] for c in applied] == ["contact"]


def test_the_queue_is_for_staff_only(
    app_client: TestClient, service_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)

    assert (
        app_client.get(
            "/api/v1/change-requests", headers=member_headers(settings, member)
        ).status_code
        == 403
    )
    assert (
        app_client.get("/api/v1/change-requests", headers={"Authorization": ""}).status_code == 401
    )
    assert service_client.get("/api/v1/change-requests").status_code == 403


def test_approving_a_surname_applies_it_and_is_audited(
    service_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db, last_name="Morgan")
    reviewer = factories.staff(db, "sam.data", Role.data_team)
    reference = _request_surname(service_client, member)

    response = _decide(service_client, settings, reviewer, reference, decision="approve")

    assert response.status_code == 200
    assert response.json()["status"] == "applied"
    assert response.json()["member"]["last_name"] == "Okafor"
    assert _reloaded(db, member).last_name == "Okafor"
    change = db.scalar(select(ChangeRequest).where(ChangeRequest.reference == reference))
    assert change is not None and change.decided_by_staff_id == reviewer.id
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.member_id == member.id)).all()
    assert "change_request_approved" in actions


def test_approving_a_move_out_of_a_ballot_applies_every_field(
    service_client: TestClient,
    db: Session,
    settings: Settings,
    employers: Employers,
    running_ballot: Ballot,
) -> None:
    member = factories.member(db, employer=employers.nhs)
    lead = factories.staff(db, "kim.lead", Role.team_lead)
    pending = service_client.put(
        f"/api/v1/members/{member.membership_number}/employment",
        json={
            "employer": "Leeds City Council",
            "workplace": "Merrion House",
            "job_title": "Planner",
            "grade": "SO1",
            "effective_from": "2026-01-05",
        },
    ).json()
    assert pending["status"] == "pending_review"

    response = _decide(service_client, settings, lead, pending["reference"], decision="approve")

    assert response.status_code == 200
    stored = _reloaded(db, member)
    assert (stored.employer_id, stored.job_title, stored.grade) == (
        employers.council.id,
        "Planner",
        "SO1",
    )
    assert stored.workplace is not None and stored.workplace.name == "Merrion House"
    period = db.scalars(
        select(EmploymentPeriod)
        .where(EmploymentPeriod.member_id == member.id)
        .order_by(EmploymentPeriod.id.desc())
    ).first()
    assert period is not None and period.effective_from.isoformat() == "2026-01-05"


def test_rejecting_needs_a_reason_and_leaves_the_record_alone(
    service_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db, last_name="Morgan")
    reviewer = factories.staff(db, "sam.data", Role.data_team)
    reference = _request_surname(service_client, member)

    no_reason = _decide(service_client, settings, reviewer, reference, decision="reject")
    rejected = _decide(
        service_client,
        settings,
        reviewer,
        reference,
        decision="reject",
        reason="Marriage certificate not received.",
    )

    assert (no_reason.status_code, no_reason.json()["field"]) == (422, "reason")
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert _reloaded(db, member).last_name == "Morgan"


def test_the_requester_can_never_approve_their_own_change(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db, last_name="Morgan")
    maker = factories.staff(db, "sam.data", Role.data_team)
    checker = factories.staff(db, "lee.data", Role.data_team)
    reference = _request_surname(app_client, member, headers=staff_headers(settings, maker))

    own = _decide(app_client, settings, maker, reference, decision="approve")

    assert own.status_code == 403
    assert "someone else" in own.json()["detail"]
    assert _reloaded(db, member).last_name == "Morgan"
    assert _decide(app_client, settings, checker, reference, decision="approve").status_code == 200


def test_only_reviewer_roles_decide(
    app_client: TestClient, service_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)
    agent = factories.staff(db, "jo.agent", Role.agent)
    reference = _request_surname(service_client, member)
    path = f"/api/v1/change-requests/{reference}/decision"

    assert _decide(app_client, settings, agent, reference, decision="approve").status_code == 403
    assert (
        app_client.post(
            path, json={"decision": "approve"}, headers=member_headers(settings, member)
        ).status_code
        == 403
    )
    assert (
        app_client.post(
            path, json={"decision": "approve"}, headers={"Authorization": ""}
        ).status_code
        == 401
    )
    assert service_client.post(path, json={"decision": "approve"}).status_code == 403
    assert _reloaded(db, member).last_name == "Morgan"


def test_a_decided_change_cannot_be_decided_again(
    service_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)
    reviewer = factories.staff(db, "sam.data", Role.admin)
    reference = _request_surname(service_client, member)
    assert (
        _decide(service_client, settings, reviewer, reference, decision="approve").status_code
        == 200
    )

    again = _decide(service_client, settings, reviewer, reference, decision="reject", reason="Oops")

    assert again.status_code == 409
    assert _reloaded(db, member).last_name == "Okafor"


def test_an_unknown_reference_is_not_found(
    service_client: TestClient, db: Session, settings: Settings
) -> None:
    reviewer = factories.staff(db, "sam.data", Role.data_team)

    response = _decide(service_client, settings, reviewer, "CR-NOSUCH", decision="approve")

    assert response.status_code == 404


def test_a_request_overtaken_by_another_change_is_not_approved(
    service_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db, last_name="Morgan")
    reviewer = factories.staff(db, "sam.data", Role.data_team)
    first = _request_surname(service_client, member)
    second = service_client.post(
        f"/api/v1/members/{member.membership_number}/personal-details", json={"last_name": "Smith"}
    ).json()["reference"]
    assert (
        _decide(service_client, settings, reviewer, second, decision="approve").status_code == 200
    )

    stale = _decide(service_client, settings, reviewer, first, decision="approve")

    assert stale.status_code == 409
    assert _reloaded(db, member).last_name == "Smith"
    change = db.scalar(select(ChangeRequest).where(ChangeRequest.reference == first))
    assert change is not None and change.status == ChangeStatus.pending_review


def test_the_service_refuses_a_reason_with_control_characters_whatever_the_route(
    service_client: TestClient, db: Session, settings: Settings
) -> None:
    # The console's form passes the reason to the service as typed; the service cleans it.
    member = factories.member(db, last_name="Morgan")
    reviewer = factories.staff(db, "sam.data", Role.data_team)
    reference = _request_surname(service_client, member)
    caller = Caller(kind="staff", staff_id=reviewer.id, username=reviewer.username,
                    role=reviewer.role.value)

    with pytest.raises(InvalidValue, match="control characters"):
        reviewing.decide(db_session=db, reference=reference, caller=caller, channel="console",
                       decision="reject", reason="No\x07 certificate")
    db.rollback()
    assert _reloaded(db, member).last_name == "Morgan"
