"""A member's change history."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.config import Settings
from tests.api import factories
from tests.api.conftest import member_headers


def test_history_lists_changes_newest_first(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)
    headers = member_headers(settings, member)
    base = f"/api/v1/members/{member.membership_number}"
    first = app_client.put(f"{base}/contact", json={"phone": "07700900999"}, headers=headers).json()
    second = app_client.post(
        f"{base}/personal-details", json={"first_name": "Alexandra"}, headers=headers
    ).json()

    response = app_client.get(f"{base}/history", headers=headers)

    assert response.status_code == 200
    history = response.json()
    assert [h["reference"] for h in history] == [second["reference"], first["reference"]]
    assert history[0]["status"] == "pending_review"
    assert history[0]["new_value"] == {"first_name": "Alexandra"}
    assert history[1]["old_value"] == {"phone": "07700900123"}
    assert history[1]["identity_level"] == "identity_checked"


def test_a_member_cannot_read_another_members_history(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    me, someone_else = factories.member(db), factories.member(db)

    response = app_client.get(
        f"/api/v1/members/{someone_else.membership_number}/history",
        headers=member_headers(settings, me),
    )

    assert response.status_code == 404
