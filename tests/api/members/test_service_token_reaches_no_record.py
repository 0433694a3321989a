"""The shared service token reaches no member's record, on any route that names one.

The action server, the webchat, Telegram and email channels all hold the service token, so it
must not be a key to every member: a forged call to the action server once read another member's
arrears and changed their address with it. Records are reached with the member's own token.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.config import Settings
from api.main import create_app
from tests.api import factories
from tests.api.conftest import member_headers


def _member_routes() -> list[tuple[str, str]]:
    """Every operation in the published schema whose path names a member."""
    paths = create_app().openapi()["paths"]
    return [
        (method.upper(), path)
        for path, operations in sorted(paths.items())
        if "{membership_number}" in path
        for method in sorted(operations)
    ]


MEMBER_ROUTES = _member_routes()


def test_there_are_member_routes_to_check() -> None:
    assert len(MEMBER_ROUTES) >= 25


@pytest.mark.parametrize(("method", "path"), MEMBER_ROUTES)
def test_the_service_token_is_refused_before_the_record_is_read(
    service_only_client: TestClient, db: Session, method: str, path: str
) -> None:
    member = factories.member(db)
    url = path.replace("{membership_number}", member.membership_number)
    url = url.replace("{ballot_code}", "B-NONE")
    response = service_only_client.request(method, url, json={})
    assert response.status_code == 403, response.text
    assert member.last_name not in response.text
    # Nothing was changed or recorded about the member.
    assert db.query(AuditEvent).filter(AuditEvent.member_id == member.id).count() == 0


def test_the_members_own_token_still_reads_their_record(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)
    response = app_client.get(
        f"/api/v1/members/{member.membership_number}", headers=member_headers(settings, member)
    )
    assert response.status_code == 200
    assert response.json()["membership_number"] == member.membership_number
