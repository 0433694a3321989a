"""Staff accounts: creating them, signing in with a lockout, their own account, default teams."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.config import Settings
from api.errors import Conflict, InvalidValue
from api.staff import service
from api.staff.models import Role, StaffUser, Team
from tests.api import factories
from tests.api.conftest import member_headers

PASSWORD = "correct horse battery staple"
REFUSED = {"detail": service.SIGN_IN_REFUSED}


def _sign_in(client: TestClient, username: str, password: str = PASSWORD):
    return client.post("/api/v1/staff/sign-in", json={"username": username, "password": password})


def test_create_staff_hashes_the_password_and_joins_the_team(db: Session) -> None:
    service.ensure_default_teams(db)

    user = service.create_staff(
        db_session=db, username="Dana.Data", display_name="Dana Data",
        email="Dana@Union.Example", password="a long enough passphrase", role="data_team",
        team_code="records",
    )

    assert user.username == "dana.data"
    assert user.password_hash.startswith("$argon2")
    assert "passphrase" not in user.password_hash
    assert user.role == Role.data_team
    assert user.team is not None and user.team.code == "records"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"password": "short-11chr"}, "password"),
        ({"username": "x"}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"role": "overlord"}, "role"),
        ({"team_code": "no-such-team"}, "team_code"),
        ({"display_name": "  "}, "display_name"),
    ],
)
def test_create_staff_refuses_bad_values_naming_the_field(
    db: Session, overrides: dict[str, str], field: str
) -> None:
    values = dict(username="dana.data", display_name="Dana Data", email="dana@union.example",
                  password="a long enough passphrase", role="agent", team_code=None)
    values.update(overrides)

    with pytest.raises(InvalidValue) as refused:
        service.create_staff(db_session=db, **values)  # type: ignore[arg-type]

    assert refused.value.field == field
    assert db.scalar(select(func.count()).select_from(StaffUser)) == 0


def test_a_username_is_taken_once(db: Session) -> None:
    factories.staff(db, username="dana.data")

    with pytest.raises(Conflict):
        service.create_staff(db_session=db, username="DANA.DATA", display_name="Another Dana",
                             email="d2@union.example", password="a long enough passphrase",
                             role=Role.agent)


def test_sign_in_gives_a_token_that_opens_the_staff_account(
    app_client: TestClient, db: Session
) -> None:
    teams = service.ensure_default_teams(db)
    factories.staff(db, username="sam.data", team=teams[0])

    response = _sign_in(app_client, "sam.data")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["role"] == "data_team" and body["display_name"] == "Sam Data"
    me = app_client.get("/api/v1/staff/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json() == {
        "username": "sam.data", "display_name": "Sam Data", "email": "sam.data@union.example",
        "role": "data_team",
        "team": {"code": "records", "name": "Records", "email": "records@union.example"},
    }
    assert db.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "staff_signed_in")
    ) == 1


def test_wrong_password_and_unknown_user_get_the_same_answer(
    app_client: TestClient, db: Session
) -> None:
    factories.staff(db, username="sam.data")

    wrong_password = _sign_in(app_client, "sam.data", "not the password at all")
    unknown_user = _sign_in(app_client, "nobody.here")

    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json() == unknown_user.json() == REFUSED


def test_five_failures_lock_the_account_for_fifteen_minutes(
    app_client: TestClient, db: Session
) -> None:
    user = factories.staff(db, username="sam.data")
    for _ in range(5):
        assert _sign_in(app_client, "sam.data", "guess guess guess").status_code == 401

    locked = _sign_in(app_client, "sam.data")

    assert locked.status_code == 401
    assert locked.json() == REFUSED
    db.expire_all()
    assert user.locked_until is not None
    assert db.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "staff_locked")
    ) == 1

    user.locked_until = user.locked_until - timedelta(minutes=15)
    db.commit()
    assert _sign_in(app_client, "sam.data").status_code == 200


def test_a_success_resets_the_failure_count(app_client: TestClient, db: Session) -> None:
    factories.staff(db, username="sam.data")
    for _ in range(4):
        _sign_in(app_client, "sam.data", "guess guess guess")
    assert _sign_in(app_client, "sam.data").status_code == 200
    for _ in range(4):
        _sign_in(app_client, "sam.data", "guess guess guess")

    assert _sign_in(app_client, "sam.data").status_code == 200


def test_a_deactivated_account_cannot_sign_in(app_client: TestClient, db: Session) -> None:
    user = factories.staff(db, username="sam.data")
    user.active = False
    db.commit()

    response = _sign_in(app_client, "sam.data")

    assert response.status_code == 401
    assert response.json() == REFUSED


def test_staff_me_refuses_members_services_and_anonymous_callers(
    service_client: TestClient, db: Session, settings: Settings
) -> None:
    m = factories.member(db)

    as_service = service_client.get("/api/v1/staff/me")
    as_member = service_client.get("/api/v1/staff/me", headers=member_headers(settings, m))
    service_client.headers.pop("Authorization")
    anonymous = service_client.get("/api/v1/staff/me")

    assert as_service.status_code == 403
    assert as_member.status_code == 403
    assert anonymous.status_code == 401


def test_overlong_sign_in_values_are_a_422_naming_the_field(app_client: TestClient) -> None:
    response = _sign_in(app_client, "u" * 61)

    assert response.status_code == 422
    assert response.json()["field"] == "username"


def test_default_teams_are_created_once(db: Session) -> None:
    service.ensure_default_teams(db)
    records = db.scalar(select(Team).where(Team.code == "records"))
    assert records is not None
    records.email = "records-desk@union.example"
    db.commit()

    teams = service.ensure_default_teams(db)

    assert [t.code for t in teams] == [
        "records", "payments", "ballots", "complaints", "data_protection", "membership"
    ]
    assert db.scalar(select(func.count()).select_from(Team)) == 6
    assert teams[0].email == "records-desk@union.example"
    assert teams[1].email == "payments@union.example"
