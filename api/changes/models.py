"""Change requests: every change to a member's record, applied or waiting for review."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from api.database import Base, enum_column
from api.timekeeping import utcnow


class ChangeStatus(str, enum.Enum):
    applied = "applied"
    pending_review = "pending_review"
    rejected = "rejected"


class IdentityLevel(str, enum.Enum):
    """How sure we were of who asked for the change."""

    none = "none"
    email_matched = "email_matched"
    identity_checked = "identity_checked"
    signed_in = "signed_in"
    staff = "staff"


class ChangeRequest(Base):
    __tablename__ = "change_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    # Several fields that change together (an address, an employment) share one request.
    field: Mapped[str] = mapped_column(String(50))
    old_value: Mapped[str | None] = mapped_column(String(1000))
    new_value: Mapped[str | None] = mapped_column(String(1000))
    channel: Mapped[str] = mapped_column(String(20))
    identity_level: Mapped[IdentityLevel] = mapped_column(enum_column(IdentityLevel))
    status: Mapped[ChangeStatus] = mapped_column(enum_column(ChangeStatus), index=True)
    review_reason: Mapped[str | None] = mapped_column(String(300))
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(String(500))
