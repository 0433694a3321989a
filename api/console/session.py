"""Who is using the console: the session cookie, CSRF checks and role checks.

The cookie holds a random token (HttpOnly, Secure, SameSite=Strict, path /console); only its
hash is stored, with the session's CSRF token, which every POST must echo in a form field or
the X-CSRF-Token header (htmx sends it from the page). A bearer token of any kind is ignored
here: the console is for people signed in through it.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from api.caller_first import KeyedDoor
from api.deps import SessionDep
from api.staff import service as staff_service
from api.staff.models import StaffSession, StaffUser
from api.staff.permissions import Permission, can

COOKIE = "memberdesk_console"
SIGN_IN_COOKIE = "memberdesk_console_sign_in"
SIGN_IN_PATH = "/console/sign-in"


@dataclass(frozen=True)
class ConsoleUser:
    """A signed-in staff user and their console session."""

    user: StaffUser
    session: StaffSession

    def can(self, permission: Permission) -> bool:
        return can(self.user.role, permission)


def set_cookie(response: Response, name: str, value: str, *, max_age: int | None) -> None:
    """A console cookie: never readable by scripts, never sent to another site."""
    response.set_cookie(
        name, value, max_age=max_age, path="/console", httponly=True, secure=True,
        samesite="strict",
    )


def _refuse(request: Request) -> HTTPException:
    if request.method in ("GET", "HEAD"):
        if request.headers.get("hx-request"):
            # htmx follows HX-Redirect with a full page load.
            return HTTPException(401, "Sign in first.", {"HX-Redirect": SIGN_IN_PATH})
        return HTTPException(303, "Sign in first.", {"Location": SIGN_IN_PATH})
    return HTTPException(403, "Sign in first.")


def console_user(request: Request, db: SessionDep) -> ConsoleUser:
    """The signed-in staff user, or a redirect to the sign-in page (403 for a POST)."""
    found = staff_service.session_for(db_session=db, token=request.cookies.get(COOKIE))
    if found is None:
        raise _refuse(request)
    session, user = found
    return ConsoleUser(user=user, session=session)


ConsoleUserDep = Annotated[ConsoleUser, Depends(console_user)]

# Every console form but signing in is posted by a signed-in user: the session cookie is looked
# up before the form is read (api.caller_first), as console_user would after.
def _signed_out(db_session: Session, _found: re.Match[str], request: Request) -> Response | None:
    if staff_service.session_for(db_session=db_session, token=request.cookies.get(COOKIE)):
        return None
    return JSONResponse({"detail": "Sign in first."}, status_code=403)


CONSOLE_DOOR = KeyedDoor(pattern=re.compile(r"/console/(?!sign-in$).*"), refusal=_signed_out)


async def checked_form(request: Request, who: ConsoleUserDep) -> ConsoleUser:
    """A signed-in user whose POST carries the session's CSRF token."""
    sent = request.headers.get("x-csrf-token")
    if not sent:
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), who.session.csrf_token.encode()):
        raise HTTPException(403, "This form has expired. Reload the page and try again.")
    return who


ConsolePost = Annotated[ConsoleUser, Depends(checked_form)]


def needs(permission: Permission):  # type: ignore[no-untyped-def]
    """A dependency refusing (403) staff whose role lacks `permission`."""

    def _check(who: ConsoleUserDep) -> ConsoleUser:
        if not who.can(permission):
            raise HTTPException(403, "Your role cannot open this page.")
        return who

    return Depends(_check)
