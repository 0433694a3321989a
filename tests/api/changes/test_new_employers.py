"""An employer or workplace not on the register: recorded as new, checked by the data team,
and in no ballot's constituency until then. Never refused, never swapped for the nearest name."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.ballots.service import constituency
from api.changes.models import ChangeRequest, ChangeStatus
from api.config import Settings
from api.employers.models import Employer, Workplace
from api.members.models import Member
from api.staff.models import Role
from api.timekeeping import today
from tests.api import factories
from tests.api.changes.conftest import Employers
from tests.api.conftest import staff_headers


def _employment(client: TestClient, member: Member, **body: object) -> dict:
    response = client.put(f"/api/v1/members/{member.membership_number}/employment", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _named(db: Session, name: str) -> Employer:
    db.expire_all()
    found = db.scalar(select(Employer).where(Employer.name == name))
    assert found is not None
    return found


def test_an_employer_not_on_the_register_is_recorded_for_review(
    service_client: TestClient, db: Session, employers: Employers
) -> None:
    member = factories.member(db, employer=employers.council)

    outcome = _employment(service_client, member, employer="tesco stores", workplace="store 5")

    assert outcome["status"] == "pending_review"
    assert "isn't on our list yet" in outcome["message"]
    assert outcome["member"]["employer"] == "Leeds City Council"
    tesco = _named(db, "tesco stores")
    assert tesco.needs_review
    [store] = db.scalars(select(Workplace).where(Workplace.employer_id == tesco.id))
    assert store.name == "store 5" and store.needs_review
    change = db.scalar(select(ChangeRequest).where(ChangeRequest.reference == outcome["reference"]))
    assert change is not None and change.status == ChangeStatus.pending_review
    assert change.review_reason == "New employer not on the register: tesco stores"


def test_a_member_who_says_none_of_the_offered_names_gets_a_new_entry_not_the_nearest(
    service_client: TestClient, db: Session, employers: Employers
) -> None:
    member = factories.member(db, employer=employers.council)
    typed = {"employer": "Northshire NHS", "workplace": "Riverside Clinic"}

    offered = service_client.put(
        f"/api/v1/members/{member.membership_number}/employment", json=typed
    )
    outcome = _employment(service_client, member, **typed, new_employer=True)

    assert offered.status_code == 422 and "Northshire NHS Trust" in offered.json()["detail"]
    assert outcome["status"] == "pending_review"
    assert _named(db, "Northshire NHS").needs_review
    assert not _named(db, "Northshire NHS Trust").needs_review


def test_a_new_workplace_of_a_known_employer_waits_for_review_too(
    service_client: TestClient, db: Session, employers: Employers
) -> None:
    member = factories.member(db, employer=employers.council)

    outcome = _employment(
        service_client, member, employer="yorkshire water", workplace="Esholt Works"
    )

    assert outcome["status"] == "pending_review"
    assert "Esholt Works" in outcome["message"]
    place = db.scalar(select(Workplace).where(Workplace.name == "Esholt Works"))
    assert place is not None and place.employer_id == employers.water.id and place.needs_review


def test_a_new_employer_puts_no_one_in_a_ballot_until_the_data_team_approves_it(
    app_client: TestClient, service_client: TestClient, db: Session, settings: Settings,
    employers: Employers,
) -> None:
    member = factories.member(db, employer=employers.council)
    outcome = _employment(service_client, member, employer="Acme Care Ltd", workplace="Depot")
    acme = _named(db, "Acme Care Ltd")
    # A ballot set up naming the new employer before anyone checked it.
    ballot = factories.ballot(
        db, employers=[acme], ballot_code="IA-ACME", register_date=today() + timedelta(days=2),
        opens_on=today() + timedelta(days=3), closes_on=today() + timedelta(days=30),
    )
    colleague = factories.member(db, employer=acme)

    before = constituency(db_session=db, ballot=ballot)
    approved = app_client.post(
        f"/api/v1/change-requests/{outcome['reference']}/decision",
        json={"decision": "approve"},
        headers=staff_headers(settings, factories.staff(db, "sam.data", Role.data_team)),
    )
    db.expire_all()
    after = constituency(db_session=db, ballot=ballot)

    assert before == []
    assert approved.status_code == 200, approved.text
    assert approved.json()["member"]["employer"] == "Acme Care Ltd"
    assert not _named(db, "Acme Care Ltd").needs_review
    assert {v.member.membership_number for v in after} == {
        member.membership_number, colleague.membership_number
    }
