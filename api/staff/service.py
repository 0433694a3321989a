"""Staff accounts, signing in, and the teams cases are routed to."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.audit.service import record
from api.errors import Conflict, InvalidValue, NotAuthenticated
from api.security import hash_password, hash_secret, verify_password
from api.staff.models import Role, StaffSession, StaffUser, Team
from api.timekeeping import aware_utc, utcnow
from api.validation import clean_text, normalise_email

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
MAX_SIGN_IN_FAILURES = 5
SIGN_IN_LOCKOUT = timedelta(minutes=15)
SIGN_IN_REFUSED = "Those sign-in details aren't right, or the account is locked for now."
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,59}$")

DEFAULT_TEAMS = (
    ("records", "Records"),
    ("payments", "Payments"),
    ("ballots", "Ballots"),
    ("complaints", "Complaints"),
    ("data_protection", "Data protection"),
    ("membership", "Membership"),
)


@lru_cache
def _stand_in_hash() -> str:
    # Verified against when the username is unknown, so a wrong username costs what a wrong
    # password costs and sign-in timing does not reveal which usernames exist. Made on first
    # use, not at import.
    return hash_password("no-such-staff-user-stand-in-password")


def ensure_default_teams(db_session: Session) -> list[Team]:
    """Create (and commit) any of the six default teams that are missing; others are kept."""
    existing = {t.code: t for t in db_session.scalars(select(Team))}
    for code, name in DEFAULT_TEAMS:
        if code not in existing:
            team = Team(code=code, name=name, email=f"{code}@union.example")
            db_session.add(team)
            existing[code] = team
    db_session.commit()
    return [existing[code] for code, _ in DEFAULT_TEAMS]


def get_by_username(*, db_session: Session, username: str) -> StaffUser | None:
    """The staff user with this username (case-insensitive)."""
    return db_session.scalar(
        select(StaffUser).where(func.lower(StaffUser.username) == username.strip().lower())
    )


def validate_password(password: str) -> str:
    """At least 12 characters; long passphrases are welcome up to a sane limit."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidValue(
            f"A password needs at least {MIN_PASSWORD_LENGTH} characters.", field="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidValue(
            f"A password can be at most {MAX_PASSWORD_LENGTH} characters.", field="password"
        )
    return password


def create_staff(
    *,
    db_session: Session,
    username: str,
    display_name: str,
    email: str,
    password: str,
    role: Role | str,
    team_code: str | None = None,
) -> StaffUser:
    """A new staff account with an argon2-hashed password."""
    username = (username or "").strip().lower()
    if not _USERNAME.match(username):
        raise InvalidValue(
            "A username is 3-60 lower-case letters, digits, dots, dashes or underscores.",
            field="username",
        )
    name = clean_text(display_name, field="display_name", max_length=100, required=True)
    assert name is not None
    address = normalise_email(email)
    validate_password(password)
    try:
        staff_role = Role(role)
    except ValueError:
        raise InvalidValue(
            "role must be one of " + ", ".join(r.value for r in Role) + ".", field="role"
        ) from None
    team = None
    if team_code:
        team = db_session.scalar(select(Team).where(Team.code == team_code.strip()))
        if team is None:
            raise InvalidValue(f"There is no team with code {team_code!r}.", field="team_code")
    if get_by_username(db_session=db_session, username=username) is not None:
        raise Conflict("That username is already taken.", field="username")
    user = StaffUser(
        username=username,
        display_name=name,
        email=address,
        password_hash=hash_password(password),
        role=staff_role,
        team=team,
        failed_sign_ins=0,
        active=True,
    )
    db_session.add(user)
    db_session.flush()
    record(
        db_session=db_session,
        actor="system:staff-admin",
        action="staff_created",
        detail=f"staff:{username} role={staff_role.value}",
    )
    db_session.commit()
    return user


def authenticate(*, db_session: Session, username: str, password: str, channel: str) -> StaffUser:
    """The staff user these credentials prove; one generic refusal for every failure."""
    user = get_by_username(db_session=db_session, username=username)
    if user is None:
        verify_password(_stand_in_hash(), password)
        raise NotAuthenticated(SIGN_IN_REFUSED)

    now = utcnow()
    if user.locked_until is not None and aware_utc(user.locked_until) > now:
        # Still verified, so a locked account answers in the same time as any other.
        verify_password(user.password_hash, password)
        raise NotAuthenticated(SIGN_IN_REFUSED)

    if not verify_password(user.password_hash, password) or not user.active:
        user.failed_sign_ins = (user.failed_sign_ins or 0) + 1
        if user.failed_sign_ins >= MAX_SIGN_IN_FAILURES:
            user.locked_until = now + SIGN_IN_LOCKOUT
            user.failed_sign_ins = 0
            record(
                db_session=db_session,
                actor=f"staff:{user.username}",
                action="staff_locked",
                channel=channel,
                detail=f"{MAX_SIGN_IN_FAILURES} failed sign-ins; locked until "
                f"{user.locked_until.isoformat()}",
            )
        db_session.commit()
        raise NotAuthenticated(SIGN_IN_REFUSED)

    user.failed_sign_ins = 0
    user.locked_until = None
    record(
        db_session=db_session, actor=f"staff:{user.username}", action="staff_signed_in",
        channel=channel,
    )
    db_session.commit()
    return user


# --- Console sessions -------------------------------------------------------------------------


def start_session(*, db_session: Session, user: StaffUser, lifetime: timedelta) -> tuple[str, str]:
    """A new console session for a signed-in user; returns (cookie token, CSRF token)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    db_session.add(
        StaffSession(
            token_hash=hash_secret(token),
            staff_id=user.id,
            csrf_token=csrf,
            expires_at=utcnow() + lifetime,
        )
    )
    db_session.commit()
    return token, csrf


def session_for(
    *, db_session: Session, token: str | None
) -> tuple[StaffSession, StaffUser] | None:
    """The live session behind a cookie token and its (still active) user, or None."""
    if not token or len(token) > 100:
        return None
    found = db_session.scalar(
        select(StaffSession).where(StaffSession.token_hash == hash_secret(token))
    )
    if found is None or found.ended_at is not None or aware_utc(found.expires_at) <= utcnow():
        return None
    user = db_session.get(StaffUser, found.staff_id)
    if user is None or not user.active:
        return None
    return found, user


def end_session(*, db_session: Session, session: StaffSession, channel: str) -> None:
    """Sign out: the cookie stops working at once, wherever it was copied to."""
    session.ended_at = utcnow()
    user = db_session.get(StaffUser, session.staff_id)
    record(
        db_session=db_session,
        actor=f"staff:{user.username if user else session.staff_id}",
        action="staff_signed_out",
        channel=channel,
    )
    db_session.commit()
