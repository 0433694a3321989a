"""Ballots, their constituencies, and requests for replacement ballot papers."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Column, Date, DateTime, ForeignKey, Index, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.database import Base, enum_column
from api.employers.models import Employer
from api.timekeeping import utcnow


class BallotMethod(str, enum.Enum):
    postal = "postal"
    online = "online"


class ReplacementStatus(str, enum.Enum):
    pending = "pending"
    sent_to_scrutineer = "sent_to_scrutineer"
    issued = "issued"


ballot_employers = Table(
    "ballot_employers",
    Base.metadata,
    Column("ballot_id", ForeignKey("ballots.id"), primary_key=True),
    Column("employer_id", ForeignKey("employers.id"), primary_key=True),
)


class Ballot(Base):
    __tablename__ = "ballots"

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text)
    register_date: Mapped[date] = mapped_column(Date)
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    method: Mapped[BallotMethod] = mapped_column(enum_column(BallotMethod))
    # Thresholds and action details come from each ballot's configuration, never from code:
    # the law that sets them changes.
    turnout_threshold_percent: Mapped[int | None] = mapped_column()
    support_threshold_percent: Mapped[int | None] = mapped_column()
    details: Mapped[str | None] = mapped_column(Text)
    employers: Mapped[list[Employer]] = relationship(
        secondary=ballot_employers, order_by="Employer.name"
    )


class ReplacementPaperRequest(Base):
    __tablename__ = "replacement_paper_requests"
    # At most one pending request per member per ballot, enforced by the database too.
    __table_args__ = (
        Index(
            "uq_one_pending_replacement",
            "ballot_id",
            "member_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    status: Mapped[ReplacementStatus] = mapped_column(enum_column(ReplacementStatus))
    # The address the paper goes to, copied at request time for the scrutineer's export.
    address: Mapped[str] = mapped_column(String(600))
    channel: Mapped[str] = mapped_column(String(20))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
