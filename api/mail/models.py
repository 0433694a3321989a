"""Inbound emails as triaged, and the Message-IDs that tie an email thread to its case."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from api.database import Base
from api.timekeeping import utcnow


class InboundEmail(Base):
    """One email received, recorded once: its Message-ID makes ingestion idempotent."""

    __tablename__ = "inbound_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(500), unique=True)
    from_address: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    intent: Mapped[str | None] = mapped_column(String(60))
    confidence: Mapped[float | None] = mapped_column(Float)
    # opened_case, joined_case or automatic (never answered and no case opened)
    outcome: Mapped[str] = mapped_column(String(20))
    automatic_reason: Mapped[str | None] = mapped_column(String(100))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    # [{"filename", "content_type", "size"}]: metadata only, the content is never kept.
    attachments: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why no reply went out, when none did (automatic mail, the per-sender limit...).
    no_reply_reason: Mapped[str | None] = mapped_column(String(100))
    # Indexed for the retention purge, which removes emails by age.
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )


class EmailThreadId(Base):
    """A Message-ID seen in or sent from a case's email thread, so replies find the case."""

    __tablename__ = "email_thread_ids"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(500), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
