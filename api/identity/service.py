"""Identity checks: membership number, date of birth and postcode, with a lockout.

Whichever fact is wrong, the caller hears the same thing, and a wrong guess costs about the
same work as a right one, so the check cannot be used to learn which numbers exist.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.audit.service import record
from api.config import Settings
from api.errors import DomainError, LockedOut, NotAllowed, NotAuthenticated, NotFound
from api.identity.models import IdentityAttempt, Lockout
from api.members.models import Member, Status
from api.security import issue_member_token
from api.timekeeping import aware_utc, utcnow
from api.validation import normalise_membership_number, normalise_postcode

NOT_MATCHED = "We couldn't match those details to a membership."
UK_TIME = ZoneInfo("Europe/London")


class IdentityLocked(LockedOut):
    """Too many failed checks for this membership number; says honestly until when."""

    def __init__(self, locked_until: datetime) -> None:
        local = locked_until.astimezone(UK_TIME)
        super().__init__(
            "This membership number is locked after too many unsuccessful attempts. "
            f"Please try again after {local:%H:%M} (UK time)."
        )
        self.locked_until = locked_until


@dataclass(frozen=True)
class MemberSession:
    """A member-scoped token and who it is for."""

    member: Member
    token: str
    expires_in: int
    identity_level: str


def _same(typed: str, on_record: str) -> bool:
    return hmac.compare_digest(typed.encode(), on_record.encode())


def _typed_number(raw: str) -> str:
    try:
        return normalise_membership_number(raw)
    except DomainError:
        # Kept as typed (trimmed), so repeated guesses at a malformed number still lock.
        return re.sub(r"[\s-]+", "", raw)[:20]


def _typed_postcode(raw: str) -> str:
    try:
        return normalise_postcode(raw)
    except DomainError:
        return re.sub(r"\s+", "", raw).upper()


def active_lockout(*, db_session: Session, membership_number: str) -> datetime | None:
    """When the lock on this number ends, if it is locked now."""
    lockout = db_session.get(Lockout, membership_number)
    if lockout is None:
        return None
    locked_until = aware_utc(lockout.locked_until)
    return locked_until if locked_until > utcnow() else None


def _failures_counted(*, db_session: Session, settings: Settings, membership_number: str) -> int:
    """Failures since the latest of: the window's start, the last success, the last lock's end."""
    since = utcnow() - timedelta(minutes=settings.identity_lockout_minutes)
    last_success = db_session.scalar(
        select(func.max(IdentityAttempt.attempted_at)).where(
            IdentityAttempt.membership_number == membership_number,
            IdentityAttempt.succeeded.is_(True),
        )
    )
    lockout = db_session.get(Lockout, membership_number)
    # Attempts refused while locked, and the failures that caused the lock, all fall before
    # the lock's end, so a member starts afresh when it lifts.
    for moment in (last_success, lockout.locked_until if lockout else None):
        if moment is not None and aware_utc(moment) > since:
            since = aware_utc(moment)
    failures = db_session.scalar(
        select(func.count()).select_from(IdentityAttempt).where(
            IdentityAttempt.membership_number == membership_number,
            IdentityAttempt.succeeded.is_(False),
            IdentityAttempt.attempted_at > since,
        )
    )
    return int(failures or 0)


def check_identity(
    *,
    db_session: Session,
    settings: Settings,
    membership_number: str,
    date_of_birth: str,
    postcode: str,
    channel: str,
    actor: str,
) -> MemberSession:
    """A member token when all three facts match; NotAuthenticated or IdentityLocked otherwise."""
    number = _typed_number(membership_number)
    typed_postcode = _typed_postcode(postcode)
    typed_dob = date_of_birth.strip()
    # Always look up, even for a malformed number, so unknown numbers cost the same.
    member = db_session.scalar(select(Member).where(Member.membership_number == number))

    locked_until = active_lockout(db_session=db_session, membership_number=number)
    if locked_until is not None:
        db_session.add(IdentityAttempt(membership_number=number, succeeded=False, channel=channel))
        db_session.commit()
        raise IdentityLocked(locked_until)

    # Compare every factor, whatever the first one says, against a stand-in for unknown numbers.
    on_record_number = member.membership_number if member else "0000000"
    on_record_dob = member.date_of_birth.isoformat() if member else "0000-00-00"
    on_record_postcode = member.postcode if member else "ZZ0 0ZZ"
    matches = [
        _same(number, on_record_number),
        _same(typed_dob, on_record_dob),
        _same(typed_postcode, on_record_postcode),
    ]
    passed = member is not None and all(matches) and member.status != Status.deceased

    db_session.add(IdentityAttempt(membership_number=number, succeeded=passed, channel=channel))
    db_session.flush()
    if not passed:
        failures = _failures_counted(
            db_session=db_session, settings=settings, membership_number=number
        )
        if failures >= settings.identity_max_failures:
            until = utcnow() + timedelta(minutes=settings.identity_lockout_minutes)
            lockout = db_session.get(Lockout, number)
            if lockout is None:
                db_session.add(Lockout(membership_number=number, locked_until=until))
            else:
                lockout.locked_until = until
            record(
                db_session=db_session,
                actor=actor,
                action="identity_locked",
                member_id=member.id if member else None,
                channel=channel,
                detail=f"{failures} failed identity checks; locked until {until.isoformat()}",
            )
        db_session.commit()
        raise NotAuthenticated(NOT_MATCHED)

    assert member is not None
    record(
        db_session=db_session,
        actor=actor,
        action="identity_checked",
        member_id=member.id,
        fields=("membership_number", "date_of_birth", "postcode"),
        channel=channel,
    )
    db_session.commit()
    token, seconds = issue_member_token(
        settings=settings, member_id=member.id, membership_number=member.membership_number
    )
    return MemberSession(
        member=member, token=token, expires_in=seconds, identity_level="identity_checked"
    )


def signed_in_session(
    *, db_session: Session, settings: Settings, membership_number: str, channel: str, actor: str
) -> MemberSession:
    """A member token for someone the organisation's website has already signed in."""
    number = normalise_membership_number(membership_number)
    member = db_session.scalar(select(Member).where(Member.membership_number == number))
    if member is None:
        raise NotFound("No such member.", field="membership_number")
    if member.status == Status.deceased:
        raise NotAllowed("This membership is closed.", field="membership_number")
    record(
        db_session=db_session,
        actor=actor,
        action="identity_signed_in",
        member_id=member.id,
        channel=channel,
    )
    db_session.commit()
    token, seconds = issue_member_token(
        settings=settings, member_id=member.id, membership_number=member.membership_number,
        identity_level="signed_in",
    )
    return MemberSession(member=member, token=token, expires_in=seconds, identity_level="signed_in")
