"""What a member owes: arrears brought forward plus failed collections not yet paid."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from api.members.models import Member
from api.members.schemas import MemberPublic
from api.money import PENNY
from api.payments.models import Collection, CollectionStatus

# What makes a collection unpaid: it failed and has not been settled since. One home for the
# statements below.
_UNPAID = (Collection.status == CollectionStatus.failed, Collection.settled_on.is_(None))

# Built once: every look-up of a member's record asks it, and building it took five times the
# CPU of running it.
_UNPAID_FAILED = select(func.coalesce(func.sum(Collection.amount), 0)).where(
    Collection.member_id == bindparam("member_id"), *_UNPAID
)

# The same sum as a column of another statement, for a read of the whole record in one query
# (api.membership.record).
UNPAID_FAILED_OF_MEMBER = (
    select(func.coalesce(func.sum(Collection.amount), 0))
    .where(Collection.member_id == Member.id, *_UNPAID)
    .correlate(Member)
    .scalar_subquery()
)


def arrears_total(*, brought_forward: Decimal | None, unpaid_failed: Decimal | None) -> Decimal:
    """Arrears brought forward plus unpaid failed collections, to the penny."""
    return (Decimal(brought_forward or 0) + Decimal(unpaid_failed or 0)).quantize(PENNY)


def arrears_for(*, db_session: Session, member: Member) -> Decimal:
    """Arrears brought forward from the CRM plus failed collections not since settled."""
    unpaid = db_session.scalar(_UNPAID_FAILED, {"member_id": member.id})
    return arrears_total(brought_forward=member.arrears_brought_forward, unpaid_failed=unpaid)


def unsettled_failed_collections(*, db_session: Session, member: Member) -> Sequence[Collection]:
    """The failed collections in arrears_for (none settled since), oldest first."""
    return db_session.scalars(
        select(Collection)
        .where(Collection.member_id == member.id, *_UNPAID)
        .order_by(Collection.due_on, Collection.id)
    ).all()


def public_view(*, db_session: Session, member: Member) -> MemberPublic:
    """The member's record as the API shows it, arrears included."""
    return MemberPublic.from_member(
        member, arrears=arrears_for(db_session=db_session, member=member)
    )
