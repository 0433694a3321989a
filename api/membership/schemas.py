"""Request and response bodies for joining, resigning, renewing and rejoining."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.changes.schemas import ClaimedIdentity
from api.members.models import Category, Frequency, PaymentMethod, Status
from api.validation import (
    checked,
    clean_line,
    clean_place,
    clean_text,
    normalise_email,
    normalise_phone,
    normalise_postcode,
)

# Fields checked as places: a reply word such as "yes" is refused in them.
_PLACES = frozenset({"address_line1", "address_line2", "town", "employer", "workplace"})


class MembershipPublic(BaseModel):
    membership_number: str
    status: Status
    status_explanation: str
    category: Category
    payment_frequency: Frequency
    joined_on: date
    renewal_date: date | None
    left_on: date | None


class ResignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective_date: date | None = Field(default=None, description="Defaults to today.")
    reason: str | None = Field(default=None, max_length=400)
    identity_level: ClaimedIdentity | None = Field(
        default=None, description="Service token only: how the member was identified."
    )

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str | None) -> str | None:
        return checked(clean_text, value, field="reason", max_length=400)


class RejoinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identity_level: ClaimedIdentity | None = Field(
        default=None, description="Service token only: how the member was identified."
    )


class ResignationPublic(BaseModel):
    reference: str
    status: Status
    effective_date: date
    direct_debits_cancelled: int
    message: str


class RenewalPublic(BaseModel):
    membership_number: str
    payment_frequency: Frequency
    payment_method: PaymentMethod
    renews_automatically: bool
    renewal_date: date | None
    amount: Decimal
    arrears: Decimal
    message: str


class StatusChangePublic(BaseModel):
    reference: str
    status: Status
    message: str


_TEXT_LIMITS = {
    "title": 20, "first_name": 100, "last_name": 100, "address_line1": 200, "address_line2": 200,
    "town": 100, "employer": 200, "workplace": 200, "job_title": 100, "grade": 50,
}


class ApplicationRequest(BaseModel):
    """Someone asking to join."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=20)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    date_of_birth: date
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=30)
    address_line1: str = Field(max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    town: str = Field(max_length=100)
    postcode: str = Field(max_length=16)
    employer: str | None = Field(default=None, max_length=200)
    workplace: str | None = Field(default=None, max_length=200)
    job_title: str | None = Field(default=None, max_length=100)
    grade: str | None = Field(default=None, max_length=50)
    category: Category = Category.full
    payment_frequency: Frequency = Frequency.monthly
    payment_method: PaymentMethod = PaymentMethod.none

    @field_validator("first_name", "last_name", "address_line1", "town")
    @classmethod
    def _required_text(cls, value: str, info: Any) -> str:
        limit = _TEXT_LIMITS[info.field_name]
        clean = clean_place if info.field_name in _PLACES else clean_line
        return checked(clean, value, field=info.field_name, max_length=limit, required=True) or ""

    @field_validator("title", "address_line2", "employer", "workplace", "job_title", "grade")
    @classmethod
    def _optional_text(cls, value: str | None, info: Any) -> str | None:
        limit = _TEXT_LIMITS[info.field_name]
        clean = clean_place if info.field_name in _PLACES else clean_line
        return checked(clean, value, field=info.field_name, max_length=limit)

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str) -> str:
        return checked(normalise_postcode, value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return checked(normalise_email, value) if value and value.strip() else None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return checked(normalise_phone, value) if value and value.strip() else None


class ApplicationPublic(BaseModel):
    membership_number: str
    reference: str
    status: Status
    message: str
