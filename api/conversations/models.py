"""Conversations as the channels report them: enough to count and chart, never the words."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, false
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
    # Indexed for the retention purge, which removes conversations quiet for longer than it.
    last_turn_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    # The first goal the assistant recognised: what the member came for.
    intent: Mapped[str | None] = mapped_column(String(60))
    member_turns: Mapped[int] = mapped_column(Integer, default=0)
    # Turns where the assistant did not understand and fell back.
    fallback_turns: Mapped[int] = mapped_column(Integer, default=0)
    # Replies that did not move the member's request forward: a fallback, an answer refused
    # and asked again, "what would you like me to do with that?" (see channels/handoff/turns).
    misunderstood_turns: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A request is open from the turn it started until a turn reached its goal (the record
    # changed, the answer given, the link or paper sent); one still open when the member went
    # quiet was abandoned, unless a person took it.
    request_open: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    resolved_requests: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
