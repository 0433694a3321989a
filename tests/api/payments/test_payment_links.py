"""Secure payment links and the page behind them: single use, expiring, no bank details kept."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.config import Settings
from api.database import Base
from api.members.models import Member, PaymentMethod
from api.payments.arrears import arrears_for
from api.payments.models import (
    Collection,
    CollectionStatus,
    Mandate,
    MandateStatus,
    PaymentLink,
)
from api.security import hash_secret
from api.timekeeping import utcnow
from tests.api import factories
from tests.api.conftest import member_headers

ACCOUNT_NUMBER = "73625184"
SORT_CODE = "309457"


def _link(client: TestClient, settings: Settings, member: Member, purpose: str) -> dict[str, str]:
    response = client.post(f"/api/v1/members/{member.membership_number}/payment-links",
                           json={"purpose": purpose}, headers=member_headers(settings, member))
    assert response.status_code == 201, response.text
    return response.json()


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def _nonce(html: str) -> str:
    found = re.search(r'name="nonce" value="([0-9a-f]{64})"', html)
    assert found, "the form carries a nonce"
    return found.group(1)


def _mandate_form(nonce: str, **overrides: str) -> dict[str, str]:
    form = {"nonce": nonce, "account_holder": "A Morgan", "sort_code": "30-94-57",
            "account_number": ACCOUNT_NUMBER, "collection_day": "15", "authorise": "yes"}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def test_a_link_is_random_short_lived_and_only_its_hash_is_stored(
    db: Session, pages_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db)
    body = _link(pages_client, settings, alex, "set_up_mandate")
    assert body["url"].startswith(f"{settings.public_url}/pay/")
    token = body["url"].rsplit("/", 1)[1]
    assert len(token) >= 43
    stored = db.scalar(select(PaymentLink))
    assert stored is not None and stored.token_hash == hash_secret(token)
    assert token not in str([getattr(stored, c.key) for c in PaymentLink.__table__.columns])
    expires = stored.expires_at.replace(tzinfo=None)
    expected = utcnow().replace(tzinfo=None) + timedelta(minutes=settings.payment_link_minutes)
    assert abs((expires - expected).total_seconds()) < 60
    other = _link(pages_client, settings, alex, "set_up_mandate")
    assert other["url"] != body["url"]


def test_setting_up_a_mandate_keeps_only_the_last_two_digits(
    db: Session, pages_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db, payment_method=PaymentMethod.payroll)
    old = factories.mandate(db, alex, reference="DD-OLD00001", account_last_two="11")
    path = _path(_link(pages_client, settings, alex, "set_up_mandate")["url"])

    page = pages_client.get(path)
    assert page.status_code == 200
    html = page.text
    for field in ("account_holder", "sort_code", "account_number", "collection_day"):
        assert f'<label for="{field}"' in html and f'id="{field}"' in html
    assert "Direct Debit Guarantee" in html and "immediate refund" in html
    assert "<script" not in html and "http" not in html.split("<main", 1)[1]
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"

    done = pages_client.post(path, data=_mandate_form(_nonce(html)))
    assert done.status_code == 200, done.text
    assert "ending 84" in done.text and ACCOUNT_NUMBER not in done.text

    db.expire_all()
    mandate = db.scalar(select(Mandate).where(Mandate.status == MandateStatus.active))
    assert mandate is not None and mandate.account_last_two == "84"
    assert mandate.collection_day == 15 and mandate.reference != old.reference
    assert db.get(Mandate, old.id).status == MandateStatus.cancelled  # type: ignore[union-attr]
    assert db.get(Member, alex.id).payment_method == PaymentMethod.direct_debit  # type: ignore[union-attr]
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "mandate_set_up"))
    assert event is not None and event.actor == f"member:{alex.membership_number}"

    # Neither the account number nor the sort code is anywhere in the database.
    scanned = 0
    for table in Base.metadata.sorted_tables:
        for row in db.execute(select(table)):
            for value in row:
                scanned += 1
                assert ACCOUNT_NUMBER not in str(value), table.name
                assert SORT_CODE not in str(value), table.name
    assert scanned > 50

    # Single use: the page and the form both refuse a second go.
    assert pages_client.get(path).status_code == 410
    again = pages_client.post(path, data=_mandate_form(_nonce(html)))
    assert again.status_code == 410 and "expired or was already used" in again.text
    assert len(db.scalars(select(Mandate)).all()) == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"sort_code": "30-94-5"}, "sort_code"),
        ({"account_number": "1234567"}, "account_number"),
        ({"account_number": "1234567a"}, "account_number"),
        ({"collection_day": "29"}, "collection_day"),
        ({"collection_day": "first"}, "collection_day"),
        # Digits to str.isdigit() that int() cannot read: once a 500 on this page.
        ({"collection_day": "\u00b2"}, "collection_day"),
        ({"collection_day": "1\u00b9"}, "collection_day"),
        ({"account_holder": ""}, "account_holder"),
        ({"account_holder": "x" * 101}, "account_holder"),
        ({"authorise": None}, "authorise"),
    ],
)
def test_bad_bank_details_are_shown_beside_the_field_and_the_link_still_works(
    db: Session, pages_client: TestClient, settings: Settings, overrides: dict[str, str | None],
    field: str,
) -> None:
    alex = factories.member(db)
    path = _path(_link(pages_client, settings, alex, "set_up_mandate")["url"])
    nonce = _nonce(pages_client.get(path).text)
    response = pages_client.post(path, data=_mandate_form(nonce, **overrides))  # type: ignore[arg-type]
    assert response.status_code == 422
    assert f'href="#{field}"' in response.text and f'id="{field}-error"' in response.text
    assert 'aria-invalid="true"' in response.text and "Traceback" not in response.text
    # Bank details typed in are never echoed back into the page.
    assert ACCOUNT_NUMBER not in response.text
    assert db.scalars(select(Mandate)).all() == []
    fixed = pages_client.post(path, data=_mandate_form(nonce))
    assert fixed.status_code == 200


def test_the_form_must_echo_the_links_nonce(
    db: Session, pages_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db)
    path = _path(_link(pages_client, settings, alex, "set_up_mandate")["url"])
    for nonce in ("", "0" * 64):
        refused = pages_client.post(path, data=_mandate_form(nonce))
        assert refused.status_code == 400 and "Open the link again" in refused.text
    assert db.scalars(select(Mandate)).all() == []
    # Refusing a forged form does not use up the link.
    assert pages_client.get(path).status_code == 200


def test_expired_and_unknown_links_show_a_clear_page(
    db: Session, pages_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db)
    path = _path(_link(pages_client, settings, alex, "set_up_mandate")["url"])
    nonce = _nonce(pages_client.get(path).text)
    db.execute(update(PaymentLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    expired = pages_client.get(path)
    assert expired.status_code == 410
    assert "This link has expired or was already used" in expired.text
    assert "text/html" in expired.headers["content-type"]
    assert pages_client.post(path, data=_mandate_form(nonce)).status_code == 410
    assert db.scalars(select(Mandate)).all() == []
    unknown = pages_client.get("/pay/not-a-real-token")
    assert unknown.status_code == 404 and "expired or was already used" in unknown.text
    assert pages_client.get("/pay/" + "x" * 500).status_code == 404


def test_paying_arrears_settles_failed_collections_and_records_the_payment(
    db: Session, pages_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db, arrears_brought_forward=Decimal("5.50"))
    factories.collection(db, alex, due_on=date(2026, 1, 1), status=CollectionStatus.failed,
                         failure_code="0")
    factories.collection(db, alex, due_on=date(2026, 2, 1), status=CollectionStatus.failed,
                         failure_code="0")
    body = _link(pages_client, settings, alex, "pay_arrears")
    assert Decimal(body["amount"]) == Decimal("54.50")
    path = _path(body["url"])
    page = pages_client.get(path)
    assert page.status_code == 200 and "£54.50" in page.text and "Pay £54.50 now" in page.text
    assert "1 January 2026" in page.text

    paid = pages_client.post(path, data={"nonce": _nonce(page.text)})
    assert paid.status_code == 200 and "£54.50" in paid.text

    db.expire_all()
    member = db.get(Member, alex.id)
    assert member is not None and arrears_for(db_session=db, member=member) == Decimal("0.00")
    payment = db.scalar(select(Collection).where(Collection.description == "Arrears payment"))
    assert payment is not None and payment.amount == Decimal("54.50")
    assert payment.status == CollectionStatus.collected
    failed = db.scalars(select(Collection).where(Collection.status == CollectionStatus.failed))
    assert all(c.settled_on is not None for c in failed)
    assert pages_client.post(path, data={"nonce": _nonce(page.text)}).status_code == 410


def test_no_arrears_means_no_payment_link(
    db: Session, pages_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db)
    response = pages_client.post(f"/api/v1/members/{alex.membership_number}/payment-links",
                                 json={"purpose": "pay_arrears"},
                                 headers=member_headers(settings, alex))
    assert response.status_code == 409 and "no arrears" in response.json()["detail"]
    bad = pages_client.post(f"/api/v1/members/{alex.membership_number}/payment-links",
                            json={"purpose": "steal"}, headers=member_headers(settings, alex))
    assert bad.status_code == 422 and bad.json()["field"] == "purpose"
    assert db.scalars(select(PaymentLink)).all() == []


def test_a_mandate_link_cannot_be_used_to_pay(
    db: Session, pages_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db, arrears_brought_forward=Decimal("10"))
    path = _path(_link(pages_client, settings, alex, "set_up_mandate")["url"])
    nonce = _nonce(pages_client.get(path).text)
    # A pay-arrears submission (no bank details) on a mandate link is just an invalid form.
    response = pages_client.post(path, data={"nonce": nonce})
    assert response.status_code == 422
    db.expire_all()
    assert db.scalar(select(Collection)) is None


def test_the_page_escapes_what_it_shows(
    db: Session, pages_client: TestClient, settings: Settings
) -> None:
    alex = factories.member(db, first_name="<script>alert(1)</script>")
    path = _path(_link(pages_client, settings, alex, "set_up_mandate")["url"])
    html = pages_client.get(path).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    refused = pages_client.post(path, data=_mandate_form(
        _nonce(html), account_holder='"><img src=x onerror=alert(1)>', sort_code="1"))
    assert refused.status_code == 422
    assert "<img src=x" not in refused.text and "&#34;&gt;&lt;img" in refused.text
