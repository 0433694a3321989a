"""Refund requests: members ask, staff with the right role decide once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.config import Settings
from api.payments.models import Collection, CollectionStatus, RefundRequest
from api.staff.models import Role
from tests.api import factories
from tests.api.conftest import member_headers, staff_headers


def _ask(client: TestClient, settings: Settings, member: factories.Member, **body: object):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/members/{member.membership_number}/refund-requests",
                       json=body, headers=member_headers(settings, member))


def test_a_refund_request_links_to_the_payment_and_waits_for_review(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db)
    paid = factories.collection(db, alex, due_on=date(2026, 2, 1))
    response = _ask(app_client, settings, alex, collection_due_on="2026-02-01",
                    reason="You took it twice this month")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["reference"].startswith("RF-") and body["status"] == "pending_review"
    assert Decimal(body["amount"]) == Decimal("24.50") and body["collection_due_on"] == "2026-02-01"
    assert "payments team" in body["message"]
    stored = db.scalar(select(RefundRequest).where(RefundRequest.reference == body["reference"]))
    assert stored is not None and stored.collection_id == paid.id and stored.channel == "api"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "refund_requested"))
    assert event is not None and event.actor == f"member:{alex.membership_number}"
    # The member can see it in their own list.
    mine = app_client.get(f"/api/v1/members/{alex.membership_number}/refund-requests",
                          headers=member_headers(settings, alex)).json()
    assert [r["reference"] for r in mine] == [body["reference"]]
    # Asking again for the same payment points at the request already under review.
    again = _ask(app_client, settings, alex, collection_due_on="2026-02-01", reason="again")
    assert again.status_code == 409 and body["reference"] in again.json()["detail"]


def test_an_amount_alone_is_recorded_without_a_payment(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db)
    response = _ask(app_client, settings, alex, amount="12.25", reason="Paid after I left")
    assert response.status_code == 201
    assert Decimal(response.json()["amount"]) == Decimal("12.25")
    assert response.json()["collection_due_on"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "no payment named"}, "collection_due_on"),
        ({"collection_due_on": "2026-05-01", "reason": "no such payment"}, "collection_due_on"),
        ({"collection_due_on": "2026-03-01", "reason": "it failed"}, "collection_due_on"),
        ({"collection_due_on": "2026-02-01", "amount": "99.00", "reason": "too much"}, "amount"),
        ({"amount": "-5", "reason": "negative"}, "amount"),
        ({"amount": "5", "reason": "x" * 1001}, "reason"),
        ({"amount": "5", "reason": "   "}, "reason"),
        ({"amount": "5"}, "reason"),
    ],
)
def test_bad_refund_requests_name_the_field_and_store_nothing(
    db: Session, app_client: TestClient, settings: Settings, body: dict[str, str], field: str
) -> None:
    alex = factories.member(db)
    factories.collection(db, alex, due_on=date(2026, 2, 1))
    factories.collection(db, alex, due_on=date(2026, 3, 1), status=CollectionStatus.failed,
                         failure_code="0")
    response = _ask(app_client, settings, alex, **body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert "x" * 100 not in response.text
    assert db.scalars(select(RefundRequest)).all() == []


def test_two_payments_on_one_day_need_the_amount(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db)
    factories.collection(db, alex, due_on=date(2026, 2, 1))
    arrears = factories.collection(db, alex, due_on=date(2026, 2, 1), amount=Decimal("49.00"),
                                   method="card", description="Arrears payment")
    unsure = _ask(app_client, settings, alex, collection_due_on="2026-02-01", reason="double")
    assert unsure.status_code == 422 and unsure.json()["field"] == "amount"
    sure = _ask(app_client, settings, alex, collection_due_on="2026-02-01", amount="49.00",
                reason="double")
    assert sure.status_code == 201
    stored = db.scalar(select(RefundRequest))
    assert stored is not None and stored.collection_id == arrears.id


def _pending(db: Session, app_client: TestClient, settings: Settings) -> tuple[str, int]:
    alex = factories.member(db)
    paid = factories.collection(db, alex, due_on=date(2026, 2, 1))
    reference = _ask(app_client, settings, alex, collection_due_on="2026-02-01",
                     reason="Charged twice").json()["reference"]
    return reference, paid.id


def test_staff_see_pending_requests_and_approving_refunds_the_payment(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    reference, collection_id = _pending(db, app_client, settings)
    lead = factories.staff(db, "jo.lead", Role.team_lead)
    queue = app_client.get("/api/v1/refund-requests?status=pending_review",
                           headers=staff_headers(settings, lead))
    assert queue.status_code == 200
    assert [r["reference"] for r in queue.json()["refund_requests"]] == [reference]
    assert queue.json()["refund_requests"][0]["collection_status"] == "collected"

    decided = app_client.post(f"/api/v1/refund-requests/{reference}/decision",
                              json={"decision": "approve"}, headers=staff_headers(settings, lead))
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"
    db.expire_all()
    assert db.get(Collection, collection_id).status == CollectionStatus.refunded  # type: ignore[union-attr]
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "refund_approved"))
    assert event is not None and event.actor == "staff:jo.lead"
    # Decided once: a second decision, either way, is a conflict.
    again = app_client.post(f"/api/v1/refund-requests/{reference}/decision",
                            json={"decision": "reject", "reason": "oops"},
                            headers=staff_headers(settings, lead))
    assert again.status_code == 409
    empty = app_client.get("/api/v1/refund-requests", headers=staff_headers(settings, lead))
    assert empty.json()["refund_requests"] == []


def test_rejecting_needs_a_reason_and_leaves_the_payment_alone(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    reference, collection_id = _pending(db, app_client, settings)
    admin = factories.staff(db, "ash.admin", Role.admin)
    url = f"/api/v1/refund-requests/{reference}/decision"
    no_reason = app_client.post(url, json={"decision": "reject"},
                                headers=staff_headers(settings, admin))
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    rejected = app_client.post(url, json={"decision": "reject", "reason": "Only one collection"},
                               headers=staff_headers(settings, admin))
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert rejected.json()["decision_reason"] == "Only one collection"
    db.expire_all()
    assert db.get(Collection, collection_id).status == CollectionStatus.collected  # type: ignore[union-attr]


def test_only_deciding_roles_decide_and_only_staff_see_the_queue(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    reference, _ = _pending(db, app_client, settings)
    agent = factories.staff(db, "al.agent", Role.agent)
    alex = factories.member(db)
    url = f"/api/v1/refund-requests/{reference}/decision"
    as_agent = app_client.post(url, json={"decision": "approve"},
                               headers=staff_headers(settings, agent))
    assert as_agent.status_code == 403
    as_member = app_client.post(url, json={"decision": "approve"},
                                headers=member_headers(settings, alex))
    assert as_member.status_code == 403
    assert app_client.post(url, json={"decision": "approve"}).status_code == 401
    assert app_client.get("/api/v1/refund-requests",
                          headers=member_headers(settings, alex)).status_code == 403
    assert app_client.get("/api/v1/refund-requests").status_code == 401
    # Agents may not read the queue either (the console hides it from them); nothing was
    # decided by the refused attempts.
    assert app_client.get("/api/v1/refund-requests",
                          headers=staff_headers(settings, agent)).status_code == 403
    lead = factories.staff(db, "jo.lead", Role.team_lead)
    queue = app_client.get("/api/v1/refund-requests", headers=staff_headers(settings, lead))
    assert [r["status"] for r in queue.json()["refund_requests"]] == ["pending_review"]


def test_an_unknown_reference_is_404(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    lead = factories.staff(db, "jo.lead", Role.team_lead)
    response = app_client.post("/api/v1/refund-requests/RF-NOPE123/decision",
                               json={"decision": "approve"}, headers=staff_headers(settings, lead))
    assert response.status_code == 404
