"""Cases: conversations and emails escalated to a person."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.database import Base, enum_column
from api.timekeeping import utcnow


class CaseStatus(str, enum.Enum):
    open = "open"
    in_progress = "in_progress"
    waiting_on_member = "waiting_on_member"
    # Staff gave the conversation back to the assistant, with what they learned.
    handed_back = "handed_back"
    resolved = "resolved"


class Priority(str, enum.Enum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    conversation_id: Mapped[str | None] = mapped_column(String(200), index=True)
    intent: Mapped[str | None] = mapped_column(String(60))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    priority: Mapped[Priority] = mapped_column(enum_column(Priority))
    status: Mapped[CaseStatus] = mapped_column(enum_column(CaseStatus), index=True)
    summary: Mapped[str] = mapped_column(String(500))
    identity_level: Mapped[str] = mapped_column(String(30), default="none")
    # Values the assistant collected before escalating, so the member never repeats them.
    collected_values: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # The redacted transcript as it stood at escalation: [{"at", "sender", "text"}, ...]
    transcript: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    sla_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Stage 1 complaints-procedure deadline (complaints only).
    complaint_deadline_on: Mapped[date | None] = mapped_column(Date)
    # One calendar month for a subject access or other data protection request (UK GDPR).
    statutory_due_on: Mapped[date | None] = mapped_column(Date)
    assigned_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # When a person took the case: from then on the member is talking to them.
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Hand back: what staff learned, for the assistant to carry on with; the channel confirms
    # (handback_delivered_at) once the assistant has resumed.
    handed_back_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    handback_note: Mapped[str | None] = mapped_column(String(1000))
    handback_delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the retention purge removed the conversation (transcript, collected values, summary,
    # messages) of this closed case; the case itself, its outcome and dates are kept.
    conversation_purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    messages: Mapped[list[CaseMessage]] = relationship(order_by="CaseMessage.id")


class CaseMessage(Base):
    """A message on a case after escalation: from the member, from staff, or a note."""

    __tablename__ = "case_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # member, staff, assistant, note
    sender: Mapped[str] = mapped_column(String(20))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Staff messages: when the member's channel delivered it (null while waiting to go out).
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SatisfactionRating(Base):
    __tablename__ = "satisfaction_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
