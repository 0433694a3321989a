"""What the email triage sends about an inbound email, and what it is told back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.cases.models import Priority
from api.database import MAX_ROW_ID
from api.validation import without_control_characters

MessageId = Field(min_length=1, max_length=500)


class AttachmentMetadata(BaseModel):
    """An attachment as recorded: its name, declared type and size, never its content."""

    model_config = ConfigDict(extra="forbid")

    filename: str | None = Field(default=None, max_length=200)
    content_type: str = Field(max_length=100)
    size: int = Field(ge=0, le=MAX_ROW_ID)


class InboundEmailIn(BaseModel):
    """An inbound email after parsing, cleaning and classification by the email channel."""

    model_config = ConfigDict(extra="forbid")

    message_id: str = MessageId
    # As written in From (not validated here: an unusable address is recorded, not refused).
    from_address: str = Field(default="", max_length=254)
    from_name: str | None = Field(default=None, max_length=200)
    subject: str = Field(default="", max_length=300)
    # Cleaned: quoted replies and signatures stripped, card numbers masked.
    body_text: str = Field(default="", max_length=5000)
    in_reply_to: str | None = Field(default=None, max_length=500)
    references: list[str] = Field(default_factory=list, max_length=50)
    intent: str | None = Field(default=None, max_length=60, pattern=r"^[a-z_]+$")
    confidence: float | None = Field(default=None, ge=0, le=1)
    entities: dict[str, str] = Field(default_factory=dict, max_length=30)
    # Why this is automatic mail (out-of-office, bounce, list...), or None for a person's email.
    automatic_reason: str | None = Field(default=None, max_length=100)
    attachments: list[AttachmentMetadata] = Field(default_factory=list, max_length=50)
    card_number_removed: bool = False

    @model_validator(mode="before")
    @classmethod
    def _no_control_characters(cls, data: Any) -> Any:
        """Control characters taken out of every text, before the lengths are checked.

        Anyone can put a NUL byte in a Message-ID or a From line; PostgreSQL refuses it, and an
        email refused for it would be retried for ever. So the email is recorded without them.
        Only the body keeps line breaks and tabs: a line break in a Message-ID or subject would
        end up in the headers of our reply, which no mail library will send.
        """
        if not isinstance(data, dict):
            return data
        cleaned = {
            name: value.strip() if isinstance(value, str) else value
            for name, value in without_control_characters(
                {k: v for k, v in data.items() if k != "body_text"}, keep_line_breaks=False
            ).items()
        }
        if "body_text" in data:
            cleaned["body_text"] = without_control_characters(data["body_text"])
        return cleaned


class TriageDecision(BaseModel):
    """Where an email goes and what it gets back, decided but not (yet) acted on."""

    matched_member: str | None
    joins_case: str | None
    team: str | None
    team_name: str | None
    priority: Priority | None
    sla_due_at: datetime | None
    acknowledge: bool
    answer: bool
    no_reply_reason: str | None


class InboundEmailRecorded(TriageDecision):
    """What happened to an email: its case and whether it was seen before."""

    reference: str | None
    outcome: str
    duplicate: bool
