"""Employment changes: register names only as typed, and held for review when they move ballots."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.ballots.models import Ballot
from api.changes.models import ChangeRequest
from api.config import Settings
from api.employers.models import Employer
from api.members.models import EmploymentPeriod, Member, PaymentMethod
from api.staff.models import Role
from api.timekeeping import today
from tests.api import factories
from tests.api.changes.conftest import Employers
from tests.api.conftest import member_headers, staff_headers


def _reloaded(db: Session, member: Member) -> Member:
    db.expire_all()
    found = db.get(Member, member.id)
    assert found is not None
    return found


def _move(client: TestClient, member: Member, **body: object) -> dict:
    response = client.put(f"/api/v1/members/{member.membership_number}/employment", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _periods(db: Session, member: Member) -> list[tuple[int | None, date]]:
    return [
        (p.employer_id, p.effective_from)
        for p in db.scalars(
            select(EmploymentPeriod)
            .where(EmploymentPeriod.member_id == member.id)
            .order_by(EmploymentPeriod.id)
        )
    ]


def test_a_move_between_employers_in_no_ballot_applies_at_once(
    service_client: TestClient, db: Session, employers: Employers, running_ballot: Ballot
) -> None:
    member = factories.member(db, employer=employers.council)
    started = today() - timedelta(days=7)

    outcome = _move(
        service_client,
        member,
        employer="Yorkshire Water",
        workplace="Head Office",
        job_title="Analyst",
        effective_from=started.isoformat(),
    )

    assert outcome["status"] == "applied"
    assert (outcome["member"]["employer"], outcome["member"]["workplace"]) == (
        "Yorkshire Water",
        "Head Office",
    )
    assert outcome["member"]["job_title"] == "Analyst"
    assert outcome["member"]["grade"] == "Band 5"  # not given, so kept
    stored = _reloaded(db, member)
    assert stored.employer_id == employers.water.id
    assert _periods(db, member)[-1] == (employers.water.id, started)


def test_moving_out_of_a_running_ballot_waits_for_review(
    service_client: TestClient, db: Session, employers: Employers, running_ballot: Ballot
) -> None:
    member = factories.member(db, employer=employers.nhs)

    outcome = _move(service_client, member, employer="Leeds City Council", workplace="Civic Hall")

    assert outcome["status"] == "pending_review"
    assert running_ballot.title in outcome["message"]
    assert outcome["member"]["employer"] == "Northshire NHS Trust"
    stored = _reloaded(db, member)
    assert (stored.employer_id, stored.version) == (employers.nhs.id, 1)
    assert len(_periods(db, member)) == 1
    change = db.scalar(select(ChangeRequest).where(ChangeRequest.reference == outcome["reference"]))
    assert change is not None and running_ballot.ballot_code in (change.review_reason or "")


def test_moving_out_and_back_again_is_reviewed_both_ways(
    app_client: TestClient,
    service_client: TestClient,
    db: Session,
    settings: Settings,
    employers: Employers,
    running_ballot: Ballot,
) -> None:
    member = factories.member(db, employer=employers.nhs)
    reviewer = factories.staff(db, "sam.data", Role.data_team)
    out = _move(service_client, member, employer="Leeds City Council", workplace="Civic Hall")
    approved = app_client.post(
        f"/api/v1/change-requests/{out['reference']}/decision",
        json={"decision": "approve"},
        headers=staff_headers(settings, reviewer),
    )
    assert approved.json()["member"]["employer"] == "Leeds City Council"

    back = _move(
        service_client, member, employer="Northshire NHS Trust", workplace="General Hospital"
    )

    assert back["status"] == "pending_review"
    assert _reloaded(db, member).employer_id == employers.council.id


def test_moving_into_a_closed_ballots_employer_applies_at_once(
    service_client: TestClient, db: Session, employers: Employers
) -> None:
    factories.ballot(
        db,
        employers=[employers.nhs],
        register_date=today() - timedelta(days=90),
        opens_on=today() - timedelta(days=60),
        closes_on=today() - timedelta(days=1),
    )
    member = factories.member(db, employer=employers.council)

    outcome = _move(
        service_client, member, employer="Northshire NHS Trust", workplace="General Hospital"
    )

    assert outcome["status"] == "applied"
    assert _reloaded(db, member).employer_id == employers.nhs.id


def test_a_new_workplace_at_the_same_employer_applies_during_a_ballot(
    service_client: TestClient, db: Session, employers: Employers, running_ballot: Ballot
) -> None:
    member = factories.member(db, employer=employers.nhs)

    outcome = _move(
        service_client, member, employer="northshire nhs trust", workplace="st james hospital"
    )

    assert outcome["status"] == "applied"
    assert outcome["member"]["workplace"] == "St James's Hospital"
    assert len(_periods(db, member)) == 2


def test_leaving_payroll_check_off_says_a_new_way_to_pay_is_needed(
    service_client: TestClient, db: Session, employers: Employers
) -> None:
    on_payroll = factories.member(
        db, employer=employers.council, payment_method=PaymentMethod.payroll
    )
    on_dd = factories.member(db, employer=employers.council)

    payroll_outcome = _move(
        service_client, on_payroll, employer="Yorkshire Water", workplace="Head Office"
    )
    dd_outcome = _move(service_client, on_dd, employer="Yorkshire Water", workplace="Head Office")

    assert "check-off" in payroll_outcome["message"]
    assert "new way to pay" in payroll_outcome["message"]
    assert "check-off" not in dd_outcome["message"]


def test_a_close_name_is_offered_back_never_substituted(
    service_client: TestClient, db: Session, employers: Employers
) -> None:
    member = factories.member(db, employer=employers.council)
    path = f"/api/v1/members/{member.membership_number}/employment"

    misspelt = service_client.put(
        path, json={"employer": "Northshire NHS", "workplace": "General Hospital"}
    )
    unknown_place = service_client.put(
        path, json={"employer": "Northshire NHS Trust", "workplace": "St Jams Hosp"}
    )

    assert (misspelt.status_code, misspelt.json()["field"]) == (422, "employer")
    assert "Northshire NHS Trust" in misspelt.json()["detail"]
    assert (unknown_place.status_code, unknown_place.json()["field"]) == (422, "workplace")
    assert "St James's Hospital" in unknown_place.json()["detail"]
    assert _reloaded(db, member).employer_id == employers.council.id
    assert db.scalar(select(func.count()).select_from(Employer)) == 3


def test_bad_employment_values_are_refused_naming_the_field(
    service_client: TestClient, db: Session, employers: Employers
) -> None:
    member = factories.member(db, employer=employers.council)
    path = f"/api/v1/members/{member.membership_number}/employment"
    valid = {"employer": "Yorkshire Water", "workplace": "Head Office"}

    cases = {
        "job_title": {**valid, "job_title": "x" * 101},
        "employer": {**valid, "employer": "x" * 201},
        "effective_from": {**valid, "effective_from": (today() + timedelta(days=800)).isoformat()},
    }
    for field, body in cases.items():
        response = service_client.put(path, json=body)
        assert (response.status_code, response.json()["field"]) == (422, field), field
    before_joining = service_client.put(path, json={**valid, "effective_from": "2001-01-01"})
    assert before_joining.json()["field"] == "effective_from"
    assert db.scalars(select(ChangeRequest)).all() == []


def test_a_stale_version_is_refused(
    service_client: TestClient, db: Session, employers: Employers
) -> None:
    member = factories.member(db, employer=employers.council)
    service_client.put(
        f"/api/v1/members/{member.membership_number}/address",
        json={"address_line1": "2 Low Road", "town": "Leeds", "postcode": "LS2 9JT"},
    )

    response = service_client.put(
        f"/api/v1/members/{member.membership_number}/employment",
        json={"employer": "Yorkshire Water", "workplace": "Head Office", "version": 1},
    )

    assert response.status_code == 409
    assert _reloaded(db, member).employer_id == employers.council.id


def test_a_member_cannot_change_another_members_employment(
    app_client: TestClient, db: Session, settings: Settings, employers: Employers
) -> None:
    me = factories.member(db, employer=employers.council)
    someone_else = factories.member(db, employer=employers.council)

    response = app_client.put(
        f"/api/v1/members/{someone_else.membership_number}/employment",
        json={"employer": "Yorkshire Water", "workplace": "Head Office"},
        headers=member_headers(settings, me),
    )

    assert response.status_code == 404
    assert _reloaded(db, someone_else).employer_id == employers.council.id


def test_a_member_changes_their_own_employment(
    app_client: TestClient, db: Session, settings: Settings, employers: Employers
) -> None:
    member = factories.member(db, employer=employers.council)

    response = app_client.put(
        f"/api/v1/members/{member.membership_number}/employment",
        json={"employer": "Yorkshire Water", "workplace": "Head Office"},
        headers=member_headers(settings, member),
    )

    assert response.status_code == 200
    assert response.json()["member"]["employer"] == "Yorkshire Water"
