"""A staff token is only as good as the staff member behind it, read again on every request.

Bearer tokens last hours with the role inside; each test forges nothing, it uses a real token
issued while the account was in good standing, then changes the account.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.config import Settings
from api.staff.models import Role
from tests.api import factories
from tests.api.conftest import staff_headers


def test_a_deactivated_agent_is_refused_at_once(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    agent = factories.staff(db, username="alex.agent", role=Role.agent)
    member = factories.member(db)
    headers = staff_headers(settings, agent)
    path = f"/api/v1/members/{member.membership_number}"
    assert app_client.get(path, headers=headers).status_code == 200

    agent.active = False
    db.commit()

    refused = app_client.get(path, headers=headers)
    assert refused.status_code == 401
    assert member.last_name not in refused.text


def test_a_removed_account_is_refused(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    agent = factories.staff(db, username="gone.agent", role=Role.agent)
    headers = staff_headers(settings, agent)
    db.delete(agent)
    db.commit()

    assert app_client.get("/api/v1/employers/for-review", headers=headers).status_code == 401


def test_a_demoted_reviewer_can_no_longer_list_held_changes(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    reviewer = factories.staff(db, username="dana.data", role=Role.data_team)
    headers = staff_headers(settings, reviewer)
    assert app_client.get("/api/v1/change-requests", headers=headers).status_code == 200

    reviewer.role = Role.agent
    db.commit()

    assert app_client.get("/api/v1/change-requests", headers=headers).status_code == 403


@pytest.mark.parametrize(
    "path",
    ["/api/v1/change-requests", "/api/v1/refund-requests",
     "/api/v1/ballots/IA-2026-PAY/replacement-requests"],
)
def test_agents_cannot_list_the_queues_the_console_hides_from_them(
    app_client: TestClient, db: Session, settings: Settings, path: str
) -> None:
    factories.ballot(db, employers=[factories.employer(db)])
    agent = factories.staff(db, username="alex.agent", role=Role.agent)
    lead = factories.staff(db, username="terry.lead", role=Role.team_lead)

    assert app_client.get(path, headers=staff_headers(settings, agent)).status_code == 403
    assert app_client.get(path, headers=staff_headers(settings, lead)).status_code == 200
