"""Payment history, failed collections, arrears, "what is this charge?" and the mandate."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.config import Settings
from api.payments.arrears import arrears_for
from api.payments.models import CollectionStatus, MandateStatus
from api.timekeeping import today
from tests.api import factories
from tests.api.conftest import member_headers


def test_arrears_add_brought_forward_to_unsettled_failed_collections_only(db: Session) -> None:
    alex = factories.member(db, arrears_brought_forward=Decimal("10.10"))
    other = factories.member(db)
    factories.collection(db, alex, due_on=date(2026, 1, 1), amount=Decimal("24.50"),
                         status=CollectionStatus.failed, failure_code="0")
    factories.collection(db, alex, due_on=date(2026, 2, 1), amount=Decimal("24.45"),
                         status=CollectionStatus.failed, failure_code="0")
    # Settled, collected, refunded and someone else's failures do not count.
    factories.collection(db, alex, due_on=date(2025, 12, 1), amount=Decimal("24.50"),
                         status=CollectionStatus.failed, failure_code="0",
                         settled_on=date(2025, 12, 20))
    factories.collection(db, alex, due_on=date(2026, 3, 1), amount=Decimal("24.50"))
    factories.collection(db, alex, due_on=date(2025, 11, 1), status=CollectionStatus.refunded)
    factories.collection(db, other, status=CollectionStatus.failed, failure_code="0")
    assert arrears_for(db_session=db, member=alex) == Decimal("59.05")
    assert arrears_for(db_session=db, member=other) == Decimal("24.50")


def test_history_is_newest_first_with_status_and_limit(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db)
    for month in (1, 2, 3):
        factories.collection(db, alex, due_on=date(2026, month, 1))
    factories.collection(db, alex, due_on=date(2026, 4, 1), status=CollectionStatus.failed,
                         failure_code="B")
    response = app_client.get(f"/api/v1/members/{alex.membership_number}/collections?limit=3",
                              headers=member_headers(settings, alex))
    assert response.status_code == 200
    rows = response.json()["collections"]
    assert [r["due_on"] for r in rows] == ["2026-04-01", "2026-03-01", "2026-02-01"]
    assert rows[0]["status"] == "failed" and rows[0]["reason_code"] == "B"
    assert Decimal(rows[1]["amount"]) == Decimal("24.50")
    too_many = app_client.get(f"/api/v1/members/{alex.membership_number}/collections?limit=1000",
                              headers=member_headers(settings, alex))
    assert too_many.status_code == 422 and too_many.json()["field"] == "query.limit"


def test_last_failed_explains_why_and_when_we_try_again(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db)
    day = (today() + timedelta(days=10)).day
    day = min(day, 28)
    factories.mandate(db, alex, collection_day=day)
    factories.collection(db, alex, due_on=date(2025, 12, 1), status=CollectionStatus.failed,
                         failure_code="B")
    factories.collection(db, alex, due_on=date(2026, 2, 1), amount=Decimal("24.50"),
                         status=CollectionStatus.failed, failure_code="0")
    factories.collection(db, alex, due_on=date(2026, 3, 1))
    body = app_client.get(
        f"/api/v1/members/{alex.membership_number}/collections/last-failed",
        headers=member_headers(settings, alex),
    ).json()
    assert body["due_on"] == "2026-02-01" and Decimal(body["amount"]) == Decimal("24.50")
    assert body["reason_code"] == "0"
    assert "enough money" in body["reason"]
    assert "We will try again on " in body["what_happens_next"]
    assert f" {day} " in body["what_happens_next"]


def test_no_failed_collection_is_a_clear_404(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db)
    factories.collection(db, alex)
    response = app_client.get(
        f"/api/v1/members/{alex.membership_number}/collections/last-failed",
        headers=member_headers(settings, alex),
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "No failed collections."}


def test_arrears_route_lists_what_makes_up_the_amount(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db, arrears_brought_forward=Decimal("5.00"))
    factories.collection(db, alex, due_on=date(2026, 1, 1), status=CollectionStatus.failed,
                         failure_code="1")
    factories.collection(db, alex, due_on=date(2026, 2, 1), status=CollectionStatus.failed,
                         failure_code="0", settled_on=date(2026, 2, 10))
    body = app_client.get(f"/api/v1/members/{alex.membership_number}/arrears",
                          headers=member_headers(settings, alex)).json()
    assert Decimal(body["amount"]) == Decimal("29.50")
    assert Decimal(body["brought_forward"]) == Decimal("5.00")
    assert [f["due_on"] for f in body["failed_collections"]] == ["2026-01-01"]
    assert "new Direct Debit" in body["failed_collections"][0]["what_happens_next"]


def test_match_finds_a_charge_by_amount_and_date(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db)
    factories.mandate(db, alex, reference="DD-ALEX0001")
    factories.collection(db, alex, due_on=date(2026, 3, 1), amount=Decimal("24.50"))
    factories.collection(db, alex, due_on=date(2026, 2, 1), amount=Decimal("24.50"))
    factories.collection(db, alex, due_on=date(2026, 3, 2), amount=Decimal("60.00"),
                         method="card", description="Arrears payment")
    url = f"/api/v1/members/{alex.membership_number}/collections/match"
    headers = member_headers(settings, alex)

    both = app_client.get(url, params={"amount": "24.50", "on": "2026-03-04"},
                          headers=headers).json()
    assert [m["due_on"] for m in both["matches"]] == ["2026-03-01"]
    assert both["matches"][0]["matched_on"] == "amount_and_date"
    assert "£24.50" in both["explanation"] and "Direct Debit" in both["explanation"]

    by_amount = app_client.get(url, params={"amount": "24.49"}, headers=headers).json()
    assert [m["due_on"] for m in by_amount["matches"]] == ["2026-03-01", "2026-02-01"]

    by_date = app_client.get(url, params={"on": "2026-03-03"}, headers=headers).json()
    assert [m["due_on"] for m in by_date["matches"]] == ["2026-03-02", "2026-03-01"]
    assert "arrears payment" in by_date["matches"][0]["explanation"]

    # The right amount at another time is shown, clearly labelled, rather than nothing.
    elsewhere = app_client.get(url, params={"amount": "24.50", "on": "2026-06-15"},
                               headers=headers).json()
    assert {m["matched_on"] for m in elsewhere["matches"]} == {"amount"}
    assert "There is no payment of £24.50" in elsewhere["explanation"]

    nothing = app_client.get(url, params={"amount": "20.00"}, headers=headers).json()
    assert nothing["matches"] == [] and "may not be from us" in nothing["explanation"]


def test_match_needs_an_amount_or_a_date(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db)
    url = f"/api/v1/members/{alex.membership_number}/collections/match"
    response = app_client.get(url, headers=member_headers(settings, alex))
    assert response.status_code == 422 and response.json()["field"] == "amount"
    bad = app_client.get(url, params={"amount": "lots"}, headers=member_headers(settings, alex))
    assert bad.status_code == 422 and "lots" not in bad.text


def test_mandate_shows_only_the_last_two_digits(
    db: Session, app_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db)
    factories.mandate(db, alex, reference="DD-OLD00001", status=MandateStatus.cancelled,
                      created_on=date(2019, 1, 1), cancelled_on=date(2020, 1, 1),
                      account_last_two="11")
    factories.mandate(db, alex, reference="DD-NEW00001", collection_day=15,
                      account_last_two="42")
    body = app_client.get(f"/api/v1/members/{alex.membership_number}/mandate",
                          headers=member_headers(settings, alex)).json()
    assert body["reference"] == "DD-NEW00001" and body["status"] == "active"
    assert body["account_ending"] == "42" and body["collection_day"] == 15
    next_on = date.fromisoformat(body["next_collection_date"])
    assert next_on.day == 15 and today() <= next_on <= today() + timedelta(days=31)


def test_no_mandate_is_a_clear_404(db: Session, app_client: TestClient, settings: Settings) -> None:
    alex = factories.member(db, payment_method=factories.PaymentMethod.payroll)
    response = app_client.get(f"/api/v1/members/{alex.membership_number}/mandate",
                              headers=member_headers(settings, alex))
    assert response.status_code == 404
    assert "no Direct Debit" in response.json()["detail"]


MEMBER_ROUTES = [
    ("get", "/collections", None),
    ("get", "/collections/last-failed", None),
    ("get", "/collections/match?amount=24.50", None),
    ("get", "/arrears", None),
    ("get", "/mandate", None),
    ("get", "/refund-requests", None),
    ("post", "/refund-requests", {"collection_due_on": "2025-12-01", "reason": "Charged twice"}),
    ("post", "/payment-links", {"purpose": "set_up_mandate"}),
    ("get", "/subscription", None),
    ("post", "/circumstances", {"circumstance": "retirement", "effective_from": "2026-01-01"}),
]


@pytest.mark.parametrize(("method", "path", "body"), MEMBER_ROUTES)
def test_a_member_token_cannot_reach_another_member(
    db: Session, app_client: TestClient, settings: Settings, method: str, path: str,
    body: dict[str, str] | None,
) -> None:
    alex = factories.member(db)
    sam = factories.member(db, first_name="Sam", arrears_brought_forward=Decimal("30"))
    factories.mandate(db, sam)
    factories.collection(db, sam, status=CollectionStatus.failed, failure_code="0")
    factories.collection(db, sam, due_on=date(2025, 12, 1))
    factories.rate(db, factories.Category.retired, amount="8.00", effective_from=date(2020, 1, 1))
    kwargs = {"json": body} if body else {}
    other = app_client.request(method, f"/api/v1/members/{sam.membership_number}{path}",
                               headers=member_headers(settings, alex), **kwargs)
    missing = app_client.request(method, f"/api/v1/members/9999999{path}",
                                 headers=member_headers(settings, alex), **kwargs)
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json() == {"detail": "No such member."}
    anonymous = app_client.request(method, f"/api/v1/members/{sam.membership_number}{path}",
                                   **kwargs)
    assert anonymous.status_code == 401
    # Sam's own token, and the service token, do reach Sam's data.
    own = app_client.request(method, f"/api/v1/members/{sam.membership_number}{path}",
                             headers=member_headers(settings, sam), **kwargs)
    assert own.status_code in (200, 201), own.text
