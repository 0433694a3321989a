"""Console pages for signing in and out, and the console's static files.

Only these routes work without a console session: the sign-in form protects itself with a
double-submit cookie, since there is no session CSRF token yet.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.console.pages import API_ROOT, page
from api.console.session import COOKIE, SIGN_IN_COOKIE, ConsolePost, ConsoleUserDep, set_cookie
from api.deps import SessionDep, SettingsDep
from api.errors import NotAuthenticated
from api.staff import service as staff_service

router = APIRouter()

_STATIC = API_ROOT / "static" / "console"
# Browser packages come from npm (package.json), installed by scripts/setup.sh.
_NODE_MODULES = API_ROOT.parent / "node_modules"
_STATIC_FILES = {
    "console.css": (_STATIC / "console.css", "text/css"),
    "console.js": (_STATIC / "console.js", "text/javascript"),
    "htmx.min.js": (_NODE_MODULES / "htmx.org" / "dist" / "htmx.min.js", "text/javascript"),
}


@router.get("/static/{name}")
def static(name: Annotated[str, PathParam(max_length=40)]) -> FileResponse:
    """The console's own stylesheet and script, and htmx from node_modules."""
    found = _STATIC_FILES.get(name)
    if found is None or not found[0].is_file():
        raise HTTPException(404, "No such file.")
    return FileResponse(found[0], media_type=found[1], headers={"Cache-Control": "max-age=3600"})


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request) -> HTMLResponse:
    """The sign-in form, with a fresh sign-in CSRF token (double-submit cookie)."""
    token = secrets.token_urlsafe(24)
    response = page("sign_in.html", None, request, sign_in_token=token, username="")
    set_cookie(response, SIGN_IN_COOKIE, token, max_age=3600)
    return response


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=60)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    sign_in_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Check the password (lock-out after repeated failures) and start a session."""
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, sign_in_token):
        raise HTTPException(403, "This form has expired. Reload the page and try again.")
    try:
        user = staff_service.authenticate(
            db_session=db, username=username, password=password, channel="console"
        )
    except NotAuthenticated as exc:
        token = secrets.token_urlsafe(24)
        refused = page("sign_in.html", None, request, status_code=401, sign_in_token=token,
                       username=username[:60], failure=exc.message)
        set_cookie(refused, SIGN_IN_COOKIE, token, max_age=3600)
        return refused
    lifetime = settings.staff_token_minutes * 60
    token, _csrf = staff_service.start_session(
        db_session=db, user=user, lifetime=timedelta(seconds=lifetime)
    )
    response = RedirectResponse("/console/queue", status_code=303)
    set_cookie(response, COOKIE, token, max_age=lifetime)
    response.delete_cookie(SIGN_IN_COOKIE, path="/console")
    return response


@router.post("/sign-out")
def sign_out(who: ConsolePost, db: SessionDep) -> RedirectResponse:
    """End the session everywhere."""
    staff_service.end_session(db_session=db, session=who.session, channel="console")
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("")
def home(_who: ConsoleUserDep) -> RedirectResponse:
    """The queues are the console's front page."""
    return RedirectResponse("/console/queue", status_code=303)
