"""One-time codes: emailed to the address on record, hashed, expiring, five guesses, once."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.config import Settings
from api.identity import otp
from api.identity.models import OneTimeCode, OneTimePurpose
from api.outbox.models import OutboundEmail
from tests.api import factories
from tests.api.conftest import member_headers

TELEGRAM_USER = "tg:424242"


def _ask(client: TestClient, membership_number: str, subject: str = TELEGRAM_USER):
    return client.post(
        "/api/v1/one-time-codes",
        json={"membership_number": membership_number, "purpose": "link_telegram",
              "subject": subject},
    )


def _verify(client: TestClient, code: str, subject: str = TELEGRAM_USER):
    return client.post(
        "/api/v1/one-time-codes/verify",
        json={"purpose": "link_telegram", "subject": subject, "code": code},
    )


def _emailed_code(db: Session) -> str:
    """The code in the newest email in the outbox."""
    db.expire_all()
    email = db.scalars(select(OutboundEmail).order_by(OutboundEmail.id.desc())).first()
    assert email is not None
    found = re.search(r"\b(\d{6})\b", email.body_text)
    assert found is not None
    return found.group(1)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_code_is_emailed_to_the_address_on_record_and_never_returned(
    service_client: TestClient, db: Session
) -> None:
    m = factories.member(db)

    response = _ask(service_client, m.membership_number)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["sent_to"] == "a***@example.org"
    assert set(body) == {"sent_to", "expires_at"}
    code = _emailed_code(db)
    assert code not in response.text
    [email] = db.scalars(select(OutboundEmail)).all()
    assert email.to_address == "alex.morgan@example.org"
    assert email.sent_at is None
    [stored] = db.scalars(select(OneTimeCode)).all()
    assert stored.code_hash != code and code not in stored.code_hash
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "one_time_code_sent"))
    assert event.member_id == m.id
    assert code not in (event.detail or "")


def test_the_right_code_names_the_membership_once(
    service_client: TestClient, db: Session
) -> None:
    m = factories.member(db)
    _ask(service_client, m.membership_number)
    code = _emailed_code(db)

    first = _verify(service_client, code)
    second = _verify(service_client, code)

    assert first.status_code == 200
    assert first.json() == {"membership_number": m.membership_number}
    assert second.status_code == 401


def test_a_code_is_bound_to_its_subject(service_client: TestClient, db: Session) -> None:
    m = factories.member(db)
    _ask(service_client, m.membership_number)
    code = _emailed_code(db)

    response = _verify(service_client, code, subject="tg:999")

    assert response.status_code == 401
    assert _verify(service_client, code).status_code == 200


def test_five_wrong_guesses_use_the_code_up(service_client: TestClient, db: Session) -> None:
    m = factories.member(db)
    _ask(service_client, m.membership_number)
    code = _emailed_code(db)

    wrong = [_verify(service_client, _wrong(code)) for _ in range(5)]

    assert {r.status_code for r in wrong} == {401}
    assert wrong[0].json() == wrong[-1].json()
    assert _verify(service_client, code).status_code == 401


def test_a_code_expires_after_ten_minutes(service_client: TestClient, db: Session) -> None:
    m = factories.member(db)
    response = _ask(service_client, m.membership_number)
    code = _emailed_code(db)
    [stored] = db.scalars(select(OneTimeCode)).all()
    assert "expires_at" in response.json()
    stored.expires_at = stored.expires_at - timedelta(minutes=10, seconds=1)
    db.commit()

    assert _verify(service_client, code).status_code == 401


def test_a_new_code_retires_the_old_one(service_client: TestClient, db: Session) -> None:
    m = factories.member(db)
    _ask(service_client, m.membership_number)
    old = _emailed_code(db)
    _ask(service_client, m.membership_number)
    new = _emailed_code(db)

    if old != new:
        assert _verify(service_client, old).status_code == 401
    assert _verify(service_client, new).status_code == 200


def test_no_email_on_record_is_a_409_naming_it(service_client: TestClient, db: Session) -> None:
    m = factories.member(db, email=None)

    response = _ask(service_client, m.membership_number)

    assert response.status_code == 409
    assert response.json()["field"] == "email"
    assert db.scalar(select(func.count()).select_from(OneTimeCode)) == 0


def test_too_many_codes_in_an_hour_are_refused(service_client: TestClient, db: Session) -> None:
    m = factories.member(db)

    statuses = [_ask(service_client, m.membership_number).status_code for _ in range(6)]

    assert statuses == [201] * 5 + [429]
    assert db.scalar(select(func.count()).select_from(OutboundEmail)) == 5


def test_one_subject_cannot_spray_codes_across_memberships(
    service_client: TestClient, db: Session
) -> None:
    members = [factories.member(db) for _ in range(6)]

    statuses = [_ask(service_client, m.membership_number).status_code for m in members]

    assert statuses == [201] * 5 + [429]


def test_unknown_number_is_a_404(service_client: TestClient, db: Session) -> None:
    assert _ask(service_client, "9999999").status_code == 404


def test_overlong_subject_is_a_422_naming_it(service_client: TestClient, db: Session) -> None:
    m = factories.member(db)

    response = _ask(service_client, m.membership_number, subject="x" * 101)

    assert response.status_code == 422
    assert response.json()["field"] == "subject"


def test_only_the_service_may_issue_or_verify_codes(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    m = factories.member(db)
    other = factories.member(db)
    headers = member_headers(settings, m)
    body = {"membership_number": other.membership_number, "purpose": "link_telegram",
            "subject": TELEGRAM_USER}

    assert app_client.post("/api/v1/one-time-codes", json=body).status_code == 401
    assert app_client.post("/api/v1/one-time-codes", json=body, headers=headers).status_code == 403
    verify = {"purpose": "link_telegram", "subject": TELEGRAM_USER, "code": "123456"}
    assert app_client.post(
        "/api/v1/one-time-codes/verify", json=verify, headers=headers
    ).status_code == 403
    assert db.scalar(select(func.count()).select_from(OutboundEmail)) == 0


def test_the_sender_is_pluggable(db: Session) -> None:
    m = factories.member(db)
    sent: list[dict[str, str]] = []

    def collect(*, db_session: Session, to_address: str, subject: str, body_text: str) -> None:
        sent.append({"to": to_address, "body": body_text})

    issued = otp.issue_code(
        db_session=db, membership_number=m.membership_number,
        purpose=OneTimePurpose.link_telegram, subject=TELEGRAM_USER, actor="service:assistant",
        channel="telegram", sender=collect,
    )

    assert [s["to"] for s in sent] == ["alex.morgan@example.org"]
    assert issued.code in sent[0]["body"]
    assert db.scalar(select(func.count()).select_from(OutboundEmail)) == 0
    verified = otp.verify_code(
        db_session=db, purpose=OneTimePurpose.link_telegram, subject=TELEGRAM_USER,
        code=issued.code, actor="service:assistant", channel="telegram",
    )
    assert verified.id == m.id
