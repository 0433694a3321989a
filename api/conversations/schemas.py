"""Request and response shapes of the channels' hand-off API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.cases.schemas import _clean, _known_channel
from api.conversations.service import HandoffState
from api.database import MAX_ROW_ID


class HandbackPublic(BaseModel):
    """What the assistant carries on with after staff hand the conversation back."""

    note: str | None
    intent: str | None
    identity_level: str
    collected_values: dict[str, str]
    handed_back_at: datetime | None


class HandoffPublic(BaseModel):
    conversation_id: str
    state: HandoffState
    # True while a person has the conversation: the assistant must not reply.
    paused: bool
    case_reference: str | None
    team_name: str | None
    staff_name: str | None
    handback: HandbackPublic | None


class StaffMessagePublic(BaseModel):
    id: int
    case_reference: str
    staff_name: str | None
    text: str
    sent_at: datetime


class StaffMessages(BaseModel):
    messages: list[StaffMessagePublic]


class Delivered(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Bounded as a database row id is: a larger number is no message of ours, and SQLite
    # cannot even compare it (a 500 where a 422 is owed).
    message_ids: list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] = Field(max_length=100)


class DeliveredCount(BaseModel):
    marked: int


class MemberMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=5000)

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return _clean(value, field="text", max_length=5000, required=True) or ""


class MemberMessageAdded(BaseModel):
    id: int
    case_reference: str
    sent_at: datetime


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(max_length=20)
    intent: str | None = Field(default=None, max_length=60, pattern=r"^[a-z_]+$")
    fallback: bool = False
    # The reply did not move the request forward (a fallback is one too).
    misunderstood: bool = False
    # The member asked for something this turn (a goal), or reached what they asked for.
    request_started: bool = False
    resolved: bool = False

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        return _known_channel(value) or ""


class TurnCounted(BaseModel):
    conversation_id: str
    member_turns: int
