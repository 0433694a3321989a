"""Identity checks: the same answer whichever fact is wrong, a lockout, and a member token."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.config import Settings
from api.identity.models import IdentityAttempt, Lockout
from api.members.models import Member, Status
from tests.api import factories
from tests.api.conftest import member_headers

NOT_MATCHED = {"detail": "We couldn't match those details to a membership."}


@pytest.fixture
def client(service_client: TestClient) -> TestClient:
    return service_client


def _details(m: Member, **overrides: str) -> dict[str, str]:
    body = {
        "membership_number": m.membership_number,
        "date_of_birth": m.date_of_birth.isoformat(),
        "postcode": m.postcode,
    }
    body.update(overrides)
    return body


def _audit(db: Session, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _time_passes(db: Session, minutes: int) -> None:
    """Move every attempt and lock into the past, as if `minutes` had gone by."""
    db.expire_all()
    for attempt in db.scalars(select(IdentityAttempt)):
        attempt.attempted_at = attempt.attempted_at - timedelta(minutes=minutes)
    for lockout in db.scalars(select(Lockout)):
        lockout.locked_until = lockout.locked_until - timedelta(minutes=minutes)
    db.commit()


def test_right_details_give_a_member_token(client: TestClient, db: Session) -> None:
    m = factories.member(db)

    response = client.post(
        "/api/v1/identity/check",
        json=_details(m, postcode="ls14ab", membership_number=f" {m.membership_number[:3]} "
                      f"{m.membership_number[3:]}"),
        headers={"X-Memberdesk-Channel": "telegram"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["membership_number"] == m.membership_number
    assert body["first_name"] == "Alex"
    assert body["identity_level"] == "identity_checked"
    assert body["expires_in"] == 30 * 60
    [event] = _audit(db, "identity_checked")
    assert event.member_id == m.id
    assert event.channel == "telegram"
    # Names of the facts checked, never their values.
    assert "1985" not in (event.detail or "") + (event.fields or "")
    [attempt] = db.scalars(select(IdentityAttempt)).all()
    assert attempt.succeeded and attempt.channel == "telegram"


def test_the_token_reads_only_that_members_record(client: TestClient, db: Session) -> None:
    m = factories.member(db)
    other = factories.member(db, first_name="Jo")
    token = client.post("/api/v1/identity/check", json=_details(m)).json()["token"]
    as_member = {"Authorization": f"Bearer {token}"}

    own = client.get(f"/api/v1/members/{m.membership_number}/membership", headers=as_member)
    someone_else = client.get(
        f"/api/v1/members/{other.membership_number}/membership", headers=as_member
    )
    missing = client.get("/api/v1/members/9999999/membership", headers=as_member)

    assert own.status_code == 200
    assert own.json()["status"] == "active"
    assert someone_else.status_code == 404
    assert someone_else.json() == missing.json()


@pytest.mark.parametrize(
    "wrong",
    [
        {"date_of_birth": "1985-03-15"},
        {"postcode": "LS1 4AC"},
        {"membership_number": "9999999"},
        {"postcode": "not a postcode"},
        {"date_of_birth": "14/03/1985"},
        {"date_of_birth": "1985-02-30"},
        {"membership_number": "12ab"},
    ],
    ids=["dob", "postcode", "unknown-number", "malformed-postcode", "uk-date-form",
         "impossible-date", "malformed-number"],
)
def test_any_wrong_fact_gets_the_same_answer(
    client: TestClient, db: Session, wrong: dict[str, str]
) -> None:
    m = factories.member(db)

    response = client.post("/api/v1/identity/check", json=_details(m, **wrong))

    assert response.status_code == 401
    assert response.json() == NOT_MATCHED
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(IdentityAttempt)) == 1
    assert _audit(db, "identity_checked") == []


@pytest.mark.parametrize("missing", ["membership_number", "date_of_birth", "postcode"])
def test_a_missing_fact_is_a_422_naming_it(client: TestClient, db: Session, missing: str) -> None:
    m = factories.member(db)
    body = _details(m)
    del body[missing]

    response = client.post("/api/v1/identity/check", json=body)

    assert response.status_code == 422
    assert response.json()["field"] == missing


def test_an_overlong_value_is_a_422_without_echoing_it(client: TestClient, db: Session) -> None:
    m = factories.member(db)

    response = client.post("/api/v1/identity/check", json=_details(m, postcode="X" * 5000))

    assert response.status_code == 422
    assert response.json()["field"] == "postcode"
    assert "XXXXX" not in response.text


def test_three_failures_lock_the_number_even_for_the_right_details(
    client: TestClient, db: Session
) -> None:
    m = factories.member(db)
    for _ in range(3):
        assert client.post(
            "/api/v1/identity/check", json=_details(m, postcode="LS1 4AC")
        ).status_code == 401

    response = client.post("/api/v1/identity/check", json=_details(m))

    assert response.status_code == 423
    body = response.json()
    assert "locked" in body["detail"] and "try again after" in body["detail"]
    locked_until = datetime.fromisoformat(body["locked_until"].replace("Z", "+00:00"))
    remaining = locked_until - datetime.now(locked_until.tzinfo)
    assert timedelta(minutes=29) < remaining <= timedelta(minutes=30)
    [event] = _audit(db, "identity_locked")
    assert event.member_id == m.id
    # Every attempt is kept, including the one refused while locked.
    assert db.scalar(select(func.count()).select_from(IdentityAttempt)) == 4


def test_a_lock_on_one_number_does_not_touch_another(client: TestClient, db: Session) -> None:
    m = factories.member(db)
    other = factories.member(db)
    for _ in range(3):
        client.post("/api/v1/identity/check", json=_details(m, date_of_birth="1990-01-01"))

    assert client.post("/api/v1/identity/check", json=_details(other)).status_code == 200


def test_unknown_numbers_lock_too(client: TestClient, db: Session) -> None:
    body = {"membership_number": "7654321", "date_of_birth": "1980-01-01", "postcode": "LS1 4AB"}
    statuses = [client.post("/api/v1/identity/check", json=body).status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 423]
    [event] = _audit(db, "identity_locked")
    assert event.member_id is None


def test_the_lock_lifts_after_thirty_minutes_and_counting_starts_afresh(
    client: TestClient, db: Session
) -> None:
    m = factories.member(db)
    for _ in range(3):
        client.post("/api/v1/identity/check", json=_details(m, postcode="LS1 4AC"))
    assert client.post("/api/v1/identity/check", json=_details(m)).status_code == 423

    _time_passes(db, minutes=29)
    assert client.post("/api/v1/identity/check", json=_details(m)).status_code == 423
    _time_passes(db, minutes=2)

    assert client.post(
        "/api/v1/identity/check", json=_details(m, postcode="LS1 4AC")
    ).status_code == 401
    assert client.post("/api/v1/identity/check", json=_details(m)).status_code == 200


def test_a_success_clears_the_failure_count(client: TestClient, db: Session) -> None:
    m = factories.member(db)
    wrong = _details(m, date_of_birth="1985-03-13")
    for _ in range(2):
        client.post("/api/v1/identity/check", json=wrong)
    assert client.post("/api/v1/identity/check", json=_details(m)).status_code == 200

    statuses = [client.post("/api/v1/identity/check", json=wrong).status_code for _ in range(2)]

    assert statuses == [401, 401]
    assert client.post("/api/v1/identity/check", json=_details(m)).status_code == 200
    assert _audit(db, "identity_locked") == []


def test_failures_older_than_the_window_do_not_count(client: TestClient, db: Session) -> None:
    m = factories.member(db)
    wrong = _details(m, date_of_birth="1985-03-13")
    for _ in range(2):
        client.post("/api/v1/identity/check", json=wrong)
    _time_passes(db, minutes=31)

    client.post("/api/v1/identity/check", json=wrong)

    assert client.post("/api/v1/identity/check", json=_details(m)).status_code == 200


def test_a_deceased_member_cannot_pass(client: TestClient, db: Session) -> None:
    m = factories.member(db, status=Status.deceased)

    response = client.post("/api/v1/identity/check", json=_details(m))

    assert response.status_code == 401
    assert response.json() == NOT_MATCHED


def test_only_the_service_may_check_identity(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    m = factories.member(db)

    anonymous = app_client.post("/api/v1/identity/check", json=_details(m))
    as_member = app_client.post(
        "/api/v1/identity/check", json=_details(m), headers=member_headers(settings, m)
    )

    assert anonymous.status_code == 401
    assert as_member.status_code == 403
    assert db.scalar(select(func.count()).select_from(IdentityAttempt)) == 0


def test_a_member_signed_in_on_the_website_gets_a_signed_in_token(
    client: TestClient, db: Session
) -> None:
    m = factories.member(db)
    other = factories.member(db)

    response = client.post(
        "/api/v1/identity/signed-in", json={"membership_number": m.membership_number}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["identity_level"] == "signed_in"
    as_member = {"Authorization": f"Bearer {body['token']}"}
    assert client.get(
        f"/api/v1/members/{m.membership_number}/membership", headers=as_member
    ).status_code == 200
    assert client.get(
        f"/api/v1/members/{other.membership_number}/membership", headers=as_member
    ).status_code == 404
    assert len(_audit(db, "identity_signed_in")) == 1


def test_signed_in_refuses_unknown_and_deceased_members(client: TestClient, db: Session) -> None:
    gone = factories.member(db, status=Status.deceased)

    unknown = client.post("/api/v1/identity/signed-in", json={"membership_number": "9999999"})
    deceased = client.post(
        "/api/v1/identity/signed-in", json={"membership_number": gone.membership_number}
    )

    assert unknown.status_code == 404
    assert deceased.status_code == 403
    assert "token" not in deceased.json()


def test_only_the_service_may_vouch_for_a_signed_in_member(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    m = factories.member(db)
    other = factories.member(db)
    body = {"membership_number": other.membership_number}

    anonymous = app_client.post("/api/v1/identity/signed-in", json=body)
    as_member = app_client.post(
        "/api/v1/identity/signed-in", json=body, headers=member_headers(settings, m)
    )

    assert anonymous.status_code == 401
    assert as_member.status_code == 403
