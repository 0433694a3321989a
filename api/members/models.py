"""Members, and the history of their status and employment.

Ballot eligibility is decided "as at the register date", so status and employment keep
dated history rows besides the current values on the member.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.database import Base, enum_column
from api.employers.models import Employer, Workplace
from api.timekeeping import utcnow


class Category(str, enum.Enum):
    full = "full"
    reduced = "reduced"
    retired = "retired"
    student = "student"
    honorary = "honorary"


class Status(str, enum.Enum):
    applicant = "applicant"
    active = "active"
    grace = "grace"
    lapsed = "lapsed"
    resigned = "resigned"
    deceased = "deceased"


class PaymentMethod(str, enum.Enum):
    direct_debit = "direct_debit"
    payroll = "payroll"
    card = "card"
    none = "none"


class Frequency(str, enum.Enum):
    monthly = "monthly"
    annual = "annual"


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_number: Mapped[str] = mapped_column(String(7), unique=True)
    title: Mapped[str | None] = mapped_column(String(20))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), index=True)
    date_of_birth: Mapped[date] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    town: Mapped[str] = mapped_column(String(100))
    postcode: Mapped[str] = mapped_column(String(8))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"), index=True)
    workplace_id: Mapped[int | None] = mapped_column(ForeignKey("workplaces.id"))
    job_title: Mapped[str | None] = mapped_column(String(100))
    grade: Mapped[str | None] = mapped_column(String(50))
    category: Mapped[Category] = mapped_column(enum_column(Category))
    status: Mapped[Status] = mapped_column(enum_column(Status), index=True)
    payment_method: Mapped[PaymentMethod] = mapped_column(enum_column(PaymentMethod))
    payment_frequency: Mapped[Frequency] = mapped_column(enum_column(Frequency))
    subscription_amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    # Arrears brought forward from the CRM export; arrears since then are derived from
    # collections (see payments.service.arrears_for).
    arrears_brought_forward: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    joined_on: Mapped[date] = mapped_column(Date)
    renewal_date: Mapped[date | None] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    marketing_consent: Mapped[bool] = mapped_column(default=False)
    # Optimistic locking: a stale write gets a 409 instead of silently losing an update.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    employer: Mapped[Employer | None] = relationship(lazy="joined")
    workplace: Mapped[Workplace | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}


class StatusPeriod(Base):
    """A member's status from one date until the next period starts."""

    __tablename__ = "member_status_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    status: Mapped[Status] = mapped_column(enum_column(Status))
    effective_from: Mapped[date] = mapped_column(Date)


class EmploymentPeriod(Base):
    """Where a member worked from one date until the next period starts."""

    __tablename__ = "member_employment_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"))
    workplace_id: Mapped[int | None] = mapped_column(ForeignKey("workplaces.id"))
    effective_from: Mapped[date] = mapped_column(Date)
