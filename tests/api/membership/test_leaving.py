"""A member reads their membership, resigns, renews and rejoins."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.changes.models import ChangeRequest, ChangeStatus, IdentityLevel
from api.config import Settings
from api.members.models import Frequency, PaymentMethod, Status
from api.payments.models import CollectionStatus, MandateStatus
from api.timekeeping import today
from tests.api import factories
from tests.api.conftest import member_headers
from tests.api.membership.conftest import fresh, status_history

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
    member = fresh(db, m)
    assert member.status == Status.resigned and member.left_on == on
    assert status_history(db, m)[-1] == (Status.resigned, on)
    db.refresh(dd)
    assert dd.status == MandateStatus.cancelled and dd.cancelled_on == today()
    change = db.scalar(select(ChangeRequest).where(ChangeRequest.reference == body["reference"]))
    assert change is not None
    assert change.field == "status" and change.status == ChangeStatus.applied
    assert change.identity_level == IdentityLevel.identity_checked
    assert change.channel == "webchat"
    assert json.loads(change.new_value or "")["reason"] == "Retiring abroad"


def test_resigning_defaults_to_today(client: TestClient, db: Session, settings: Settings) -> None:
    m = factories.member(db, payment_method=PaymentMethod.payroll)

    response = client.post(f"/api/v1/members/{m.membership_number}/membership/resign",
                           json={}, headers=member_headers(settings, m, identity_level="signed_in"))

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
    assert fresh(db, other).status == Status.active


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
    assert fresh(db, m).status == Status.active


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
    assert fresh(db, m).renewal_date == date(2027, 4, 1)


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
    assert fresh(db, m).status == Status.lapsed

    m.arrears_brought_forward = Decimal("0")
    failed.settled_on = today()
    db.commit()
    response = client.post(f"/api/v1/members/{m.membership_number}/membership/rejoin",
                           headers=headers)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "active"
    assert "set up a way to pay" in response.json()["message"]
    member = fresh(db, m)
    assert member.status == Status.active and member.left_on is None
    assert status_history(db, m)[-1] == (Status.active, today())


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
    assert fresh(db, other).status == Status.resigned
