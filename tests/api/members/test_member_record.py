"""Reading a member's record, and finding members by the email they wrote from."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.config import Settings
from api.payments.models import Collection, CollectionStatus
from api.staff.models import Role
from tests.api import factories
from tests.api.conftest import SERVICE_TOKEN, member_headers, staff_headers


def _collection(
    member_id: int, status: CollectionStatus, settled_on: date | None = None
) -> Collection:
    return Collection(
        member_id=member_id,
        due_on=date(2026, 1, 1),
        amount=Decimal("24.50"),
        method="direct_debit",
        status=status,
        settled_on=settled_on,
    )


def test_the_record_shows_every_contract_column_and_live_arrears(
    service_client: TestClient, db: Session
) -> None:
    member = factories.member(
        db, arrears_brought_forward=Decimal("10.00"), renewal_date=date(2027, 6, 1)
    )
    db.add_all(
        [
            _collection(member.id, CollectionStatus.failed),  # still owed
            _collection(
                member.id, CollectionStatus.failed, settled_on=date(2026, 2, 1)
            ),  # paid since
            _collection(member.id, CollectionStatus.collected),
        ]
    )
    db.commit()

    response = service_client.get(f"/api/v1/members/{member.membership_number}")

    assert response.status_code == 200
    record = response.json()
    assert record["arrears"] == "34.50"
    assert record["employer"] == "Northshire NHS Trust"
    assert record["workplace"] == "General Hospital"
    assert record["version"] == 1
    assert record["postcode"] == "LS1 4AB"
    assert record["renewal_date"] == "2027-06-01"
    contract_columns = {
        "membership_number",
        "title",
        "first_name",
        "last_name",
        "date_of_birth",
        "email",
        "phone",
        "address_line1",
        "address_line2",
        "town",
        "postcode",
        "employer",
        "workplace",
        "job_title",
        "grade",
        "category",
        "status",
        "payment_method",
        "payment_frequency",
        "subscription_amount",
        "arrears",
        "joined_on",
        "renewal_date",
        "marketing_consent",
    }
    assert contract_columns <= set(record)


def test_a_member_reads_their_own_record(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db, first_name="Priya")

    response = app_client.get(
        f"/api/v1/members/{member.membership_number}", headers=member_headers(settings, member)
    )

    assert response.status_code == 200
    assert response.json()["first_name"] == "Priya"


def test_a_member_cannot_read_another_members_record(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    me, someone_else = factories.member(db), factories.member(db)

    theirs = app_client.get(
        f"/api/v1/members/{someone_else.membership_number}", headers=member_headers(settings, me)
    )
    missing = app_client.get("/api/v1/members/9999999", headers=member_headers(settings, me))

    # Exactly what a number nobody holds gets, so the API never confirms it exists.
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


def test_staff_read_records_and_anonymous_callers_do_not(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)
    agent = factories.staff(db, "jo.agent", Role.agent)

    assert (
        app_client.get(
            f"/api/v1/members/{member.membership_number}", headers=staff_headers(settings, agent)
        ).status_code
        == 200
    )
    assert app_client.get(f"/api/v1/members/{member.membership_number}").status_code == 401


def test_staff_asking_for_a_number_nobody_holds_get_404(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    agent = factories.staff(db, "jo.agent", Role.agent)

    response = app_client.get("/api/v1/members/9999999", headers=staff_headers(settings, agent))

    assert response.status_code == 404
    assert response.json()["detail"] == "No such member."


def test_staff_find_a_sender_by_email_whatever_the_case(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    sender = factories.member(db, email="Pat.Jones@Example.org")
    factories.member(db, email="someone.else@example.org")
    staff = staff_headers(settings, factories.staff(db))

    response = app_client.get(
        "/api/v1/members", params={"email": "pat.jones@EXAMPLE.org"}, headers=staff)

    assert response.status_code == 200
    assert [m["membership_number"] for m in response.json()] == [sender.membership_number]
    # Triage needs a name to greet, not the whole record.
    assert "date_of_birth" not in response.json()[0]
    assert app_client.get(
        "/api/v1/members", params={"email": "nobody@example.org"}, headers=staff).json() == []


def test_the_email_look_up_is_not_open_to_the_service_members_or_anonymous_callers(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)

    as_member = app_client.get(
        "/api/v1/members", params={"email": member.email}, headers=member_headers(settings, member)
    )
    anonymous = app_client.get("/api/v1/members", params={"email": member.email})
    as_service = app_client.get("/api/v1/members", params={"email": member.email},
                                headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})

    assert as_member.status_code == 403
    assert anonymous.status_code == 401
    assert as_service.status_code == 403
    assert member.membership_number not in as_service.text


def test_an_overlong_email_query_is_refused_naming_the_field(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    response = app_client.get("/api/v1/members", params={"email": "a" * 250 + "@example.org"},
                              headers=staff_headers(settings, factories.staff(db)))

    assert response.status_code == 422
    assert response.json()["field"] == "query.email"
