"""Finding members by the email they wrote from (one member's record is in api.membership)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ServiceOrStaffCaller, SessionDep
from api.members import service
from api.members.schemas import MemberEmailMatch

router = APIRouter(tags=["members"])


@router.get("/members", response_model=list[MemberEmailMatch])
def find_members_by_email(
    _caller: ServiceOrStaffCaller,
    db: SessionDep,
    email: Annotated[str, Query(min_length=3, max_length=254)],
) -> list[MemberEmailMatch]:
    """Members whose email on record matches, for email triage (not an identity check)."""
    members = service.find_by_email(db_session=db, email=email)
    return [MemberEmailMatch.model_validate(m, from_attributes=True) for m in members]
