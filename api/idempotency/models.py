"""The first answer to each idempotent request, kept so a repeat gets it again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.database import Base
from api.timekeeping import utcnow


class IdempotentRequest(Base):
    """One key, claimed in the same transaction as the change it guards."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotent_requests_scope_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Who asked and where: a hash of the caller's credentials, the method and the path, so one
    # caller's key never answers another caller's request.
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(100))
    # A hash of the body: the same key with a different request is a caller's mistake.
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    # Filled in once the first answer is known; empty while it is being worked out.
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    media_type: Mapped[str | None] = mapped_column(String(100))
