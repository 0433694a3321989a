"""The membership lifecycle: status changes, resigning, renewing, rejoining and joining."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.changes.models import ChangeRequest, ChangeStatus, IdentityLevel
from api.config import Settings
from api.employers.models import Employer, Workplace
from api.errors import Conflict, InvalidValue
from api.members import lifecycle
from api.members.models import Frequency, Member, PaymentMethod, Status, StatusPeriod
from api.payments.models import CollectionStatus, MandateStatus
from api.timekeeping import today
from tests.api import factories
from tests.api.conftest import member_headers, staff_headers


@pytest.fixture
def client(app_client: TestClient) -> TestClient:
    return app_client


@pytest.fixture
def service(client: TestClient, settings: Settings) -> TestClient:
    client.headers["Authorization"] = f"Bearer {settings.service_token}"
    return client


def _history(db: Session, member: Member) -> list[tuple[Status, date]]:
    db.expire_all()
    rows = db.scalars(
        select(StatusPeriod).where(StatusPeriod.member_id == member.id).order_by(StatusPeriod.id)
    )
    return [(r.status, r.effective_from) for r in rows]


def _fresh(db: Session, member: Member) -> Member:
    db.expire_all()
    found = db.get(Member, member.id)
    assert found is not None
    return found


# --- change_status ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "to", "left"),
    [
        (Status.applicant, Status.active, False),
        (Status.active, Status.grace, False),
        (Status.grace, Status.lapsed, True),
        (Status.grace, Status.active, False),
        (Status.active, Status.resigned, True),
        (Status.grace, Status.resigned, True),
        (Status.active, Status.deceased, True),
        (Status.lapsed, Status.deceased, True),
    ],
)
def test_allowed_changes_are_recorded_with_a_dated_history_row(
    db: Session, start: Status, to: Status, left: bool
) -> None:
    m = factories.member(db, status=start)
    on = today() - timedelta(days=3)

    lifecycle.change_status(db_session=db, member=m, new_status=to, effective_from=on,
                            actor="staff:sam.data", channel="api")
    db.commit()

    assert _history(db, m)[-1] == (to, on)
    assert _fresh(db, m).status == to
    assert _fresh(db, m).left_on == (on if left else None)
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "status_changed"))
    assert event.member_id == m.id
    assert f"{start.value} -> {to.value}" in (event.detail or "")


def test_rejoining_clears_the_leaving_date(db: Session) -> None:
    m = factories.member(db, status=Status.lapsed, left_on=date(2025, 1, 31))

    lifecycle.change_status(db_session=db, member=m, new_status=Status.active,
                            effective_from=today(), actor="service:assistant", channel="api")
    db.commit()

    assert _fresh(db, m).left_on is None


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (Status.applicant, Status.lapsed),
        (Status.active, Status.lapsed),
        (Status.lapsed, Status.resigned),
        (Status.resigned, Status.grace),
        (Status.deceased, Status.active),
        (Status.active, Status.active),
    ],
)
def test_disallowed_changes_are_refused_and_change_nothing(
    db: Session, start: Status, to: Status
) -> None:
    m = factories.member(db, status=start)

    with pytest.raises(Conflict) as refused:
        lifecycle.change_status(db_session=db, member=m, new_status=to, effective_from=today(),
                                actor="staff:sam.data", channel="api")
    db.rollback()

    assert start.value in refused.value.message
    assert _history(db, m) == [(start, m.joined_on)]
    assert _fresh(db, m).status == start


def test_a_change_cannot_take_effect_in_the_future(db: Session) -> None:
    m = factories.member(db)

    with pytest.raises(InvalidValue) as refused:
        lifecycle.change_status(db_session=db, member=m, new_status=Status.resigned,
                                effective_from=today() + timedelta(days=1),
                                actor="staff:sam.data", channel="api")

    assert refused.value.field == "effective_date"


def test_a_change_cannot_predate_the_current_status(db: Session) -> None:
    m = factories.member(db, joined_on=date(2020, 5, 1))

    with pytest.raises(InvalidValue) as refused:
        lifecycle.change_status(db_session=db, member=m, new_status=Status.resigned,
                                effective_from=date(2020, 4, 30),
                                actor="staff:sam.data", channel="api")

    assert "2020-05-01" in refused.value.message


# --- GET membership ---------------------------------------------------------------------------


def test_a_member_reads_their_membership_in_plain_english(
    client: TestClient, db: Session, settings: Settings
) -> None:
    m = factories.member(db, status=Status.grace, renewal_date=date(2027, 6, 1))

    response = client.get(f"/api/v1/members/{m.membership_number}/membership",
                          headers=member_headers(settings, m))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "grace"
    assert "payment was missed" in body["status_explanation"]
    assert body["category"] == "full"
    assert body["joined_on"] == "2015-06-01"
    assert body["renewal_date"] == "2027-06-01"
    assert body["left_on"] is None


def test_a_member_cannot_read_another_members_membership(
    client: TestClient, db: Session, settings: Settings
) -> None:
    m = factories.member(db)
    other = factories.member(db)
    headers = member_headers(settings, m)

    response = client.get(f"/api/v1/members/{other.membership_number}/membership",
                          headers=headers)
    missing = client.get("/api/v1/members/9999999/membership", headers=headers)

    assert response.status_code == 404
    assert response.json() == missing.json()
    assert client.get(f"/api/v1/members/{m.membership_number}/membership").status_code == 401


# --- resign -----------------------------------------------------------------------------------


def test_resigning_ends_membership_and_stops_the_direct_debit(
    client: TestClient, db: Session, settings: Settings
) -> None:
    m = factories.member(db)
    dd = factories.mandate(db, m)
    on = today() - timedelta(days=2)

    response = client.post(
        f"/api/v1/members/{m.membership_number}/membership/resign",
        json={"effective_date": on.isoformat(), "reason": "Retiring abroad"},
        headers={**member_headers(settings, m), "X-Memberdesk-Channel": "webchat"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "resigned"
    assert body["direct_debits_cancelled"] == 1
    assert body["reference"].startswith("CR-") and body["reference"] in body["message"]
    member = _fresh(db, m)
    assert member.status == Status.resigned and member.left_on == on
    assert _history(db, m)[-1] == (Status.resigned, on)
    db.refresh(dd)
    assert dd.status == MandateStatus.cancelled and dd.cancelled_on == today()
    change = db.scalar(select(ChangeRequest).where(ChangeRequest.reference == body["reference"]))
    assert change is not None
    assert change.field == "status" and change.status == ChangeStatus.applied
    assert change.identity_level == IdentityLevel.identity_checked
    assert change.channel == "webchat"
    assert json.loads(change.new_value or "")["reason"] == "Retiring abroad"


def test_resigning_defaults_to_today(service: TestClient, db: Session) -> None:
    m = factories.member(db, payment_method=PaymentMethod.payroll)

    response = service.post(f"/api/v1/members/{m.membership_number}/membership/resign",
                            json={"identity_level": "signed_in"})

    assert response.status_code == 200
    assert response.json()["effective_date"] == today().isoformat()
    assert response.json()["direct_debits_cancelled"] == 0
    change = db.scalar(select(ChangeRequest).where(ChangeRequest.member_id == m.id))
    assert change is not None and change.identity_level == IdentityLevel.signed_in


def test_a_member_cannot_resign_someone_else(
    client: TestClient, db: Session, settings: Settings
) -> None:
    m = factories.member(db)
    other = factories.member(db)

    response = client.post(f"/api/v1/members/{other.membership_number}/membership/resign",
                           json={}, headers=member_headers(settings, m))

    assert response.status_code == 404
    assert _fresh(db, other).status == Status.active


def test_an_ended_membership_cannot_resign_again(service: TestClient, db: Session) -> None:
    m = factories.member(db, status=Status.lapsed)

    response = service.post(f"/api/v1/members/{m.membership_number}/membership/resign", json={})

    assert response.status_code == 409
    assert "already ended" in response.json()["detail"]


def test_a_future_resignation_date_is_a_422_naming_it(service: TestClient, db: Session) -> None:
    m = factories.member(db)
    later = (today() + timedelta(days=30)).isoformat()

    response = service.post(f"/api/v1/members/{m.membership_number}/membership/resign",
                            json={"effective_date": later})

    assert response.status_code == 422
    assert response.json()["field"] == "effective_date"
    assert _fresh(db, m).status == Status.active


def test_an_overlong_reason_is_a_422(service: TestClient, db: Session) -> None:
    m = factories.member(db)

    response = service.post(f"/api/v1/members/{m.membership_number}/membership/resign",
                            json={"reason": "x" * 401})

    assert response.status_code == 422
    assert response.json()["field"] == "reason"


# --- renew ------------------------------------------------------------------------------------


def test_monthly_payers_renew_automatically(
    client: TestClient, db: Session, settings: Settings
) -> None:
    m = factories.member(db)

    response = client.post(f"/api/v1/members/{m.membership_number}/membership/renew",
                           headers=member_headers(settings, m))

    assert response.status_code == 200
    body = response.json()
    assert body["renews_automatically"] is True
    assert "£24.50 a month" in body["message"]


def test_annual_payers_hear_their_renewal_date_amount_and_arrears(
    service: TestClient, db: Session
) -> None:
    m = factories.member(db, payment_frequency=Frequency.annual,
                         subscription_amount=Decimal("240.00"), renewal_date=date(2027, 4, 1))
    factories.collection(db, m, status=CollectionStatus.failed, amount=Decimal("10.00"))

    response = service.post(f"/api/v1/members/{m.membership_number}/membership/renew")

    body = response.json()
    assert body["renews_automatically"] is False
    assert body["renewal_date"] == "2027-04-01"
    assert "1 April 2027" in body["message"] and "£240.00" in body["message"]
    assert Decimal(body["arrears"]) == Decimal("10.00") and "£10.00" in body["message"]
    assert _fresh(db, m).renewal_date == date(2027, 4, 1)


def test_an_ended_membership_is_told_to_rejoin_not_renew(service: TestClient, db: Session) -> None:
    m = factories.member(db, status=Status.resigned)

    response = service.post(f"/api/v1/members/{m.membership_number}/membership/renew")

    assert response.status_code == 409
    assert "rejoin" in response.json()["detail"]


def test_a_member_cannot_ask_about_someone_elses_renewal(
    client: TestClient, db: Session, settings: Settings
) -> None:
    m = factories.member(db)
    other = factories.member(db)

    response = client.post(f"/api/v1/members/{other.membership_number}/membership/renew",
                           headers=member_headers(settings, m))

    assert response.status_code == 404


# --- rejoin -----------------------------------------------------------------------------------


def test_rejoining_waits_for_arrears_to_be_cleared(
    client: TestClient, db: Session, settings: Settings
) -> None:
    m = factories.member(db, status=Status.lapsed, left_on=date(2026, 3, 1),
                         arrears_brought_forward=Decimal("12.00"))
    failed = factories.collection(db, m, status=CollectionStatus.failed, failure_code="0")
    headers = member_headers(settings, m)

    refused = client.post(f"/api/v1/members/{m.membership_number}/membership/rejoin",
                          headers=headers)

    assert refused.status_code == 409
    assert "£36.50" in refused.json()["detail"]
    assert _fresh(db, m).status == Status.lapsed

    m.arrears_brought_forward = Decimal("0")
    failed.settled_on = today()
    db.commit()
    response = client.post(f"/api/v1/members/{m.membership_number}/membership/rejoin",
                           headers=headers)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "active"
    assert "set up a way to pay" in response.json()["message"]
    member = _fresh(db, m)
    assert member.status == Status.active and member.left_on is None
    assert _history(db, m)[-1] == (Status.active, today())


def test_an_active_member_does_not_need_to_rejoin(service: TestClient, db: Session) -> None:
    m = factories.member(db)

    response = service.post(f"/api/v1/members/{m.membership_number}/membership/rejoin")

    assert response.status_code == 409
    assert "already a member" in response.json()["detail"]


def test_a_member_cannot_rejoin_someone_else(
    client: TestClient, db: Session, settings: Settings
) -> None:
    m = factories.member(db)
    other = factories.member(db, status=Status.resigned)

    response = client.post(f"/api/v1/members/{other.membership_number}/membership/rejoin",
                           headers=member_headers(settings, m))

    assert response.status_code == 404
    assert _fresh(db, other).status == Status.resigned


# --- accept -----------------------------------------------------------------------------------


def test_staff_accept_an_application(client: TestClient, db: Session, settings: Settings) -> None:
    m = factories.member(db, status=Status.applicant, joined_on=date(2026, 1, 5))
    sam = factories.staff(db)

    response = client.post(f"/api/v1/members/{m.membership_number}/membership/accept",
                           headers=staff_headers(settings, sam))

    assert response.status_code == 200
    member = _fresh(db, m)
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
    assert _fresh(db, m).status == Status.applicant


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
        Status.applicant, "LS11 5AB", "07700900456", "Robin.Okafor@example.org"
    )
    assert m.subscription_amount == Decimal("24.50")
    assert m.employer_id == trust.id
    workplace = db.get(Workplace, m.workplace_id)
    assert workplace is not None and workplace.name == "Riverside Clinic"
    assert _history(db, m) == [(Status.applicant, today())]
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
