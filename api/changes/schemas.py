"""Requests to change a member's record, and what the API answers."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.changes.models import ChangeRequest, ChangeStatus, IdentityLevel
from api.members.schemas import MemberPublic
from api.validation import (
    checked,
    clean_line,
    clean_place,
    clean_text,
    normalise_email,
    normalise_phone,
    normalise_postcode,
)

# What the action server may say it knows about who is asking; "staff" comes only from a
# staff token, never from a request body.
ClaimedIdentity = Literal["signed_in", "identity_checked", "email_matched", "none"]


def _text(value: str | None, field: str, max_length: int, *, required: bool = False) -> str | None:
    return checked(clean_text, value, field=field, max_length=max_length, required=required)


def _line(value: str | None, field: str, max_length: int, *, required: bool = False) -> str | None:
    return checked(clean_line, value, field=field, max_length=max_length, required=required)


def _place(value: str | None, field: str, max_length: int, *, required: bool = False) -> str | None:
    return checked(clean_place, value, field=field, max_length=max_length, required=required)


class _ChangeBody(BaseModel):
    # A misspelt field name is refused rather than silently dropped.
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(
        default=None, ge=1, description="The version you read; 409 if stale."
    )
    identity_level: ClaimedIdentity | None = Field(
        default=None, description="Service token only: how the member was identified."
    )


class AddressChange(_ChangeBody):
    """A new postal address."""

    address_line1: str = Field(max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    town: str = Field(max_length=100)
    postcode: str = Field(max_length=16)

    @field_validator("address_line1", "town")
    @classmethod
    def _required_text(cls, value: str, info: Any) -> str:
        limit = 200 if info.field_name == "address_line1" else 100
        return _place(value, info.field_name, limit, required=True) or ""

    @field_validator("address_line2")
    @classmethod
    def _optional_text(cls, value: str | None) -> str | None:
        return _place(value, "address_line2", 200)

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str) -> str:
        return checked(normalise_postcode, value)


class ContactChange(_ChangeBody):
    """A new email address and/or phone number (at least one)."""

    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=30)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else checked(normalise_email, value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else checked(normalise_phone, value)


class EmploymentChange(_ChangeBody):
    """A new employer and workplace; job title and grade stay as they are unless given."""

    employer: str = Field(max_length=200)
    workplace: str = Field(max_length=200)
    job_title: str | None = Field(default=None, max_length=100)
    grade: str | None = Field(default=None, max_length=50)
    effective_from: date | None = None
    new_employer: bool = Field(
        default=False, description="The member said the employer is none of the names offered."
    )
    new_workplace: bool = Field(
        default=False, description="The member said the workplace is none of the names offered."
    )

    @field_validator("employer", "workplace")
    @classmethod
    def _required_text(cls, value: str, info: Any) -> str:
        return _place(value, info.field_name, 200, required=True) or ""

    @field_validator("job_title", "grade")
    @classmethod
    def _optional_text(cls, value: str | None, info: Any) -> str | None:
        return _line(value, info.field_name, 100 if info.field_name == "job_title" else 50)


class PersonalDetailsChange(_ChangeBody):
    """A correction to title, name or date of birth (at least one); always reviewed."""

    title: str | None = Field(default=None, max_length=20)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    date_of_birth: date | None = None

    @field_validator("title", "first_name", "last_name")
    @classmethod
    def _names(cls, value: str | None, info: Any) -> str | None:
        return _line(value, info.field_name, 20 if info.field_name == "title" else 100)


class MarketingOptOut(_ChangeBody):
    """Stop marketing. Nothing to say but, optionally, the version read."""


class PaymentMethodChange(_ChangeBody):
    """A move to paying through payroll (check-off). Bank and card methods never come this
    way: they are set up on the secure payment page, never typed into a conversation."""

    method: Literal["payroll"]


class ChangeDecision(BaseModel):
    """A reviewer's decision on a change waiting for review."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: str | None = Field(default=None, max_length=500)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str | None) -> str | None:
        return _text(value, "reason", 500)


def _decoded(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        decoded = json.loads(value)
    except ValueError:
        return {"value": value}
    return decoded if isinstance(decoded, dict) else {"value": decoded}


class ChangeRequestPublic(BaseModel):
    """One change to a member's record: what, from what to what, and what became of it."""

    reference: str
    field: str
    old_value: dict[str, Any] | None
    new_value: dict[str, Any] | None
    status: ChangeStatus
    review_reason: str | None
    channel: str
    identity_level: IdentityLevel
    requested_by: str
    requested_at: datetime
    decided_at: datetime | None
    decision_reason: str | None

    @classmethod
    def from_change(cls, change: ChangeRequest) -> ChangeRequestPublic:
        """The public view of a change request, its values decoded."""
        return cls(
            reference=change.reference,
            field=change.field,
            old_value=_decoded(change.old_value),
            new_value=_decoded(change.new_value),
            status=change.status,
            review_reason=change.review_reason,
            channel=change.channel,
            identity_level=change.identity_level,
            requested_by=change.requested_by,
            requested_at=change.requested_at,
            decided_at=change.decided_at,
            decision_reason=change.decision_reason,
        )


class ChangeForReview(ChangeRequestPublic):
    """A change in the review queue, with whose record it is."""

    membership_number: str
    member_name: str


class ChangeOutcome(BaseModel):
    """What happened to a change, in words a member understands, and the record now."""

    reference: str
    status: ChangeStatus
    message: str
    member: MemberPublic
