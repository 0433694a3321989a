"""Conversations as the channels report them: enough to count and chart, never the words."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.database import Base
from api.timekeeping import utcnow


class Conversation(Base):
    """One conversation on one channel; the transcript itself stays with the assistant."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    last_turn_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The first goal the assistant recognised: what the member came for.
    intent: Mapped[str | None] = mapped_column(String(60))
    member_turns: Mapped[int] = mapped_column(Integer, default=0)
    # Turns where the assistant did not understand and fell back.
    fallback_turns: Mapped[int] = mapped_column(Integer, default=0)
