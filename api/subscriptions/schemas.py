"""Request and response shapes for subscriptions and changes of circumstances."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from api.changes.schemas import ClaimedIdentity
from api.members.models import Category, Frequency, PaymentMethod
from api.subscriptions.circumstances import Circumstance


class RatePublic(BaseModel):
    frequency: Frequency
    amount: Decimal
    effective_from: date


class CategoryRatesPublic(BaseModel):
    category: Category
    label: str
    who_qualifies: str | None
    rates: list[RatePublic]


class RatesPublic(BaseModel):
    on: date
    categories: list[CategoryRatesPublic]


class LastChangePublic(BaseModel):
    on: date
    from_amount: Decimal | None
    to_amount: Decimal | None
    reason: str


class UpcomingChangePublic(BaseModel):
    on: date
    category: Category
    category_label: str
    amount: Decimal | None
    reference: str


class SubscriptionPublic(BaseModel):
    """What the member pays, how and when, and why it is what it is."""

    category: Category
    category_label: str
    frequency: Frequency
    method: PaymentMethod
    amount: Decimal
    # Only for an active Direct Debit; collection_note says how the others are paid.
    next_collection_date: date | None
    collection_note: str
    explanation: str
    last_change: LastChangePublic | None
    upcoming_change: UpcomingChangePublic | None


class CircumstanceReport(BaseModel):
    """A change of circumstances the member tells us about."""

    model_config = ConfigDict(extra="forbid")

    circumstance: Circumstance
    effective_from: date
    version: int | None = Field(default=None, ge=1)
    identity_level: ClaimedIdentity | None = Field(
        default=None, description="Service token only: how the member was identified."
    )


class CircumstanceOutcomePublic(BaseModel):
    reference: str
    new_category: Category
    new_category_label: str
    new_amount: Decimal
    frequency: Frequency
    effective_from: date
    applied_now: bool
    message: str
    refund_note: str | None
    possible_refund: Decimal | None
