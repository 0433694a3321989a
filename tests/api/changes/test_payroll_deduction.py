"""Asking to pay through payroll (check-off): held for staff, and approval stops the debit."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.changes.models import ChangeRequest, ChangeStatus
from api.config import Settings
from api.members.models import Member, PaymentMethod
from api.payments.models import Mandate, MandateStatus
from api.staff.models import Role
from tests.api import factories
from tests.api.conftest import member_headers, staff_headers


def test_a_payroll_request_waits_for_review_and_changes_nothing_yet(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)
    factories.mandate(db, member)

    response = app_client.post(
        f"/api/v1/members/{member.membership_number}/payment-method",
        json={"method": "payroll"},
        headers=member_headers(settings, member),
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "pending_review"
    assert body["reference"] in body["message"]
    db.expire_all()
    assert db.get(Member, member.id).payment_method is PaymentMethod.direct_debit  # type: ignore[union-attr]
    change = db.scalar(select(ChangeRequest).where(ChangeRequest.reference == body["reference"]))
    assert change is not None and change.field == "payment_method"
    assert change.identity_level.value == "identity_checked"
    assert db.scalar(select(Mandate.status).where(Mandate.member_id == member.id)) is (
        MandateStatus.active
    )


def test_approval_switches_to_payroll_and_cancels_the_direct_debit(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)
    factories.mandate(db, member)
    reference = app_client.post(
        f"/api/v1/members/{member.membership_number}/payment-method",
        json={"method": "payroll"},
        headers=member_headers(settings, member),
    ).json()["reference"]
    reviewer = factories.staff(db, "pat.lead", Role.team_lead)

    decided = app_client.post(
        f"/api/v1/change-requests/{reference}/decision",
        json={"decision": "approve"},
        headers=staff_headers(settings, reviewer),
    )

    assert decided.status_code == 200, decided.text
    db.expire_all()
    assert db.get(Member, member.id).payment_method is PaymentMethod.payroll  # type: ignore[union-attr]
    assert db.scalar(select(Mandate.status).where(Mandate.member_id == member.id)) is (
        MandateStatus.cancelled
    )
    assert db.scalar(
        select(ChangeRequest.status).where(ChangeRequest.reference == reference)
    ) is ChangeStatus.applied
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.member_id == member.id)))
    assert {"payroll_deduction_requested", "mandate_cancelled"} <= actions


def test_a_second_request_while_one_waits_is_refused_with_the_first_reference(
    service_client: TestClient, db: Session
) -> None:
    member = factories.member(db)
    path = f"/api/v1/members/{member.membership_number}/payment-method"
    first = service_client.post(path, json={"method": "payroll"}).json()["reference"]

    again = service_client.post(path, json={"method": "payroll"})

    assert again.status_code == 409
    assert first in again.json()["detail"]


def test_members_already_on_payroll_or_without_an_employer_are_told_why_not(
    service_client: TestClient, db: Session
) -> None:
    on_payroll = factories.member(db, payment_method=PaymentMethod.payroll)
    no_employer = factories.member(
        db, membership_number="1999998", employer=factories.employer(db), workplace=None
    )
    no_employer.employer_id = None
    db.commit()

    already = service_client.post(
        f"/api/v1/members/{on_payroll.membership_number}/payment-method", json={"method": "payroll"}
    )
    missing = service_client.post(
        f"/api/v1/members/{no_employer.membership_number}/payment-method",
        json={"method": "payroll"},
    )

    assert already.status_code == 409 and "already" in already.json()["detail"]
    assert missing.status_code == 422 and "employer" in missing.json()["detail"]


def test_bank_details_and_other_methods_are_never_accepted_here(
    service_client: TestClient, db: Session
) -> None:
    member = factories.member(db)
    path = f"/api/v1/members/{member.membership_number}/payment-method"

    card = service_client.post(path, json={"method": "card"})
    bank = service_client.post(
        path, json={"method": "payroll", "sort_code": "12-34-56", "account_number": "12345678"}
    )

    assert card.status_code == 422
    assert bank.status_code == 422


def test_another_members_token_cannot_ask_for_them(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)
    other = factories.member(db)

    response = app_client.post(
        f"/api/v1/members/{member.membership_number}/payment-method",
        json={"method": "payroll"},
        headers=member_headers(settings, other),
    )

    assert response.status_code in (403, 404)
    assert db.scalar(select(ChangeRequest).where(ChangeRequest.member_id == member.id)) is None
