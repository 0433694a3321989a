"""Applications to join, and staff accepting them."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.changes.models import ChangeRequest, IdentityLevel
from api.config import Settings
from api.employers.models import Employer, Workplace
from api.members.models import Member, Status
from api.timekeeping import today
from tests.api import factories
from tests.api.conftest import member_headers, staff_headers
from tests.api.membership.conftest import fresh, status_history

# --- accept -----------------------------------------------------------------------------------


def test_staff_accept_an_application(client: TestClient, db: Session, settings: Settings) -> None:
    m = factories.member(db, status=Status.applicant, joined_on=date(2026, 1, 5))
    sam = factories.staff(db)

    response = client.post(f"/api/v1/members/{m.membership_number}/membership/accept",
                           headers=staff_headers(settings, sam))

    assert response.status_code == 200
    member = fresh(db, m)
    assert member.status == Status.active and member.joined_on == today()
    change = db.scalar(select(ChangeRequest).where(ChangeRequest.member_id == m.id))
    assert change is not None
    assert change.identity_level == IdentityLevel.staff and change.requested_by_staff_id == sam.id


def test_only_staff_accept_applications(
    service: TestClient, db: Session, settings: Settings
) -> None:
    m = factories.member(db, status=Status.applicant)
    url = f"/api/v1/members/{m.membership_number}/membership/accept"

    as_service = service.post(url)
    as_member = service.post(url, headers=member_headers(settings, m))
    service.headers.pop("Authorization")
    anonymous = service.post(url)

    assert (as_service.status_code, as_member.status_code, anonymous.status_code) == (
        403, 403, 401
    )
    assert fresh(db, m).status == Status.applicant


# --- applications -----------------------------------------------------------------------------


def _application(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "title": "Mx", "first_name": "Robin", "last_name": "Okafor",
        "date_of_birth": "1994-08-21", "email": "Robin.Okafor@Example.org",
        "phone": "+44 7700 900456", "address_line1": "22 Canal Street", "town": "Leeds",
        "postcode": "ls11 5ab", "employer": "northshire nhs trust",
        "workplace": "Riverside Clinic", "job_title": "Healthcare Assistant", "grade": "Band 3",
        "category": "full", "payment_frequency": "monthly",
    }
    body.update(overrides)
    return body


def test_an_application_creates_an_applicant_with_a_new_number(
    service: TestClient, db: Session
) -> None:
    trust = factories.employer(db)
    factories.rate(db, amount="24.50")

    response = service.post("/api/v1/applications", json=_application())

    assert response.status_code == 201, response.text
    body = response.json()
    assert len(body["membership_number"]) == 7 and body["membership_number"].isdigit()
    assert body["status"] == "applicant" and body["reference"].startswith("CR-")
    db.expire_all()
    m = db.scalar(select(Member).where(Member.membership_number == body["membership_number"]))
    assert m is not None
    assert (m.status, m.postcode, m.phone, m.email) == (
        Status.applicant, "LS11 5AB", "+447700900456", "Robin.Okafor@example.org"
    )
    assert m.subscription_amount == Decimal("24.50")
    assert m.employer_id == trust.id
    workplace = db.get(Workplace, m.workplace_id)
    assert workplace is not None and workplace.name == "Riverside Clinic"
    assert status_history(db, m) == [(Status.applicant, today())]
    assert db.scalar(select(func.count()).select_from(Employer)) == 1
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "application_received"))
    assert "Okafor" not in (event.detail or "")


def test_applying_twice_with_the_same_details_is_refused(service: TestClient, db: Session) -> None:
    assert service.post("/api/v1/applications", json=_application()).status_code == 201

    again = service.post("/api/v1/applications", json=_application(first_name="ROBIN"))

    assert again.status_code == 409
    assert db.scalar(select(func.count()).select_from(Member)) == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"postcode": "LS1"}, "postcode"),
        ({"email": "robin@"}, "email"),
        ({"phone": "12345"}, "phone"),
        ({"first_name": "R" * 101}, "first_name"),
        ({"town": "   "}, "town"),
        ({"date_of_birth": "21/08/1994"}, "date_of_birth"),
        ({"date_of_birth": (date.today() + timedelta(days=1)).isoformat()}, "date_of_birth"),
        ({"category": "platinum"}, "category"),
        ({"employer": None}, "employer"),
        ({"nickname": "Bob"}, "nickname"),
    ],
)
def test_bad_application_values_are_a_422_naming_the_field(
    service: TestClient, db: Session, overrides: dict[str, object], field: str
) -> None:
    response = service.post("/api/v1/applications", json=_application(**overrides))

    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert db.scalar(select(func.count()).select_from(Member)) == 0


def test_only_the_service_takes_applications(
    client: TestClient, db: Session, settings: Settings
) -> None:
    m = factories.member(db)

    anonymous = client.post("/api/v1/applications", json=_application())
    as_member = client.post("/api/v1/applications", json=_application(),
                            headers=member_headers(settings, m))

    assert anonymous.status_code == 401
    assert as_member.status_code == 403
    assert db.scalar(select(func.count()).select_from(Member)) == 1
