"""Names members give that are not on the employer register: listed for the data team, who
check them before they count for any ballot."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.ballots.service import constituency
from api.config import Settings
from api.employers.models import Employer
from api.staff.models import Role
from api.timekeeping import today
from tests.api import factories
from tests.api.conftest import staff_headers

APPLICATION = {
    "first_name": "Robin", "last_name": "Okafor", "date_of_birth": "1994-08-21",
    "address_line1": "22 Canal Street", "town": "Leeds", "postcode": "ls11 5ab",
    "employer": "Northshire NHS Trust", "workplace": "Riverside Clinic",
}


def test_an_applicants_new_employer_waits_for_the_data_team(
    app_client: TestClient, service_client: TestClient, db: Session, settings: Settings
) -> None:
    factories.employer(db, "Northshire NHS Trust", ("General Hospital",))
    data_team = staff_headers(settings, factories.staff(db, "sam.data", Role.data_team))

    applied = service_client.post(
        "/api/v1/applications", json={**APPLICATION, "employer": "Northshire Care Homes Ltd"}
    )
    waiting = app_client.get("/api/v1/employers/for-review", headers=data_team)

    assert applied.status_code == 201, applied.text
    assert waiting.json() == [
        {"name": "Northshire Care Homes Ltd", "workplaces": ["Riverside Clinic"],
         "needs_review": True, "workplaces_for_review": ["Riverside Clinic"]},
    ]


def test_a_new_workplace_of_a_known_employer_is_listed_on_its_own(
    app_client: TestClient, service_client: TestClient, db: Session, settings: Settings
) -> None:
    factories.employer(db, "Northshire NHS Trust", ("General Hospital",))
    agent = staff_headers(settings, factories.staff(db, "jo.agent", Role.agent))

    service_client.post("/api/v1/applications", json=APPLICATION)
    waiting = app_client.get("/api/v1/employers/for-review", headers=agent).json()

    assert [(e["name"], e["needs_review"], e["workplaces_for_review"]) for e in waiting] == [
        ("Northshire NHS Trust", False, ["Riverside Clinic"])
    ]
    assert service_client.get("/api/v1/employers/for-review").status_code == 403


def test_only_the_data_team_marks_a_name_checked_and_then_it_counts_for_ballots(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    acme = factories.employer(db, "Acme Care Ltd", ("Depot",))
    acme.needs_review = True
    db.commit()
    ballot = factories.ballot(
        db, employers=[acme], ballot_code="IA-ACME", register_date=today() + timedelta(days=2),
        opens_on=today() + timedelta(days=3), closes_on=today() + timedelta(days=30),
    )
    member = factories.member(db, employer=acme)
    body = {"employer": "Acme Care Ltd"}

    by_agent = app_client.post(
        "/api/v1/employers/reviewed", json=body,
        headers=staff_headers(settings, factories.staff(db, "jo.agent", Role.agent)),
    )
    before = constituency(db_session=db, ballot=ballot)
    by_data_team = app_client.post(
        "/api/v1/employers/reviewed", json=body,
        headers=staff_headers(settings, factories.staff(db, "sam.data", Role.data_team)),
    )
    db.expire_all()

    assert by_agent.status_code == 403 and before == []
    assert by_data_team.status_code == 200 and by_data_team.json()["needs_review"] is False
    assert [v.member.id for v in constituency(db_session=db, ballot=ballot)] == [member.id]
    stored = db.scalar(select(Employer).where(Employer.name == "Acme Care Ltd"))
    assert stored is not None and not stored.needs_review
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "employer_reviewed"))
    assert event.actor.endswith("sam.data")


def test_marking_a_name_that_is_not_there_is_a_404(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    headers = staff_headers(settings, factories.staff(db, "sam.data", Role.data_team))

    response = app_client.post(
        "/api/v1/employers/reviewed", json={"employer": "Nobody Ltd"}, headers=headers
    )

    assert (response.status_code, response.json()["field"]) == (404, "employer")
