"""Every door of the records API checks who is knocking before it reads what they brought.

FastAPI reads and parses a request's body before it runs a route's dependencies, so a route's
own check of its caller (api.deps.get_caller) comes after the body is in memory and parsed.
This middleware runs first, on the headers alone: a request that may carry a body (POST, PUT,
PATCH, DELETE) to /api/v1 must present a bearer token that verifies (the service token, or a
member or staff token signed with our key and not expired), or it is answered 401 and its
body is never read. The route's own check still follows, with what a signature cannot tell:
whether a staff account is still active, the role, the member the token is for.

Doors outside /api/v1 whose key is a row in the database (the console's session cookie, the
token in a payment link's address) are KeyedDoors, given by their domains: the key is looked up
before the form is read, and a dead one gets the door's own refusal.

Open doors, where the caller proves who they are with the body itself, are listed in
OPEN_DOORS with why; tests/api/test_caller_first.py sends forged callers to every door.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.config import Settings
from api.database import get_db, new_session
from api.deps import NOT_SIGNED_IN, VERIFIED_CALLER, app_settings
from api.security import InvalidToken, caller_from_authorization

GUARDED_PREFIX = "/api/v1/"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Path -> why it opens without a token.
OPEN_DOORS: dict[str, str] = {
    "/api/v1/staff/sign-in": "staff prove who they are with the username and password it reads",
}
_ANSWER = json.dumps({"detail": NOT_SIGNED_IN}).encode()


async def _settings_of(app: object) -> Settings:
    """The settings the routes see, so a test's or a deployment's override counts here too."""
    overrides = getattr(app, "dependency_overrides", {})
    found = overrides.get(app_settings, app_settings)()
    return await found if inspect.isawaitable(found) else found  # type: ignore[no-any-return]


@dataclass(frozen=True)
class KeyedDoor:
    """A door outside the JSON API whose key is checked in the database before the body."""

    # Matched against the path; a door with an open part (signing in) leaves it out here.
    pattern: re.Pattern[str]
    # None when the request's key (from its path or cookies, never its body) opens the door;
    # otherwise the door's answer.
    refusal: Callable[[Session, re.Match[str], Request], Response | None]


@contextmanager
def _session_of(app: object) -> Any:
    """A database session from where the routes get theirs: a test's override of get_db (a
    plain generator), or else a new session on the process's engine, as get_db makes."""
    override = getattr(app, "dependency_overrides", {}).get(get_db)
    if override is None:
        with new_session() as session:
            yield session
        return
    sessions = override()
    try:
        yield next(sessions)
    finally:
        sessions.close()


def _authorization(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")
    return None


class CallerBeforeBody:
    def __init__(self, app: ASGIApp, keyed_doors: Sequence[KeyedDoor] = ()) -> None:
        self.app = app
        self.keyed_doors = tuple(keyed_doors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        for door in self.keyed_doors:
            found = door.pattern.fullmatch(scope["path"])
            if found is not None:
                refused = await to_thread.run_sync(self._refusal, door, found, scope)
                if refused is None:
                    await self.app(scope, receive, send)
                else:
                    await refused(scope, receive, send)
                return
        if not scope["path"].startswith(GUARDED_PREFIX) or scope["path"] in OPEN_DOORS:
            await self.app(scope, receive, send)
            return
        settings = await _settings_of(scope.get("app"))
        try:
            caller = caller_from_authorization(_authorization(scope), settings=settings)
        except InvalidToken:
            await send({"type": "http.response.start", "status": 401, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_ANSWER)).encode()),
                (b"www-authenticate", b"Bearer"),
            ]})
            await send({"type": "http.response.body", "body": _ANSWER})
            return
        # Verified once: the route's own check (api.deps.get_caller) takes it from here.
        scope.setdefault("state", {})[VERIFIED_CALLER] = caller
        await self.app(scope, receive, send)

    @staticmethod
    def _refusal(door: KeyedDoor, found: re.Match[str], scope: Scope) -> Response | None:
        # Request(scope) with no receive channel: cookies and headers only, the body unreachable.
        with _session_of(scope.get("app")) as db_session:
            return door.refusal(db_session, found, Request(scope))
