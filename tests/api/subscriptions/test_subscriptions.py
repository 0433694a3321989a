"""Rates, what a member pays and why, and changes of circumstances."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.changes.models import ChangeRequest, ChangeStatus, IdentityLevel
from api.config import Settings
from api.errors import NotFound
from api.members.models import Category, Frequency, Member, PaymentMethod, Status
from api.subscriptions.circumstances import apply_due_category_changes
from api.subscriptions.rates import rate_for
from api.timekeeping import today
from tests.api import factories
from tests.api.conftest import member_headers, staff_headers


def _rates(db: Session) -> None:
    factories.category_info(db, Category.full, "Full", "Working full time in the sector")
    factories.category_info(db, Category.reduced, "Reduced",
                            "Part time, on parental leave, unemployed or on a career break")
    factories.category_info(db, Category.retired, "Retired", "Retired from work in the sector")
    factories.rate(db, Category.full, Frequency.monthly, "22.00", date(2023, 4, 1))
    factories.rate(db, Category.full, Frequency.monthly, "24.50", date(2024, 4, 1),
                   reason="Annual conference raised rates by 11% to fund legal support.")
    factories.rate(db, Category.full, Frequency.monthly, "26.00", today() + timedelta(days=60))
    factories.rate(db, Category.full, Frequency.annual, "280.00", date(2024, 4, 1))
    factories.rate(db, Category.reduced, Frequency.monthly, "12.25", date(2020, 1, 1))
    factories.rate(db, Category.retired, Frequency.monthly, "6.00", date(2020, 1, 1))


def test_rate_for_takes_the_latest_rate_in_force(db: Session) -> None:
    _rates(db)
    assert rate_for(db_session=db, category=Category.full, frequency=Frequency.monthly,
                    on=date(2024, 3, 31)).amount == Decimal("22.00")
    assert rate_for(db_session=db, category=Category.full, frequency=Frequency.monthly,
                    on=date(2024, 4, 1)).amount == Decimal("24.50")
    assert rate_for(db_session=db, category=Category.full, frequency=Frequency.monthly,
                    on=today() + timedelta(days=60)).amount == Decimal("26.00")
    with pytest.raises(NotFound):
        rate_for(db_session=db, category=Category.student, frequency=Frequency.monthly,
                 on=today())


def test_rates_route_lists_todays_rates_with_who_qualifies(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    _rates(db)
    alex = factories.member(db)
    response = app_client.get("/api/v1/subscriptions/rates", headers=member_headers(settings, alex))
    assert response.status_code == 200
    by_category = {c["category"]: c for c in response.json()["categories"]}
    full = by_category["full"]
    assert full["label"] == "Full" and "full time" in full["who_qualifies"]
    assert {r["frequency"]: Decimal(r["amount"]) for r in full["rates"]} == {
        "monthly": Decimal("24.50"), "annual": Decimal("280.00")}
    assert "student" not in by_category
    assert app_client.get("/api/v1/subscriptions/rates").status_code == 401


def test_subscription_explains_the_amount_and_the_last_rate_change(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    _rates(db)
    alex = factories.member(db)
    factories.mandate(db, alex, collection_day=7)
    body = app_client.get(f"/api/v1/members/{alex.membership_number}/subscription",
                          headers=member_headers(settings, alex)).json()
    assert body["category"] == "full" and body["category_label"] == "Full"
    assert body["method"] == "direct_debit" and body["frequency"] == "monthly"
    assert Decimal(body["amount"]) == Decimal("24.50")
    next_on = date.fromisoformat(body["next_collection_date"])
    assert next_on.day == 7 and today() <= next_on < today() + timedelta(days=32)
    assert "You pay £24.50 a month as a Full member" in body["explanation"]
    assert "rate for Full members" in body["explanation"]
    change = body["last_change"]
    assert change["on"] == "2024-04-01"
    assert Decimal(change["from_amount"]) == Decimal("22.00")
    assert Decimal(change["to_amount"]) == Decimal("24.50")
    assert "legal support" in change["reason"]


def test_payroll_subscription_names_the_employer(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    _rates(db)
    alex = factories.member(db, payment_method=PaymentMethod.payroll,
                            subscription_amount=Decimal("20.00"))
    body = app_client.get(f"/api/v1/members/{alex.membership_number}/subscription",
                          headers=member_headers(settings, alex)).json()
    assert body["next_collection_date"] is None
    assert body["collection_note"] == "deducted from your pay by Northshire NHS Trust"
    # An amount that doesn't match the rate is said honestly, not explained away.
    assert "is £24.50, which is different from what you pay" in body["explanation"]


def test_a_direct_debit_without_a_mandate_says_nothing_will_be_collected(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    _rates(db)
    alex = factories.member(db)
    body = app_client.get(f"/api/v1/members/{alex.membership_number}/subscription",
                          headers=member_headers(settings, alex)).json()
    assert body["next_collection_date"] is None
    assert "no active Direct Debit" in body["collection_note"]


def _report(client: TestClient, headers: dict[str, str], member: Member, **body: object):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/members/{member.membership_number}/circumstances",
                       json=body, headers=headers)


def test_retiring_today_changes_category_and_rate_at_once(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    _rates(db)
    alex = factories.member(db)
    response = _report(app_client, member_headers(settings, alex), alex,
                       circumstance="retirement", effective_from=today().isoformat())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["reference"].startswith("CR-") and body["new_category"] == "retired"
    assert Decimal(body["new_amount"]) == Decimal("6.00") and body["frequency"] == "monthly"
    assert body["applied_now"] is True and body["refund_note"] is None
    db.expire_all()
    member = db.get(Member, alex.id)
    assert member is not None and member.category == Category.retired
    assert member.subscription_amount == Decimal("6.00")
    change = db.scalar(select(ChangeRequest).where(ChangeRequest.reference == body["reference"]))
    assert change is not None and change.field == "category"
    assert change.status == ChangeStatus.applied
    assert change.identity_level == IdentityLevel.identity_checked
    assert json.loads(change.old_value or "")["category"] == "full"
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "circumstances_reported"))
    # The subscription now explains the change as the member's own.
    sub = app_client.get(f"/api/v1/members/{alex.membership_number}/subscription",
                         headers=member_headers(settings, alex)).json()
    assert sub["category"] == "retired"
    assert sub["last_change"]["reason"] == "Your category changed from Full to Retired (retiring)."
    assert Decimal(sub["last_change"]["from_amount"]) == Decimal("24.50")
    assert Decimal(sub["last_change"]["to_amount"]) == Decimal("6.00")


def test_a_backdated_change_offers_a_refund_of_the_overpayment(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    _rates(db)
    alex = factories.member(db)
    since = today() - timedelta(days=70)
    factories.collection(db, alex, due_on=since - timedelta(days=5))  # before: not overpaid
    factories.collection(db, alex, due_on=since + timedelta(days=1))
    factories.collection(db, alex, due_on=since + timedelta(days=31))
    response = _report(app_client, member_headers(settings, alex), alex,
                       circumstance="part_time", effective_from=since.isoformat())
    body = response.json()
    assert body["new_category"] == "reduced" and Decimal(body["new_amount"]) == Decimal("12.25")
    # Two collections of £24.50 at a new rate of £12.25.
    assert Decimal(body["possible_refund"]) == Decimal("24.50")
    assert "£24.50 more than your new rate" in body["refund_note"]


def test_a_future_change_waits_for_its_date_then_applies_once(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    _rates(db)
    alex = factories.member(db)
    when = today() + timedelta(days=30)
    body = _report(app_client, member_headers(settings, alex), alex,
                   circumstance="retirement", effective_from=when.isoformat()).json()
    assert body["applied_now"] is False and body["refund_note"] is None
    assert "Until then nothing changes" in body["message"]
    db.expire_all()
    assert db.get(Member, alex.id).category == Category.full  # type: ignore[union-attr]
    sub = app_client.get(f"/api/v1/members/{alex.membership_number}/subscription",
                         headers=member_headers(settings, alex)).json()
    assert sub["upcoming_change"]["on"] == when.isoformat()
    assert sub["upcoming_change"]["category"] == "retired"

    assert apply_due_category_changes(db_session=db, on=when - timedelta(days=1)) == 0
    assert apply_due_category_changes(db_session=db, on=when) == 1
    db.expire_all()
    member = db.get(Member, alex.id)
    assert member is not None and member.category == Category.retired
    assert member.subscription_amount == Decimal("6.00")
    # Run again (or after staff change the category by hand): nothing is re-applied.
    member.category = Category.full
    db.commit()
    assert apply_due_category_changes(db_session=db, on=when + timedelta(days=1)) == 0
    assert db.get(Member, alex.id).category == Category.full  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"circumstance": "winning_the_lottery", "effective_from": "2026-01-01"}, "circumstance",
         422),
        ({"circumstance": "retirement", "effective_from": "next week"}, "effective_from", 422),
        ({"circumstance": "retirement"}, "effective_from", 422),
        ({"circumstance": "retirement", "effective_from": "2001-01-01"}, "effective_from", 422),
        ({"circumstance": "retirement", "effective_from": "2099-01-01"}, "effective_from", 422),
        ({"circumstance": "retirement", "effective_from": "TODAY", "version": 99}, "version", 409),
    ],
)
def test_bad_circumstance_reports_change_nothing(
    db: Session, app_client: TestClient, settings: Settings, body: dict[str, object], field: str,
    status: int,
) -> None:
    _rates(db)
    alex = factories.member(db)
    if body.get("effective_from") == "TODAY":
        body = {**body, "effective_from": today().isoformat()}
    response = _report(app_client, member_headers(settings, alex), alex, **body)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    assert db.scalars(select(ChangeRequest)).all() == []
    db.expire_all()
    assert db.get(Member, alex.id).category == Category.full  # type: ignore[union-attr]


def test_circumstances_that_change_nothing_are_refused_clearly(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    _rates(db)
    reduced = factories.member(db, category=Category.reduced)
    already = _report(app_client, member_headers(settings, reduced), reduced,
                      circumstance="parental_leave", effective_from=today().isoformat())
    assert already.status_code == 409 and "already a Reduced member" in already.json()["detail"]
    lapsed = factories.member(db, status=Status.lapsed)
    assert _report(app_client, member_headers(settings, lapsed), lapsed,
                   circumstance="retirement",
                   effective_from=today().isoformat()).status_code == 409
    # No published student rate: a clear 404, nothing recorded.
    alex = factories.member(db)
    no_rate = _report(app_client, member_headers(settings, alex), alex,
                      circumstance="student", effective_from=today().isoformat())
    assert no_rate.status_code == 404 and "no monthly rate" in no_rate.json()["detail"]
    assert db.scalars(select(ChangeRequest)).all() == []


def test_staff_and_member_callers_are_recorded_as_such(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    _rates(db)
    alex = factories.member(db)
    sam = factories.member(db)
    lead = factories.staff(db, "jo.lead", factories.Role.team_lead)
    _report(app_client, staff_headers(settings, lead), alex, circumstance="unemployment",
            effective_from=today().isoformat())
    _report(app_client, member_headers(settings, sam, identity_level="signed_in"), sam,
            circumstance="career_break", effective_from=today().isoformat(),
            identity_level="identity_checked")
    levels = {c.member_id: (c.identity_level, c.requested_by)
              for c in db.scalars(select(ChangeRequest))}
    assert levels[alex.id] == (IdentityLevel.staff, "staff:jo.lead")
    assert levels[sam.id] == (IdentityLevel.signed_in, f"member:{sam.membership_number}")
