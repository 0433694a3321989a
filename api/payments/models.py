"""Collections, direct-debit mandates, refund requests and single-use payment links.

Bank details are never stored: a mandate keeps at most the last two digits of the account.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.database import Base, enum_column
from api.timekeeping import utcnow


class MandateStatus(str, enum.Enum):
    pending = "pending"
    active = "active"
    cancelled = "cancelled"
    failed = "failed"


class CollectionStatus(str, enum.Enum):
    scheduled = "scheduled"
    collected = "collected"
    failed = "failed"
    refunded = "refunded"


class RefundStatus(str, enum.Enum):
    pending_review = "pending_review"
    approved = "approved"
    rejected = "rejected"


class PaymentLinkPurpose(str, enum.Enum):
    set_up_mandate = "set_up_mandate"
    pay_arrears = "pay_arrears"


class Mandate(Base):
    __tablename__ = "direct_debit_mandates"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    reference: Mapped[str] = mapped_column(String(18), unique=True)
    status: Mapped[MandateStatus] = mapped_column(enum_column(MandateStatus))
    collection_day: Mapped[int] = mapped_column(Integer)
    account_last_two: Mapped[str | None] = mapped_column(String(2))
    created_on: Mapped[date] = mapped_column(Date)
    cancelled_on: Mapped[date | None] = mapped_column(Date)


class Collection(Base):
    """One attempt to collect a subscription (or a one-off payment of arrears)."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    mandate_id: Mapped[int | None] = mapped_column(ForeignKey("direct_debit_mandates.id"))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[CollectionStatus] = mapped_column(enum_column(CollectionStatus))
    # ARUDD reason code for a failed direct debit (see payments.bacs).
    failure_code: Mapped[str | None] = mapped_column(String(1))
    # Set when a failed collection has since been paid (by a one-off payment).
    settled_on: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(100), default="Subscription")


class RefundRequest(Base):
    __tablename__ = "refund_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("collections.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    reason: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[RefundStatus] = mapped_column(enum_column(RefundStatus))
    # Who asked ("member:1234567", "staff:jo.bloggs"): they may never decide it themselves.
    requested_by: Mapped[str | None] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(String(500))


class PaymentLink(Base):
    """A signed, single-use, expiring link to the secure payment page."""

    __tablename__ = "payment_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Only a hash of the token is stored, so a database leak does not leak live links.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    purpose: Mapped[PaymentLinkPurpose] = mapped_column(enum_column(PaymentLinkPurpose))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
