"""The member a route is about, checked against who is asking, for every domain's routes."""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import Depends, HTTPException, Path
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from api.deps import CallerDep, SessionDep
from api.members.models import Member
from api.security import Caller

# Built once: building the statement cost as much CPU as running it (SQLAlchemy still caches
# its compiled form either way).
_BY_NUMBER = select(Member).where(Member.membership_number == bindparam("membership_number"))


MembershipNumber = Annotated[str, Path(max_length=20)]
SERVICE_REFUSED = "The service reaches a member's record only as that member."
NO_SUCH_MEMBER = "No such member."


def refuse_service(caller: Caller) -> None:
    """403 for the service token: it is shared by every conversation (valid_owned_member)."""
    if caller.kind == "service":
        raise HTTPException(403, SERVICE_REFUSED)


def check_owner(caller: Caller, member_id: int) -> None:
    """404 unless this caller may see the member with this row id: that member, or staff."""
    if caller.kind == "member" and caller.member_id != member_id:
        raise HTTPException(404, NO_SUCH_MEMBER)


def owned_member(*, db_session: Session, caller: Caller, membership_number: str) -> Member:
    """The member if this caller may see them, else 404 (run in the thread pool: it queries)."""
    member = db_session.scalar(_BY_NUMBER, {"membership_number": membership_number})
    if member is None:
        raise HTTPException(404, NO_SUCH_MEMBER)
    check_owner(caller, member.id)
    return member


async def valid_owned_member(
    membership_number: MembershipNumber, caller: CallerDep, db: SessionDep
) -> Member:
    """The member named in the path, if this caller may see them: that member, or staff.

    A member-scoped token asking for someone else gets exactly the 404 a missing member gets,
    so the API never confirms that another membership number exists. The service token (the
    action server and the channels) is refused outright: it is shared by every conversation, so
    whoever holds it could otherwise read and change any member's record. The assistant reaches
    a record only with the token the identity check issued to that member.

    `async`, with the query alone sent to the thread pool: the service token is refused without
    going there at all. Routes that need one trip for everything (the record, eligibility) call
    refuse_service and owned_member or check_owner themselves, in this order.
    """
    refuse_service(caller)
    return await to_thread.run_sync(
        lambda: owned_member(db_session=db, caller=caller, membership_number=membership_number)
    )


OwnedMember = Annotated[Member, Depends(valid_owned_member)]
