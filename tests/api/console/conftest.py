"""Console fixtures: a browser-like client on https (the session cookie is Secure) and staff."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.ballots.models import Ballot
from api.cases import service as cases
from api.cases.models import Case
from api.changes import applying as changes
from api.changes.models import ChangeRequest, ChangeStatus
from api.changes.schemas import EmploymentChange
from api.config import Settings
from api.members.models import Member
from api.security import Caller
from api.staff.models import Role, StaffUser, Team
from api.staff.service import ensure_default_teams
from api.timekeeping import today
from tests.api import factories
from tests.api.conftest import real_app_client

PASSWORD = "correct horse battery staple"


@pytest.fixture
def console(engine: Engine, db: Session, settings: Settings) -> Iterator[TestClient]:
    """A client for the console; cookies persist between its requests, like a browser's."""
    with real_app_client(
        engine, settings, base_url="https://testserver", follow_redirects=False
    ) as client:
        yield client


@pytest.fixture
def teams(db: Session) -> dict[str, Team]:
    return {t.code: t for t in ensure_default_teams(db)}


@pytest.fixture
def agent(db: Session, teams: dict[str, Team]) -> StaffUser:
    return factories.staff(db, "alex.agent", Role.agent, team=teams["records"])


@pytest.fixture
def data_user(db: Session, teams: dict[str, Team]) -> StaffUser:
    return factories.staff(db, "dana.data", Role.data_team, team=teams["records"])


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    """Sign in through the form, as a browser does; returns the POST's response."""
    page = client.get("/console/sign-in")
    token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text)
    assert token, page.text
    return client.post(
        "/console/sign-in",
        data={"username": username, "password": password, "sign_in_token": token.group(1)},
    )


def csrf_token(client: TestClient, path: str = "/console/queue") -> str:
    """The session's CSRF token, read from a page like the browser's forms do."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def open_case(
    db: Session, settings: Settings, *, member_id: int | None = None,
    conversation_id: str | None = "webchat-conv-1", transcript: list[dict[str, str]] | None = None,
    intent: str = "change_address", summary: str = "Member wants to change their address",
    channel: str = "webchat",
) -> Case:
    """A case escalated by the assistant, as POST /cases makes it."""
    opened = cases.open_case(
        db_session=db, member_id=member_id, channel=channel, conversation_id=conversation_id,
        intent=intent, summary=summary,
        transcript=transcript if transcript is not None else [
            {"at": "2026-11-30T10:00:00+00:00", "sender": "member", "text": "I've moved house"},
            {"at": "2026-11-30T10:00:05+00:00", "sender": "bot", "text": "What is the postcode?"},
        ],
        collected_values={"postcode": "LS2 9JT"}, identity_level="identity_checked",
        actor="service:assistant", settings=settings,
    )
    return opened.case


def pending_employment_change(db: Session, member: Member | None = None) -> ChangeRequest:
    """A member of a running NHS ballot moving to the council: held for the data team."""
    nhs = factories.employer(db, "Northshire NHS Trust", ("General Hospital",))
    factories.employer(db, "Leeds City Council", ("Civic Hall",))
    if db.scalar(select(Ballot).where(Ballot.ballot_code == "IA-2026-PAY")) is None:
        factories.ballot(db, employers=[nhs], register_date=today() - timedelta(days=10),
                         opens_on=today() - timedelta(days=3),
                         closes_on=today() + timedelta(days=21))
    member = member or factories.member(db, employer=nhs, email="priya@example.org")
    result = changes.change_employment(
        db_session=db, member=member,
        caller=Caller(kind="member", member_id=member.id,
                      membership_number=member.membership_number),
        channel="webchat",
        employment=EmploymentChange(employer="Leeds City Council", workplace="Civic Hall"),
    )
    assert result.change.status == ChangeStatus.pending_review
    return result.change
