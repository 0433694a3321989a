"""Identity checks, lockouts and one-time codes."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.database import Base, enum_column
from api.timekeeping import utcnow


class IdentityAttempt(Base):
    """One identity check, kept for the lockout count and for audit."""

    __tablename__ = "identity_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Keyed by the number typed, which may match no member at all.
    membership_number: Mapped[str] = mapped_column(String(20), index=True)
    succeeded: Mapped[bool]
    channel: Mapped[str] = mapped_column(String(20))
    # The conversation the check was made in (None: a caller that did not say).
    conversation_id: Mapped[str | None] = mapped_column(String(200), index=True)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Lockout(Base):
    """A membership number locked after failures from many conversations (a spread attack)."""

    __tablename__ = "identity_lockouts"

    membership_number: Mapped[str] = mapped_column(String(20), primary_key=True)
    locked_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConversationLockout(Base):
    """A conversation locked after too many failed checks, whichever numbers it tried."""

    __tablename__ = "identity_conversation_lockouts"

    conversation_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    locked_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OneTimePurpose(str, enum.Enum):
    link_telegram = "link_telegram"
    staff_sign_in = "staff_sign_in"


class OneTimeCode(Base):
    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    purpose: Mapped[OneTimePurpose] = mapped_column(enum_column(OneTimePurpose))
    # What the code is bound to, e.g. the Telegram user id being linked.
    subject: Mapped[str] = mapped_column(String(100))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
