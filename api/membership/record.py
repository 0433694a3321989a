"""A member's record read in one statement: the assistant's most frequent request.

The ORM way took two statements (the member with their employer and workplace joined in, then
the unpaid failed collections) in two trips to the thread pool, built a Member object with its
relationships, and had FastAPI check the answer against the response model once more. Here one
Core statement returns the record's columns, the employer's and workplace's names and the
unpaid sum as one row mapping, in one trip (over asyncpg on PostgreSQL: api.reads); the answer
is validated once, as MemberPublic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from api.employers.models import Employer, Workplace
from api.members.deps import NO_SUCH_MEMBER, check_owner
from api.members.models import Member
from api.members.schemas import MemberPublic
from api.payments.arrears import UNPAID_FAILED_OF_MEMBER, arrears_total
from api.reads import read_one
from api.security import Caller

# The columns MemberPublic shows as they are stored; employer, workplace and arrears are not.
_WORKED_OUT = {"employer", "workplace", "arrears"}
_STORED = [getattr(Member, name) for name in MemberPublic.model_fields if name not in _WORKED_OUT]

# Built once: building a statement costs SQLAlchemy more CPU than running it.
_RECORD = (
    select(
        Member.id,
        *_STORED,
        Member.arrears_brought_forward,
        Employer.name.label("employer"),
        Workplace.name.label("workplace"),
        UNPAID_FAILED_OF_MEMBER.label("unpaid_failed"),
    )
    .outerjoin(Employer, Employer.id == Member.employer_id)
    .outerjoin(Workplace, Workplace.id == Member.workplace_id)
    .where(Member.membership_number == bindparam("membership_number"))
)


async def owned_record(
    *, db_session: Session, caller: Caller, membership_number: str
) -> MemberPublic:
    """The member's record if this caller may see it, else the 404 valid_owned_member gives.

    Read by api.reads.read_one, which also closes the session: on PostgreSQL the row comes
    over asyncpg without a trip to the thread pool, so api.database.get_db has nothing to hand
    back and closes the session on the event loop.
    """
    record = await read_one(db_session, _RECORD, {"membership_number": membership_number})
    if record is None:
        raise HTTPException(404, NO_SUCH_MEMBER)
    check_owner(caller, record["id"])
    return _public(record)


def _public(row: Mapping[str, Any]) -> MemberPublic:
    """The public view of a row of _RECORD, arrears worked out as arrears_for does."""
    return MemberPublic.model_validate(
        {
            **{column.key: row[column.key] for column in _STORED},
            "employer": row["employer"],
            "workplace": row["workplace"],
            "arrears": arrears_total(
                brought_forward=row["arrears_brought_forward"], unpaid_failed=row["unpaid_failed"]
            ),
        }
    )
