"""One-time codes sent to the email on record: proof that someone controls that mailbox.

A code is bound to a purpose and a subject (e.g. the Telegram user being linked), stored only
as a hash, expires after ten minutes, allows five guesses and works once.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from api.audit.service import record
from api.errors import Conflict, NotAuthenticated, NotFound, TooManyRequests
from api.identity.models import OneTimeCode, OneTimePurpose
from api.identity.service import UK_TIME
from api.members.models import Member, Status
from api.outbox.service import queue_email
from api.security import hash_secret
from api.timekeeping import aware_utc, utcnow
from api.validation import normalise_membership_number

CODE_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5
# Codes per member, and per subject, in any hour: enough for a typo or two, not for
# flooding someone's inbox or spraying guesses across many memberships.
MAX_CODES_PER_HOUR = 5
CODE_NOT_ACCEPTED = "That code isn't right, or it has expired. Ask for a new code if you need one."

_PURPOSE_WORDS = {
    OneTimePurpose.link_telegram: "link your Telegram account to your membership",
    OneTimePurpose.staff_sign_in: "finish signing in",
}


class SendEmail(Protocol):
    """Something that can send one email: the outbox by default, a fake in tests."""

    def __call__(
        self, *, db_session: Session, to_address: str, subject: str, body_text: str
    ) -> None: ...


def outbox_sender(*, db_session: Session, to_address: str, subject: str, body_text: str) -> None:
    """Queue the email in the outbox, in the same transaction as the code itself."""
    queue_email(db_session=db_session, to_address=to_address, subject=subject, body_text=body_text)



@dataclass(frozen=True)
class IssuedCode:
    """A code that has been sent; `code` is only for the sender, never for an HTTP response."""

    code: str
    sent_to: str
    expires_at: datetime


def mask_email(address: str) -> str:
    """'alex.morgan@example.org' -> 'a***@example.org', enough to recognise, not to harvest."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def _codes_in_last_hour(*, db_session: Session, condition: ColumnElement[bool]) -> int:
    # A code's issue time is its expiry less its lifetime.
    issued_after = utcnow() - timedelta(hours=1) + CODE_LIFETIME
    count = db_session.scalar(
        select(func.count()).select_from(OneTimeCode).where(
            condition,
            OneTimeCode.expires_at > issued_after,
        )
    )
    return int(count or 0)


def deliver_code(
    *,
    db_session: Session,
    member: Member,
    purpose: OneTimePurpose,
    code: str,
    expires_at: datetime,
    actor: str,
    channel: str,
    sender: SendEmail = outbox_sender,
) -> None:
    """Email the code to the member's address on record and audit that (without the code)."""
    assert member.email is not None
    local_expiry = expires_at.astimezone(UK_TIME)
    sender(
        db_session=db_session,
        to_address=member.email,
        subject="Your membership code",
        body_text=(
            f"Hello {member.first_name},\n\n"
            f"Your code is {code}. Use it to {_PURPOSE_WORDS[purpose]}.\n"
            f"It works once and expires at {local_expiry:%H:%M} (UK time).\n\n"
            "If you didn't ask for this code, you can ignore this email: nobody can use "
            "your membership without it. Never share it with anyone, including our staff.\n"
        ),
    )
    record(
        db_session=db_session,
        actor=actor,
        action="one_time_code_sent",
        member_id=member.id,
        fields=("email",),
        channel=channel,
        detail=f"purpose={purpose.value}",
    )


def issue_code(
    *,
    db_session: Session,
    membership_number: str,
    purpose: OneTimePurpose,
    subject: str,
    actor: str,
    channel: str,
    sender: SendEmail = outbox_sender,
) -> IssuedCode:
    """Create a code for this member, purpose and subject, and email it to them."""
    number = normalise_membership_number(membership_number)
    member = db_session.scalar(select(Member).where(Member.membership_number == number))
    if member is None or member.status == Status.deceased:
        raise NotFound("No such member.", field="membership_number")
    if not member.email:
        raise Conflict(
            "There's no email address on this membership record, so we can't send a code. "
            "Add an email address first, or ask the membership team for help.",
            field="email",
        )
    subject = subject.strip()
    for condition in (OneTimeCode.member_id == member.id, OneTimeCode.subject == subject):
        if _codes_in_last_hour(db_session=db_session, condition=condition) >= MAX_CODES_PER_HOUR:
            raise TooManyRequests(
                "Too many codes have been asked for in the last hour. Please wait and try again."
            )

    code = f"{secrets.randbelow(1_000_000):06d}"
    expires_at = utcnow() + CODE_LIFETIME
    db_session.add(
        OneTimeCode(
            member_id=member.id,
            purpose=purpose,
            subject=subject,
            code_hash=hash_secret(code),
            attempts=0,
            expires_at=expires_at,
        )
    )
    deliver_code(
        db_session=db_session,
        member=member,
        purpose=purpose,
        code=code,
        expires_at=expires_at,
        actor=actor,
        channel=channel,
        sender=sender,
    )
    db_session.commit()
    return IssuedCode(code=code, sent_to=mask_email(member.email), expires_at=expires_at)


def verify_code(
    *,
    db_session: Session,
    purpose: OneTimePurpose,
    subject: str,
    code: str,
    actor: str,
    channel: str,
) -> Member:
    """The member the latest code for this purpose and subject belongs to, if `code` is it."""
    latest = db_session.scalar(
        select(OneTimeCode)
        .where(OneTimeCode.purpose == purpose, OneTimeCode.subject == subject.strip())
        .order_by(OneTimeCode.id.desc())
        .limit(1)
    )
    # Only the newest code counts: asking for a new one retires the old.
    if latest is None or latest.used_at is not None or aware_utc(latest.expires_at) <= utcnow():
        raise NotAuthenticated(CODE_NOT_ACCEPTED)

    # Counted in the database, so concurrent guesses cannot share one attempt.
    counted = db_session.execute(
        update(OneTimeCode)
        .where(OneTimeCode.id == latest.id, OneTimeCode.attempts < MAX_ATTEMPTS)
        .values(attempts=OneTimeCode.attempts + 1)
    )
    db_session.commit()
    if counted.rowcount != 1:  # type: ignore[attr-defined]
        raise NotAuthenticated(CODE_NOT_ACCEPTED)
    typed = "".join(code.split())
    if not hmac.compare_digest(hash_secret(typed), latest.code_hash):
        raise NotAuthenticated(CODE_NOT_ACCEPTED)

    claimed = db_session.execute(
        update(OneTimeCode)
        .where(OneTimeCode.id == latest.id, OneTimeCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db_session.rollback()
        raise NotAuthenticated(CODE_NOT_ACCEPTED)
    member = db_session.get(Member, latest.member_id)
    assert member is not None
    record(
        db_session=db_session,
        actor=actor,
        action="one_time_code_verified",
        member_id=member.id,
        channel=channel,
        detail=f"purpose={purpose.value}",
    )
    db_session.commit()
    return member
