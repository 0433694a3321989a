"""Identity checks: the same answer whichever fact is wrong, a lockout, and a member token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from datetime import datetime, timedelta
from typing import Any

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


def _vouched(
    settings: Settings, number: str, *, conversation: str = "webchat:AbCdEfGhIjKlMnOpQrStUv",
    channel: str = "webchat", secret: str | None = None, expires_in: float = 120,
    signed_for: str | None = None,
) -> dict[str, Any]:
    """The body the action server sends: the channel's assertion, signed as channels sign it."""
    claims = {"membership_number": signed_for or number, "exp": int(time.time() + expires_in),
              "channel": channel, "conversation": conversation}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode()
    key = (secret or settings.identity_assertion_secret).encode()
    sig = hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()
    return {"membership_number": number, "assertion": {"payload": payload, "sig": sig},
            "conversation_id": "webchat:AbCdEfGhIjKlMnOpQrStUv", "channel": "webchat"}


def test_a_member_signed_in_on_the_website_gets_a_signed_in_token(
    client: TestClient, db: Session, settings: Settings
) -> None:
    m = factories.member(db)
    other = factories.member(db)

    response = client.post(
        "/api/v1/identity/signed-in", json=_vouched(settings, m.membership_number)
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


def test_signed_in_refuses_unknown_and_deceased_members(
    client: TestClient, db: Session, settings: Settings
) -> None:
    gone = factories.member(db, status=Status.deceased)

    unknown = client.post("/api/v1/identity/signed-in", json=_vouched(settings, "9999999"))
    deceased = client.post(
        "/api/v1/identity/signed-in", json=_vouched(settings, gone.membership_number)
    )

    assert unknown.status_code == 404
    assert deceased.status_code == 403
    assert "token" not in deceased.json()


def test_only_the_service_may_vouch_for_a_signed_in_member(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    m = factories.member(db)
    other = factories.member(db)
    body = _vouched(settings, other.membership_number)

    anonymous = app_client.post("/api/v1/identity/signed-in", json=body)
    as_member = app_client.post(
        "/api/v1/identity/signed-in", json=body, headers=member_headers(settings, m)
    )

    assert anonymous.status_code == 401
    assert as_member.status_code == 403


@pytest.mark.parametrize(
    ("forgery", "status"),
    [
        ({"assertion": None}, 422),  # the service token alone, as a forged call would send it
        ({"secret": "another-secret-entirely-0123456789abcdef"}, 401),
        ({"conversation": "rest:someone-else"}, 401),  # an assertion lifted from elsewhere
        ({"channel": "telegram"}, 401),
        ({"expires_in": -1}, 401),
        ({"signed_for": "1000999"}, 401),  # signed for one member, asking for another
    ],
)
def test_the_service_token_alone_never_gets_a_members_token(
    client: TestClient, db: Session, settings: Settings, forgery: dict[str, Any], status: int
) -> None:
    m = factories.member(db)
    if forgery.get("assertion", "") is None:
        body: dict[str, Any] = {"membership_number": m.membership_number}
    else:
        body = _vouched(settings, m.membership_number, **forgery)

    response = client.post("/api/v1/identity/signed-in", json=body)

    assert response.status_code == status, response.text
    assert "token" not in response.json()
    assert _audit(db, "identity_signed_in") == []


def _in(conversation: str, m: Member, **overrides: str) -> dict[str, str]:
    return {**_details(m, **overrides), "conversation_id": conversation}


def test_a_guesser_locks_their_own_conversation_not_the_member(
    client: TestClient, db: Session
) -> None:
    m = factories.member(db)
    statuses = [
        client.post("/api/v1/identity/check", json=_in("rest:guesser", m, postcode="LS1 4AC"))
        .status_code for _ in range(3)
    ]
    # Even the right details get nowhere in the guesser's conversation now...
    locked = client.post("/api/v1/identity/check", json=_in("rest:guesser", m))
    # ...while the member, in their own conversation, is let in.
    member = client.post("/api/v1/identity/check", json=_in("webchat:the-member", m))

    assert statuses == [401, 401, 401]
    assert locked.status_code == 423
    assert locked.json()["detail"].startswith("This conversation is locked")
    assert member.status_code == 200
    assert db.get(Lockout, m.membership_number) is None
    [event] = _audit(db, "identity_locked")
    assert "in conversation rest:guesser" in (event.detail or "")


def test_a_conversation_trying_number_after_number_is_locked(
    client: TestClient, db: Session
) -> None:
    people = [factories.member(db) for _ in range(4)]
    statuses = [
        client.post("/api/v1/identity/check",
                    json=_in("rest:trawler", p, date_of_birth="1970-01-01")).status_code
        for p in people[:3]
    ]
    statuses.append(
        client.post("/api/v1/identity/check", json=_in("rest:trawler", people[3])).status_code
    )

    assert statuses == [401, 401, 401, 423]


def test_failures_spread_over_many_conversations_lock_the_number(
    client: TestClient, db: Session, settings: Settings
) -> None:
    m = factories.member(db)
    limit = settings.identity_max_failures_per_number
    for n in range(limit):
        assert client.post(
            "/api/v1/identity/check", json=_in(f"rest:spread-{n}", m, postcode="LS1 4AC")
        ).status_code == 401

    fresh = client.post("/api/v1/identity/check", json=_in("webchat:the-member", m))

    assert fresh.status_code == 423
    assert fresh.json()["detail"].startswith("This membership number is locked")


def test_simultaneous_failures_are_counted_one_at_a_time(
    client: TestClient, db: Session
) -> None:
    """Checks at the same moment must not each count the others' failures as not yet made:
    exactly the limit's worth are judged, the rest find the conversation locked."""
    m = factories.member(db)
    start = threading.Barrier(6)
    statuses: list[int] = []

    def guess() -> None:
        start.wait()
        statuses.append(client.post(
            "/api/v1/identity/check", json=_in("rest:burst", m, postcode="LS1 4AC")
        ).status_code)

    threads = [threading.Thread(target=guess) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [401, 401, 401, 423, 423, 423]
    assert len(_audit(db, "identity_locked")) == 1
