"""Request and response shapes for payments, one per purpose."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.errors import InvalidValue
from api.payments.models import (
    CollectionStatus,
    MandateStatus,
    PaymentLinkPurpose,
    RefundStatus,
)
from api.validation import clean_text

Money = Decimal


class CollectionPublic(BaseModel):
    """One collection as the member sees it on their payment history."""

    model_config = ConfigDict(from_attributes=True)

    due_on: date
    amount: Money
    method: str
    status: CollectionStatus
    description: str
    reason_code: str | None = Field(default=None, validation_alias="failure_code")
    settled_on: date | None


class CollectionHistory(BaseModel):
    collections: list[CollectionPublic]


class FailedCollectionPublic(BaseModel):
    """A failed collection, why it failed and what happens next."""

    due_on: date
    amount: Money
    reason_code: str | None
    reason: str
    what_happens_next: str
    settled_on: date | None


class ArrearsPublic(BaseModel):
    amount: Money
    brought_forward: Money
    failed_collections: list[FailedCollectionPublic]


class CollectionMatchPublic(BaseModel):
    due_on: date
    amount: Money
    method: str
    status: CollectionStatus
    description: str
    matched_on: Literal["amount_and_date", "amount", "date"]
    explanation: str


class CollectionMatches(BaseModel):
    explanation: str
    matches: list[CollectionMatchPublic]


class MandatePublic(BaseModel):
    """The Direct Debit, with the account shown only by its last two digits."""

    status: MandateStatus
    reference: str
    collection_day: int
    account_ending: str | None
    created_on: date
    cancelled_on: date | None
    next_collection_date: date | None


class RefundRequestCreate(BaseModel):
    """What a member says about a refund: which payment, how much, and why."""

    model_config = ConfigDict(extra="forbid")

    collection_due_on: date | None = None
    amount: Decimal | None = Field(default=None, gt=0, max_digits=10, decimal_places=2)
    reason: str = Field(max_length=1000)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        try:
            return clean_text(value, field="reason", max_length=1000, required=True) or ""
        except InvalidValue as exc:
            raise ValueError(exc.message) from None


class RefundRequestPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    reference: str
    amount: Money
    status: RefundStatus
    collection_due_on: date | None
    reason: str
    requested_at: datetime
    message: str


class RefundRequestForStaff(BaseModel):
    reference: str
    membership_number: str
    member_name: str
    amount: Money
    status: RefundStatus
    collection_due_on: date | None
    collection_status: CollectionStatus | None
    reason: str
    channel: str
    requested_at: datetime
    decided_at: datetime | None
    decision_reason: str | None


class RefundRequestList(BaseModel):
    refund_requests: list[RefundRequestForStaff]


class RefundDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: str | None = Field(default=None, max_length=500)


class PaymentLinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: PaymentLinkPurpose


class PaymentLinkPublic(BaseModel):
    url: str
    expires_at: datetime
    purpose: PaymentLinkPurpose
    amount: Money | None
