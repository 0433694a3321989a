"""Every door refuses a forged caller before it reads the body (api.caller_first): the JSON
API without a token, with a made-up one, one signed with another key or an expired one; the
console without a live session; the payment page with a dead link. The body is never read:
the request's body stream records it if it is."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import anyio
import jwt
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from api.caller_first import OPEN_DOORS
from api.config import Settings
from api.console.session import COOKIE
from api.main import create_app
from api.payments.models import PaymentLink
from api.staff import service as staff_service
from api.staff.models import StaffSession
from api.timekeeping import utcnow
from tests.api import factories
from tests.api.conftest import real_app_client

_CHANGING = ("post", "put", "patch", "delete")
_DOORS = sorted(
    (method.upper(), path)
    for path, operations in create_app().openapi()["paths"].items()
    for method in operations
    if method in _CHANGING and path.startswith("/api/v1/")
)


def _forged(settings: Settings) -> dict[str, str | None]:
    claims = {"sub": "1", "typ": "member", "mn": "1000001", "lvl": "identity_checked"}
    return {
        "no token": None,
        "not a bearer": "Basic dXNlcjpwYXNz",
        "made up": "Bearer let-me-in",
        "another key": "Bearer " + jwt.encode(
            {**claims, "exp": utcnow() + timedelta(hours=1)}, "another-key-" + "y" * 40,
            algorithm="HS256"),
        "expired": "Bearer " + jwt.encode(
            {**claims, "exp": utcnow() - timedelta(minutes=1)}, settings.secret_key,
            algorithm="HS256"),
    }


def _ask(
    app: object, method: str, path: str, authorization: str | None, cookie: str | None = None
) -> tuple[int, bool]:
    """Send one request straight to the ASGI app; the status, and whether the body was read."""
    read: list[bool] = []
    status: list[int] = []

    async def receive() -> dict[str, object]:
        read.append(True)
        body = b"decision=approve&csrf_token=x" if form else b'{"membership_number": "1000001"}'
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            status.append(int(message["status"]))  # type: ignore[call-overload]

    # A form for the pages (FastAPI reads a form only when the request says it is one).
    form = not path.startswith("/api/")
    content_type = b"application/x-www-form-urlencoded" if form else b"application/json"
    headers = [(b"content-type", content_type), (b"host", b"testserver")]
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    anyio.run(app, scope, receive, send)  # type: ignore[arg-type]
    return status[0], bool(read)


def test_the_open_doors_exist_and_say_why() -> None:
    assert {path for _, path in _DOORS} >= set(OPEN_DOORS)
    assert all(len(why) > 30 for why in OPEN_DOORS.values())


@pytest.mark.parametrize(("method", "template"), [d for d in _DOORS if d[1] not in OPEN_DOORS])
def test_a_forged_caller_is_refused_before_the_body_is_read(
    engine, settings: Settings, method: str, template: str  # type: ignore[no-untyped-def]
) -> None:
    path = re.sub(r"\{[^}]+\}", "1000001", template)
    with real_app_client(engine, settings) as client:
        for forgery, authorization in _forged(settings).items():
            status, body_read = _ask(client.app, method, path, authorization)
            assert (status, body_read) == (401, False), (method, path, forgery)


def _console_posts() -> list[str]:
    """Every console form's path (the console is left out of the OpenAPI schema)."""
    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, Any]]:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is None:
                yield prefix + getattr(route, "path", ""), route
            else:
                yield from walk(inner.routes, prefix + route.include_context.prefix)

    return sorted({
        path for path, route in walk(create_app().routes, "")
        if path.startswith("/console/") and "POST" in getattr(route, "methods", ())
    })


def test_every_console_form_is_found() -> None:
    assert {"/console/sign-in", "/console/sign-out",
            "/console/change-requests/{reference}/decision"} <= set(_console_posts())


@pytest.mark.parametrize("template", [p for p in _console_posts() if p != "/console/sign-in"])
def test_a_console_form_without_a_live_session_is_refused_before_it_is_read(
    engine, db: Session, settings: Settings, template: str  # type: ignore[no-untyped-def]
) -> None:
    staff = factories.staff(db)
    ended, _csrf = staff_service.start_session(db_session=db, user=staff,
                                               lifetime=timedelta(hours=1))
    db.execute(update(StaffSession).values(ended_at=utcnow()))
    db.commit()
    path = re.sub(r"\{[^}]+\}", "CR-1", template)
    with real_app_client(engine, settings) as client:
        for forgery, cookie in {"no cookie": None, "made up": f"{COOKIE}=let-me-in",
                                "signed out": f"{COOKIE}={ended}"}.items():
            status, body_read = _ask(client.app, "POST", path, None, cookie)
            assert (status, body_read) == (403, False), (path, forgery)


def test_a_payment_page_with_a_dead_link_is_refused_before_the_bank_details_are_read(
    engine, db: Session, settings: Settings  # type: ignore[no-untyped-def]
) -> None:
    member = factories.member(db)
    used_token = factories.payment_link_token(db, settings, member)
    db.execute(update(PaymentLink).values(used_at=utcnow()))
    db.commit()
    with real_app_client(engine, settings) as client:
        assert _ask(client.app, "POST", "/pay/made-up-token", None) == (404, False)
        assert _ask(client.app, "POST", f"/pay/{used_token}", None) == (410, False)
