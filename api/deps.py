"""FastAPI dependencies shared by every domain's routes. Imports no domain."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated

from anyio import to_thread
from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.config import Settings, get_settings
from api.database import get_db
from api.idempotency.claims import (
    CHANGING_METHODS,
    KEY_HEADER,
    STATE_NAME,
    checked_key,
    claim,
    scope_of,
)
from api.security import Caller, InvalidToken, caller_from_authorization
from api.timekeeping import utcnow

# The dependencies below that only look at the request are `async def`: FastAPI runs a plain
# `def` dependency on its thread pool, and those hops, not the database, were most of a
# look-up's time (docs/benchmarks.md). Anything that touches the database stays `def`.


async def app_settings() -> Settings:
    """The process's settings (read once, by get_settings)."""
    return get_settings()


SettingsDep = Annotated[Settings, Depends(app_settings)]


async def request_time() -> datetime:
    """The current time for a route whose answer depends on the hour (tests pin it here)."""
    return utcnow()


NowDep = Annotated[datetime, Depends(request_time)]


# Where api.caller_first leaves the caller it verified from the request's token, so the route's
# own check does not verify the same token again.
VERIFIED_CALLER = "verified_caller"


def bearer_caller(request: Request, settings: Settings) -> Caller:
    """The caller the request's bearer token proves, or InvalidToken: the one api.caller_first
    verified already, or verified now (a GET, which that middleware does not look at)."""
    found = getattr(request.state, VERIFIED_CALLER, None)
    if isinstance(found, Caller):
        return found
    return caller_from_authorization(request.headers.get("authorization"), settings=settings)


async def request_session(
    request: Request, session: Annotated[Session, Depends(get_db)], settings: SettingsDep
) -> Session:
    """The request's session; a change sent with an Idempotency-Key claims the key in it.

    Claimed here, in the session the route commits, so the key and the change are committed
    together or not at all (api.idempotency). A repeat never reaches the route: it is answered
    with the first answer, or told the first is still being dealt with. Only a caller whose
    token verifies gets that far: for anyone else the route's own check answers 401.
    """
    key = request.headers.get(KEY_HEADER)
    if key is None or request.method not in CHANGING_METHODS:
        return session
    try:
        caller = bearer_caller(request, settings)
    except InvalidToken:
        return session
    scope = scope_of(actor=caller.actor, method=request.method, path=request.url.path)
    body = await request.body()
    checked = checked_key(key)
    claimed = await to_thread.run_sync(
        lambda: claim(db_session=session, scope=scope, key=checked, body=body)
    )
    setattr(request.state, STATE_NAME, claimed)
    return session


SessionDep = Annotated[Session, Depends(request_session)]

CHANNELS = ("webchat", "telegram", "email", "rest", "console", "api", "import")


NOT_SIGNED_IN = "Sign in or present a valid token."
# Read by table name: this module is below the staff domain, which owns the table.
_STAFF_STANDING = text("SELECT active, role FROM staff_users WHERE id = :id")


async def get_caller(
    request: Request,
    settings: SettingsDep,
    db: Annotated[Session, Depends(get_db)],
) -> Caller:
    """The verified caller, or 401.

    A staff token carries the role it was issued with and lasts hours, so the staff member is
    read again on every request: a deactivated account is refused at once, and a changed role
    counts from the next request, not the next sign-in.
    """
    try:
        caller = bearer_caller(request, settings)
    except InvalidToken:
        raise HTTPException(401, NOT_SIGNED_IN, {"WWW-Authenticate": "Bearer"}) from None
    if caller.kind != "staff":
        return caller
    standing = await to_thread.run_sync(
        lambda: db.execute(_STAFF_STANDING, {"id": caller.staff_id}).first()
    )
    if standing is None or not standing.active:
        raise HTTPException(401, "This staff account is not active.",
                            {"WWW-Authenticate": "Bearer"})
    role = getattr(standing.role, "value", standing.role)
    return replace(caller, role=str(role))


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_channel(x_memberdesk_channel: Annotated[str | None, Header()] = None) -> str:
    """The channel the request came through, as the caller reports it (for the audit log)."""
    channel = (x_memberdesk_channel or "api").lower()
    return channel if channel in CHANNELS else "api"


ChannelDep = Annotated[str, Depends(get_channel)]


async def require_service(caller: CallerDep) -> Caller:
    """Only the action server and the channels."""
    if caller.kind != "service":
        raise HTTPException(403, "Not enough permissions.")
    return caller


async def require_staff(caller: CallerDep) -> Caller:
    """Only signed-in staff."""
    if caller.kind != "staff":
        raise HTTPException(403, "Not enough permissions.")
    return caller


async def require_service_or_staff(caller: CallerDep) -> Caller:
    """The action server, the channels or staff; never a member-scoped token."""
    if caller.kind == "member":
        raise HTTPException(403, "Not enough permissions.")
    return caller


async def require_service_or_member(caller: CallerDep) -> Caller:
    """The action server and the channels, or one verified member; never staff."""
    if caller.kind == "staff":
        raise HTTPException(403, "Not enough permissions.")
    return caller


ServiceCaller = Annotated[Caller, Depends(require_service)]
ServiceOrMemberCaller = Annotated[Caller, Depends(require_service_or_member)]
StaffCaller = Annotated[Caller, Depends(require_staff)]
ServiceOrStaffCaller = Annotated[Caller, Depends(require_service_or_staff)]
