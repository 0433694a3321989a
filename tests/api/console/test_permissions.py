"""Route by route: nothing staff can see or do is open to an anonymous or member-scoped caller.

The routes come from the application itself, so a route added later is checked too; a route
that fits none of the known kinds fails the test until someone decides what it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.config import Settings
from api.console.session import console_user
from api.deps import get_caller, require_service, require_service_or_staff, require_staff
from api.main import create_app
from api.staff.models import Role, StaffUser
from tests.api import factories
from tests.api.conftest import member_headers, staff_headers
from tests.api.console.conftest import sign_in

# Open to anyone, on purpose.
PUBLIC = {
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/api/v1/health"),
    ("POST", "/api/v1/staff/sign-in"),
    # The link's single-use token is the capability (api.payments.links).
    ("GET", "/pay/{token}"),
    ("POST", "/pay/{token}"),
    ("GET", "/console/sign-in"),
    ("POST", "/console/sign-in"),
    ("GET", "/console/static/{name}"),
}
STAFF_GATES = {require_staff, require_service, require_service_or_staff, console_user}
# Pages only some roles may open.
ROLE_PAGES = {
    "/console/approvals": {Role.data_team, Role.team_lead, Role.admin},
    "/console/dashboard": {Role.data_team, Role.team_lead, Role.admin},
    "/console/data-quality": {Role.data_team, Role.admin},
    "/console/data-quality.csv": {Role.data_team, Role.admin},
    "/console/ballots": {Role.data_team, Role.admin},
    "/console/ballots/{ballot_code}/constituency.csv": {Role.data_team, Role.admin},
    "/console/ballots/{ballot_code}/replacement-papers.csv": {Role.data_team, Role.admin},
    "/console/members/{membership_number}/subject-access-export": {Role.data_team, Role.admin},
}


def _calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _routes() -> list[tuple[str, str, set[Callable[..., Any]]]]:
    found = []
    for context in iter_route_contexts(create_app().routes):
        route = context.original_route
        for method in sorted(context.methods or ()):
            if method == "HEAD":
                continue
            calls = set(_calls(route.dependant)) if isinstance(route, APIRoute) else set()
            found.append((method, context.path, calls))
    return found


ROUTES = _routes()
GUARDED = [(m, p) for m, p, calls in ROUTES if calls & STAFF_GATES]
MEMBER_OR_STAFF = [
    (m, p) for m, p, calls in ROUTES if get_caller in calls and not calls & STAFF_GATES
]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1000001", path)


def test_every_route_is_public_on_purpose_or_guarded() -> None:
    unclassified = [
        (m, p) for m, p, calls in ROUTES
        if (m, p) not in PUBLIC and not calls & STAFF_GATES and get_caller not in calls
    ]
    assert unclassified == [], "decide who may call these routes and guard them"
    assert all(p.startswith("/console") or p.startswith("/api/v1") for _, p in GUARDED)
    # The console's own routes are all behind its session, bar sign-in and static files.
    console_routes = [(m, p) for m, p, _ in ROUTES if p.startswith("/console")]
    assert len(console_routes) > 15
    assert {r for r in console_routes if r not in PUBLIC} <= set(GUARDED)


def test_an_anonymous_caller_is_refused_everywhere(console: TestClient) -> None:
    wrong = []
    for method, path in GUARDED + MEMBER_OR_STAFF:
        response = console.request(method, _concrete(path))
        if path.startswith("/console"):
            # Pages send a browser to sign in; a POST without a session is simply refused.
            refused = (
                response.status_code == 303 and response.headers["location"] == "/console/sign-in"
                if method == "GET" else response.status_code == 403
            )
        else:
            refused = response.status_code == 401
        if not refused:
            wrong.append((method, path, response.status_code))

    assert len(GUARDED) > 40
    assert wrong == []


def test_a_member_scoped_token_is_refused_on_every_staff_route(
    console: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db, membership_number="1000001")
    headers = member_headers(settings, member)
    wrong = []
    for method, path in GUARDED:
        response = console.request(method, _concrete(path), headers=headers)
        expected = {303, 403} if path.startswith("/console") else {403}
        if response.status_code not in expected:
            wrong.append((method, path, response.status_code))

    assert wrong == []


def test_an_agent_cannot_open_pages_beyond_their_role(
    console: TestClient, agent: StaffUser
) -> None:
    sign_in(console, "alex.agent")

    refused = {path: console.get(_concrete(path)).status_code for path in ROLE_PAGES}

    assert refused == {path: 403 for path in ROLE_PAGES}
    assert console.get("/console/queue").status_code == 200


@pytest.mark.parametrize("role", [Role.team_lead, Role.data_team, Role.admin])
def test_each_role_opens_the_pages_it_is_meant_to(
    role: Role, console: TestClient, db: Session
) -> None:
    factories.staff(db, "pat.person", role)
    employer = factories.employer(db)
    factories.ballot(db, employers=[employer], ballot_code="1000001")
    factories.member(db, employer=employer, membership_number="1000001")
    sign_in(console, "pat.person")

    opened = {path: console.get(_concrete(path)).status_code for path in ROLE_PAGES}

    assert opened == {path: 200 if role in roles else 403 for path, roles in ROLE_PAGES.items()}


def test_service_routes_refuse_staff_tokens_too(
    console: TestClient, agent: StaffUser, settings: Settings
) -> None:
    service_only = [(m, p) for m, p, calls in ROUTES if require_service in calls]
    assert ("GET", "/api/v1/conversations/{conversation_id}/handoff") in service_only
    for method, path in service_only:
        response = console.request(method, _concrete(path), headers=staff_headers(settings, agent))
        assert response.status_code == 403, (method, path)
