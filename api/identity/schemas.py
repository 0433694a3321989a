"""Request and response bodies for identity checks and one-time codes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.identity.models import OneTimePurpose


class IdentityCheckRequest(BaseModel):
    # Deliberately loose: a malformed postcode or date must fail like any wrong fact, not 422.
    membership_number: str = Field(max_length=20)
    date_of_birth: str = Field(max_length=20, description="YYYY-MM-DD")
    postcode: str = Field(max_length=20)
    # The conversation asking: failures lock it, not the member (api.identity.service).
    conversation_id: str | None = Field(default=None, min_length=1, max_length=200)


class SignedAssertion(BaseModel):
    """What a channel signed (bot/identity.py), passed on as it was signed."""

    payload: str = Field(max_length=2000)
    sig: str = Field(max_length=128)


class SignedInRequest(BaseModel):
    """A member a channel verified: the channel's signed assertion decides who, not the caller."""

    membership_number: str = Field(max_length=20)
    assertion: SignedAssertion
    conversation_id: str = Field(min_length=1, max_length=200)
    channel: str = Field(min_length=1, max_length=20)


class MemberTokenPublic(BaseModel):
    token: str
    expires_in: int
    membership_number: str
    first_name: str
    identity_level: str


class IdentityLockedPublic(BaseModel):
    detail: str
    locked_until: datetime


class OneTimeCodeRequest(BaseModel):
    membership_number: str = Field(max_length=20)
    purpose: OneTimePurpose
    subject: str = Field(min_length=1, max_length=100)


class OneTimeCodeSent(BaseModel):
    sent_to: str
    expires_at: datetime


class OneTimeCodeVerify(BaseModel):
    purpose: OneTimePurpose
    subject: str = Field(min_length=1, max_length=100)
    code: str = Field(max_length=20)


class OneTimeCodeVerified(BaseModel):
    membership_number: str
