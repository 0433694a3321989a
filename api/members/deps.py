"""The member a route is about, checked against who is asking, for every domain's routes."""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import Depends, HTTPException, Path
from sqlalchemy import bindparam, select

from api.deps import CallerDep, SessionDep
from api.members.models import Member

# Built once: building the statement cost as much CPU as running it (SQLAlchemy still caches
# its compiled form either way).
_BY_NUMBER = select(Member).where(Member.membership_number == bindparam("membership_number"))


async def valid_owned_member(
    membership_number: Annotated[str, Path(max_length=20)], caller: CallerDep, db: SessionDep
) -> Member:
    """The member named in the path, if this caller may see them: that member, or staff.

    A member-scoped token asking for someone else gets exactly the 404 a missing member gets,
    so the API never confirms that another membership number exists. The service token (the
    action server and the channels) is refused outright: it is shared by every conversation, so
    whoever holds it could otherwise read and change any member's record. The assistant reaches
    a record only with the token the identity check issued to that member.

    `async`, with the query alone sent to the thread pool: the service token is refused without
    going there at all.
    """
    if caller.kind == "service":
        raise HTTPException(403, "The service reaches a member's record only as that member.")
    member = await to_thread.run_sync(
        lambda: db.scalar(_BY_NUMBER, {"membership_number": membership_number})
    )
    if member is None or (caller.kind == "member" and caller.member_id != member.id):
        raise HTTPException(404, "No such member.")
    return member


OwnedMember = Annotated[Member, Depends(valid_owned_member)]
