"""Name and date-of-birth corrections wait for review; marketing opt-outs apply at once."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.changes.models import ChangeRequest
from api.config import Settings
from api.members.models import Member
from api.timekeeping import today
from tests.api import factories
from tests.api.conftest import member_headers


def _reloaded(db: Session, member: Member) -> Member:
    db.expire_all()
    found = db.get(Member, member.id)
    assert found is not None
    return found


def test_a_new_surname_waits_for_the_data_team(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db, last_name="Morgan")

    response = app_client.post(
        f"/api/v1/members/{member.membership_number}/personal-details",
        json={"last_name": "Okafor", "title": "Mrs"},
        headers=member_headers(settings, member),
    )

    assert response.status_code == 200
    outcome = response.json()
    assert outcome["status"] == "pending_review"
    assert outcome["reference"] in outcome["message"]
    assert outcome["member"]["last_name"] == "Morgan"
    assert _reloaded(db, member).last_name == "Morgan"
    event = db.scalar(select(AuditEvent).where(AuditEvent.member_id == member.id))
    assert event is not None and event.fields == "last_name,title"


def test_a_date_of_birth_correction_is_not_written_to_the_audit_log(
    service_client: TestClient, db: Session
) -> None:
    member = factories.member(db)

    response = service_client.post(
        f"/api/v1/members/{member.membership_number}/personal-details",
        json={"date_of_birth": "1985-04-13"},
    )

    assert response.json()["status"] == "pending_review"
    event = db.scalar(select(AuditEvent).where(AuditEvent.member_id == member.id))
    assert event is not None and event.fields == "date_of_birth"
    assert "1985" not in (event.detail or "")
    change = db.scalar(select(ChangeRequest))
    assert change is not None and "1985-04-13" in (change.new_value or "")


def test_bad_personal_details_are_refused_naming_the_field(
    service_client: TestClient, db: Session
) -> None:
    member = factories.member(db)
    path = f"/api/v1/members/{member.membership_number}/personal-details"
    cases = {
        "last_name": {"last_name": "x" * 101},
        "title": {"title": "Right Honourable Lady Lord"},
        "date_of_birth": {"date_of_birth": (today() + timedelta(days=30)).isoformat()},
        "first_name": {},
    }

    for field, body in cases.items():
        response = service_client.post(path, json=body)
        assert (response.status_code, response.json()["field"]) == (422, field), field
    not_a_date = service_client.post(path, json={"date_of_birth": "14/03/1985"})
    assert (not_a_date.status_code, not_a_date.json()["field"]) == (422, "date_of_birth")
    assert db.scalars(select(ChangeRequest)).all() == []


def test_a_member_cannot_correct_another_members_name(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    me, someone_else = factories.member(db), factories.member(db)

    response = app_client.post(
        f"/api/v1/members/{someone_else.membership_number}/personal-details",
        json={"last_name": "Mine"},
        headers=member_headers(settings, me),
    )

    assert response.status_code == 404
    assert db.scalars(select(ChangeRequest)).all() == []


def test_opting_out_of_marketing_applies_at_once(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db, marketing_consent=True)
    path = f"/api/v1/members/{member.membership_number}/marketing-opt-out"

    first = app_client.post(path, headers=member_headers(settings, member))
    again = app_client.post(path, json={}, headers=member_headers(settings, member))

    assert first.status_code == 200
    assert first.json()["status"] == "applied"
    assert first.json()["member"]["marketing_consent"] is False
    assert _reloaded(db, member).marketing_consent is False
    assert "already" in again.json()["message"]
    # Both requests are on record: an objection to marketing is worth evidencing.
    assert len(db.scalars(select(ChangeRequest)).all()) == 2


def test_a_member_cannot_opt_another_member_out(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    me, someone_else = factories.member(db), factories.member(db, marketing_consent=True)

    response = app_client.post(
        f"/api/v1/members/{someone_else.membership_number}/marketing-opt-out",
        headers=member_headers(settings, me),
    )

    assert response.status_code == 404
    assert _reloaded(db, someone_else).marketing_consent is True


def test_a_stale_opt_out_is_refused(service_client: TestClient, db: Session) -> None:
    member = factories.member(db, marketing_consent=True)

    response = service_client.post(
        f"/api/v1/members/{member.membership_number}/marketing-opt-out", json={"version": 7}
    )

    assert response.status_code == 409
    assert _reloaded(db, member).marketing_consent is True
