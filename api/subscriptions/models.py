"""Membership categories and the subscription rates they carry."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.database import Base, enum_column
from api.members.models import Category, Frequency


class CategoryInfo(Base):
    """What a category means, in words a member understands."""

    __tablename__ = "membership_categories"

    category: Mapped[Category] = mapped_column(enum_column(Category), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    who_qualifies: Mapped[str] = mapped_column(String(500))


class SubscriptionRate(Base):
    """The amount per payment for a category and frequency, from a date."""

    __tablename__ = "subscription_rates"
    __table_args__ = (UniqueConstraint("category", "frequency", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[Category] = mapped_column(enum_column(Category))
    frequency: Mapped[Frequency] = mapped_column(enum_column(Frequency))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    effective_from: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(300))
