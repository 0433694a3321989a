"""Finding members by an email address, for staff (one member's record is in api.membership)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import SessionDep, StaffCaller
from api.members import service
from api.members.schemas import MemberEmailMatch

router = APIRouter(tags=["members"])


@router.get("/members", response_model=list[MemberEmailMatch])
def find_members_by_email(
    _caller: StaffCaller,
    db: SessionDep,
    email: Annotated[str, Query(min_length=3, max_length=254)],
) -> list[MemberEmailMatch]:
    """Staff: members whose email on record matches (not an identity check).

    Email triage looks senders up inside the records API (api.mail.inbound); the channels'
    service token gets 403 here, or an email address would tell whoever holds it whose it is.
    """
    members = service.find_by_email(db_session=db, email=email)
    return [MemberEmailMatch.model_validate(m, from_attributes=True) for m in members]
