"""Request and response shapes for cases and satisfaction ratings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from api.cases.models import Case, CaseMessage, CaseStatus, Priority
from api.cases.opening_hours import OpeningHours
from api.cases.service import StaffSender, case_deadline
from api.changes.models import IdentityLevel
from api.config import Settings
from api.deps import CHANNELS
from api.errors import InvalidValue
from api.staff.models import Team
from api.validation import clean_text, mask_card_numbers, normalise_membership_number

CollectedKey = Annotated[str, StringConstraints(min_length=1, max_length=60)]
CollectedValue = Annotated[str, StringConstraints(max_length=1000)]


def _clean(value: str | None, *, field: str, max_length: int, required: bool) -> str | None:
    # Validators must raise ValueError for FastAPI to answer 422 naming the field.
    try:
        return clean_text(value, field=field, max_length=max_length, required=required)
    except InvalidValue as exc:
        raise ValueError(exc.message) from None


def _known_channel(value: str | None) -> str | None:
    if value is not None and value.lower() not in CHANNELS:
        raise ValueError(f"channel must be one of: {', '.join(CHANNELS)}")
    return value.lower() if value is not None else None


class TranscriptLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: str | None = Field(default=None, max_length=40)
    sender: str = Field(max_length=20)
    text: str = Field(max_length=5000)

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return mask_card_numbers(value)


class CaseOpen(BaseModel):
    """What the assistant sends when it hands a conversation to a person."""

    model_config = ConfigDict(extra="forbid")

    membership_number: str | None = Field(default=None, max_length=20)
    channel: str | None = Field(default=None, max_length=20)
    conversation_id: str | None = Field(default=None, max_length=200)
    intent: str | None = Field(default=None, max_length=60, pattern=r"^[a-z_]+$")
    summary: str = Field(max_length=500)
    transcript: list[TranscriptLine] = Field(default_factory=list, max_length=1000)
    collected_values: dict[CollectedKey, CollectedValue] = Field(
        default_factory=dict, max_length=50
    )
    # Accepted from callers that still send it, never trusted: how sure we are of who asked
    # comes from the caller's token (api.cases.service.CaseClaim).
    identity_level: IdentityLevel = IdentityLevel.none
    priority: Priority | None = None

    @field_validator("membership_number")
    @classmethod
    def _membership_number(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalise_membership_number(value)
        except InvalidValue as exc:
            raise ValueError(exc.message) from None

    @field_validator("summary")
    @classmethod
    def _summary(cls, value: str) -> str:
        return _clean(value, field="summary", max_length=500, required=True) or ""

    @field_validator("collected_values")
    @classmethod
    def _collected(cls, value: dict[str, str]) -> dict[str, str]:
        # Values an integration collected are stored and shown to staff: no card numbers.
        return {name: mask_card_numbers(text) for name, text in value.items()}

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        return _known_channel(value)


class CaseOpened(BaseModel):
    """What the assistant needs to tell the member what happens next."""

    reference: str
    team: str
    team_name: str
    priority: Priority
    status: CaseStatus
    sla_due_at: datetime
    within_business_hours: bool
    # Now, when the team is at work; otherwise when it next opens.
    next_business_open: datetime
    next_business_open_text: str
    # Complaints: the stage 1 deadline. Data protection requests: the statutory deadline.
    deadline: date | None
    statutory_due_on: date | None


class MessagePublic(BaseModel):
    id: int
    sender: str
    text: str
    sent_at: datetime

    @classmethod
    def of(cls, message: CaseMessage) -> MessagePublic:
        return cls(id=message.id, sender=message.sender, text=message.text, sent_at=message.sent_at)


class CasePublic(BaseModel):
    """A case in full, for the assistant and staff."""

    reference: str
    membership_number: str | None
    channel: str
    conversation_id: str | None
    intent: str | None
    team: str
    team_name: str
    priority: Priority
    status: CaseStatus
    summary: str
    identity_level: str
    collected_values: dict[str, str]
    transcript: list[dict[str, str]]
    sla_due_at: datetime
    deadline: date | None
    statutory_due_on: date | None
    outcome: str | None
    created_at: datetime
    resolved_at: datetime | None
    messages: list[MessagePublic]

    @classmethod
    def of(cls, case: Case, *, team: Team, membership_number: str | None) -> CasePublic:
        return cls(
            reference=case.reference,
            membership_number=membership_number,
            channel=case.channel,
            conversation_id=case.conversation_id,
            intent=case.intent,
            team=team.code,
            team_name=team.name,
            priority=case.priority,
            status=case.status,
            summary=case.summary,
            identity_level=case.identity_level,
            collected_values=case.collected_values or {},
            transcript=case.transcript or [],
            sla_due_at=case.sla_due_at,
            deadline=case_deadline(case),
            statutory_due_on=case.statutory_due_on,
            outcome=case.outcome,
            created_at=case.created_at,
            resolved_at=case.resolved_at,
            messages=[MessagePublic.of(m) for m in case.messages],
        )


class CaseSummary(BaseModel):
    """A case as listed: enough to pick it up again, without the transcript or staff notes."""

    reference: str
    status: CaseStatus
    team: str
    team_name: str
    priority: Priority
    summary: str
    sla_due_at: datetime
    deadline: date | None
    statutory_due_on: date | None
    outcome: str | None
    created_at: datetime

    @classmethod
    def of(cls, case: Case, *, team: Team) -> CaseSummary:
        return cls(
            reference=case.reference,
            status=case.status,
            team=team.code,
            team_name=team.name,
            priority=case.priority,
            summary=case.summary,
            sla_due_at=case.sla_due_at,
            deadline=case_deadline(case),
            statutory_due_on=case.statutory_due_on,
            outcome=case.outcome,
            created_at=case.created_at,
        )


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sender: StaffSender
    text: str = Field(max_length=5000)

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return _clean(value, field="text", max_length=5000, required=True) or ""


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: CaseStatus
    outcome: str | None = Field(default=None, max_length=500)

    @field_validator("outcome")
    @classmethod
    def _outcome(cls, value: str | None) -> str | None:
        return _clean(value, field="outcome", max_length=500, required=False)


class RatingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str = Field(min_length=1, max_length=200)
    channel: str = Field(max_length=20)
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=1000)

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        return _known_channel(value) or ""

    @field_validator("comment")
    @classmethod
    def _comment(cls, value: str | None) -> str | None:
        return _clean(value, field="comment", max_length=1000, required=False)


class RatingRecorded(BaseModel):
    conversation_id: str
    score: int
    received_at: datetime


class BankHolidayPublic(BaseModel):
    day: date
    name: str


class OpeningHoursPublic(BaseModel):
    """When the contact centre is open: public, so any verified caller may read it."""

    open_now: bool
    # The moment the answer is for, in the teams' local time.
    at: datetime
    # Today's hours (HH:MM, local), or None on a weekend or bank holiday.
    today_opens: str | None
    today_closes: str | None
    # None while open; otherwise weekend, bank_holiday, not_open_yet or closed_for_the_day.
    closed_because: Literal["weekend", "bank_holiday", "not_open_yet", "closed_for_the_day"] | None
    bank_holiday_today: str | None
    # While open: the next morning after today's closing, and today's closing. While closed:
    # the next opening and the closing that follows it.
    next_opens_at: datetime
    next_opens_text: str
    next_closes_at: datetime
    next_closes_text: str
    usual_hours: str
    timezone: str
    bank_holiday_region: str
    upcoming_bank_holidays: list[BankHolidayPublic]

    @classmethod
    def of(cls, hours: OpeningHours, *, settings: Settings) -> OpeningHoursPublic:
        return cls(
            open_now=hours.open_now,
            at=hours.at,
            today_opens=f"{hours.today_opens:%H:%M}" if hours.today_opens else None,
            today_closes=f"{hours.today_closes:%H:%M}" if hours.today_closes else None,
            closed_because=hours.closed_because,
            bank_holiday_today=hours.bank_holiday_today,
            next_opens_at=hours.next_opens_at,
            next_opens_text=hours.next_opens_text,
            next_closes_at=hours.next_closes_at,
            next_closes_text=hours.next_closes_text,
            usual_hours=hours.usual_hours,
            timezone=settings.timezone,
            bank_holiday_region=settings.bank_holiday_region,
            upcoming_bank_holidays=[
                BankHolidayPublic(day=h.day, name=h.name) for h in hours.upcoming_bank_holidays
            ],
        )
