"""Reading member records."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.members.models import Member


def get_by_number(*, db_session: Session, membership_number: str) -> Member | None:
    """The member with this membership number, if any."""
    return db_session.scalar(select(Member).where(Member.membership_number == membership_number))


def find_by_email(*, db_session: Session, email: str) -> list[Member]:
    """Members whose email on record is `email`, ignoring case."""
    wanted = email.strip().lower()
    if not wanted:
        return []
    return list(
        db_session.scalars(
            select(Member)
            .where(func.lower(Member.email) == wanted)
            .order_by(Member.membership_number)
            .limit(20)
        )
    )
