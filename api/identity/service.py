"""Identity checks: membership number, date of birth and postcode, with a lockout.

Whichever fact is wrong, the caller hears the same thing, and a wrong guess costs about the
same work as a right one, so the check cannot be used to learn which numbers exist.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.orm import Session

from api.audit.service import record
from api.config import Settings
from api.errors import DomainError, LockedOut, NotAllowed, NotAuthenticated, NotFound
from api.identity.models import ConversationLockout, IdentityAttempt, Lockout
from api.members.models import Member, Status
from api.security import issue_member_token
from api.timekeeping import aware_utc, utcnow
from api.validation import normalise_membership_number, normalise_postcode

NOT_MATCHED = "We couldn't match those details to a membership."
UK_TIME = ZoneInfo("Europe/London")


class IdentityLocked(LockedOut):
    """Too many failed checks in this conversation, or for this number from many; says
    honestly until when."""

    def __init__(self, locked_until: datetime, *, what: str = "This membership number") -> None:
        local = locked_until.astimezone(UK_TIME)
        super().__init__(
            f"{what} is locked after too many unsuccessful attempts. "
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
    return _still_locked(db_session.get(Lockout, membership_number))


def _still_locked(lockout: Lockout | ConversationLockout | None) -> datetime | None:
    if lockout is None:
        return None
    locked_until = aware_utc(lockout.locked_until)
    return locked_until if locked_until > utcnow() else None


def _one_check_at_a_time(db_session: Session, *keys: str) -> None:
    """Serialise checks of the same number or in the same conversation (PostgreSQL).

    Two checks at the same moment would otherwise each count the failures before the other's
    and neither lock. A transaction-scoped advisory lock per key makes the count and the lock
    atomic; it is released at commit. SQLite already runs one writer at a time.
    """
    if db_session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        db_session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


def _failures_counted(
    *, db_session: Session, settings: Settings, which: ColumnElement[bool],
    lock: Lockout | ConversationLockout | None,
) -> int:
    """Failed checks matching `which` since the latest of: the window's start, the last
    success, the last lock's end."""
    since = utcnow() - timedelta(minutes=settings.identity_lockout_minutes)
    last_success = db_session.scalar(
        select(func.max(IdentityAttempt.attempted_at)).where(
            which, IdentityAttempt.succeeded.is_(True)
        )
    )
    # Attempts refused while locked, and the failures that caused the lock, all fall before
    # the lock's end, so a member starts afresh when it lifts.
    for moment in (last_success, lock.locked_until if lock else None):
        if moment is not None and aware_utc(moment) > since:
            since = aware_utc(moment)
    failures = db_session.scalar(
        select(func.count()).select_from(IdentityAttempt).where(
            which, IdentityAttempt.succeeded.is_(False), IdentityAttempt.attempted_at > since,
        )
    )
    return int(failures or 0)


def _lock(
    db_session: Session, lock: Lockout | ConversationLockout | None,
    new: Callable[[datetime], Lockout | ConversationLockout], until: datetime,
) -> None:
    if lock is None:
        db_session.add(new(until))
    else:
        lock.locked_until = until


def check_identity(
    *,
    db_session: Session,
    settings: Settings,
    membership_number: str,
    date_of_birth: str,
    postcode: str,
    channel: str,
    actor: str,
    conversation_id: str | None = None,
) -> MemberSession:
    """A member token when all three facts match; NotAuthenticated or IdentityLocked otherwise.

    Two locks: the conversation, after `identity_max_failures` failures whichever numbers it
    tried, and the number, after `identity_max_failures_per_number` failures from all
    conversations together. So one person guessing locks only their own conversation, not the
    member. A caller that names no conversation is held to the lower limit on the number.
    """
    number = _typed_number(membership_number)
    typed_postcode = _typed_postcode(postcode)
    typed_dob = date_of_birth.strip()
    _one_check_at_a_time(db_session, f"identity-number:{number}",
                         f"identity-conversation:{conversation_id or number}")
    # Recorded first, as failed until it passes: on SQLite this write is what makes a second
    # check at the same moment wait until this one has counted and locked.
    attempt = IdentityAttempt(membership_number=number, succeeded=False, channel=channel,
                              conversation_id=conversation_id)
    db_session.add(attempt)
    db_session.flush()
    # Always look up, even for a malformed number, so unknown numbers cost the same.
    member = db_session.scalar(select(Member).where(Member.membership_number == number))
    number_lock = db_session.get(Lockout, number)
    conversation_lock = (
        db_session.get(ConversationLockout, conversation_id) if conversation_id else None
    )

    for lock, what in ((conversation_lock, "This conversation"),
                       (number_lock, "This membership number")):
        locked_until = _still_locked(lock)
        if locked_until is not None:
            db_session.commit()
            raise IdentityLocked(locked_until, what=what)

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

    attempt.succeeded = passed
    db_session.flush()
    if not passed:
        until = utcnow() + timedelta(minutes=settings.identity_lockout_minutes)
        per_number = (settings.identity_max_failures_per_number if conversation_id
                      else settings.identity_max_failures)
        of_number = _failures_counted(
            db_session=db_session, settings=settings, lock=number_lock,
            which=IdentityAttempt.membership_number == number,
        )
        locked = []
        if of_number >= per_number:
            _lock(db_session, number_lock,
                  lambda end: Lockout(membership_number=number, locked_until=end), until)
            locked.append(f"{of_number} failed identity checks of this number")
        if conversation_id:
            in_conversation = _failures_counted(
                db_session=db_session, settings=settings, lock=conversation_lock,
                which=IdentityAttempt.conversation_id == conversation_id,
            )
            if in_conversation >= settings.identity_max_failures:
                _lock(db_session, conversation_lock,
                      lambda end: ConversationLockout(conversation_id=conversation_id,
                                                      locked_until=end), until)
                locked.append(f"{in_conversation} failed identity checks in conversation "
                              f"{conversation_id}")
        if locked:
            record(
                db_session=db_session,
                actor=actor,
                action="identity_locked",
                member_id=member.id if member else None,
                channel=channel,
                detail=f"{'; '.join(locked)}; locked until {until.isoformat()}"[:500],
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
