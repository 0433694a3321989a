"""Staff sign-in and the signed-in staff user's own account."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api.deps import ChannelDep, SessionDep, SettingsDep, StaffCaller
from api.security import issue_staff_token
from api.staff import service
from api.staff.models import StaffUser
from api.staff.schemas import SignedIn, SignIn, StaffPublic, TeamPublic

router = APIRouter(tags=["staff"])


@router.post("/staff/sign-in", response_model=SignedIn)
def sign_in(body: SignIn, db: SessionDep, settings: SettingsDep, channel: ChannelDep) -> SignedIn:
    """Exchange a username and password for a staff token."""
    user = service.authenticate(
        db_session=db, username=body.username, password=body.password, channel=channel
    )
    token = issue_staff_token(
        settings=settings, staff_id=user.id, username=user.username, role=user.role.value
    )
    return SignedIn(token=token, role=user.role.value, display_name=user.display_name)


@router.get("/staff/me", response_model=StaffPublic)
def me(db: SessionDep, caller: StaffCaller) -> StaffPublic:
    """The signed-in staff user's account."""
    user = db.get(StaffUser, caller.staff_id)
    if user is None or not user.active:
        # A token outliving its account proves nothing any more.
        raise HTTPException(401, "Sign in or present a valid token.")
    team = user.team
    return StaffPublic(
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        role=user.role.value,
        team=TeamPublic(code=team.code, name=team.name, email=team.email) if team else None,
    )
