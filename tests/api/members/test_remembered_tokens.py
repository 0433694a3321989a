"""A member's token is checked once and remembered (api.security), but never past its expiry
and never under another secret key: what the memory saves is CPU, not a refusal."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.config import Settings
from api.timekeeping import utcnow
from tests.api import factories
from tests.api.conftest import real_app_client


def _token_for(member_id: int, number: str, *, secret: str, seconds: float) -> str:
    """A member token as the identity check signs it, expiring `seconds` from now."""
    claims = {
        "typ": "member",
        "sub": str(member_id),
        "mn": number,
        "lvl": "identity_checked",
        "iat": utcnow(),
        "exp": utcnow() + timedelta(seconds=seconds),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def test_a_token_read_with_once_is_refused_once_it_expires(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)
    db.commit()
    token = _token_for(member.id, member.membership_number, secret=settings.secret_key, seconds=2)
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/api/v1/members/{member.membership_number}"

    assert app_client.get(path, headers=headers).status_code == 200
    assert app_client.get(path, headers=headers).status_code == 200  # the remembered one
    time.sleep(2.1)

    refused = app_client.get(path, headers=headers)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"


def test_a_token_remembered_under_one_key_is_refused_under_another(
    engine: object, db: Session, settings: Settings
) -> None:
    member = factories.member(db)
    db.commit()
    token = _token_for(member.id, member.membership_number, secret=settings.secret_key, seconds=600)
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/api/v1/members/{member.membership_number}"
    with real_app_client(engine, settings) as client:  # type: ignore[arg-type]
        assert client.get(path, headers=headers).status_code == 200

    rotated = settings.model_copy(update={"secret_key": "a-new-secret-key-" + "z" * 32})
    with real_app_client(engine, rotated) as client:  # type: ignore[arg-type]
        assert client.get(path, headers=headers).status_code == 401
