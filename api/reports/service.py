"""The dashboard's figures: conversations by day and channel, containment, escalation by intent,
fallbacks, satisfaction and how long members wait for a person."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.cases.handoff import first_reply_delay
from api.cases.models import Case, SatisfactionRating
from api.config import Settings
from api.conversations.models import Conversation
from api.timekeeping import aware_utc, local_today, utcnow


@dataclass(frozen=True)
class IntentRate:
    intent: str
    conversations: int
    escalated: int

    @property
    def rate(self) -> float:
        return self.escalated / self.conversations if self.conversations else 0.0


@dataclass(frozen=True)
class Dashboard:
    first_day: date
    last_day: date
    days: list[date]
    channels: list[str]
    # {day: {channel: conversations started}}
    per_day: dict[date, dict[str, int]]
    conversations: int
    contained: int
    escalation_by_intent: list[IntentRate]
    member_turns: int
    fallback_turns: int
    satisfaction: dict[int, int]
    first_replies: int
    median_first_reply: timedelta | None

    @property
    def containment(self) -> float:
        return self.contained / self.conversations if self.conversations else 0.0

    @property
    def fallback_rate(self) -> float:
        return self.fallback_turns / self.member_turns if self.member_turns else 0.0

    @property
    def ratings(self) -> int:
        return sum(self.satisfaction.values())


def dashboard(
    *, db_session: Session, settings: Settings, days: int = 30, now: datetime | None = None
) -> Dashboard:
    """The figures for the `days` days up to today (the teams' local dates)."""
    moment = now or utcnow()
    last_day = local_today(now=moment, settings=settings)
    first_day = last_day - timedelta(days=days - 1)
    # A day's margin either side of UTC; exact local dates are settled below.
    since = moment - timedelta(days=days + 1)

    def local(at: datetime) -> date:
        return local_today(now=aware_utc(at), settings=settings)

    conversations = [
        c
        for c in db_session.scalars(select(Conversation).where(Conversation.started_at >= since))
        if first_day <= local(c.started_at) <= last_day
    ]
    escalated_ids = set(
        db_session.scalars(
            select(Case.conversation_id).where(
                Case.conversation_id.in_([c.conversation_id for c in conversations])
            )
        )
    ) if conversations else set()

    per_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_intent: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for conversation in conversations:
        per_day[local(conversation.started_at)][conversation.channel] += 1
        counts = by_intent[conversation.intent or "not recognised"]
        counts[0] += 1
        counts[1] += 1 if conversation.conversation_id in escalated_ids else 0

    ratings = Counter(
        score
        for score, at in db_session.execute(
            select(SatisfactionRating.score, SatisfactionRating.created_at).where(
                SatisfactionRating.created_at >= since
            )
        ).tuples()
        if first_day <= local(at) <= last_day
    )
    cases = [
        case
        for case in db_session.scalars(
            select(Case).where(Case.created_at >= since).options(selectinload(Case.messages))
        )
        if first_day <= local(case.created_at) <= last_day
    ]
    delays = [d for d in (first_reply_delay(case) for case in cases) if d is not None]

    all_days = [first_day + timedelta(days=i) for i in range(days)]
    return Dashboard(
        first_day=first_day,
        last_day=last_day,
        days=all_days,
        channels=sorted({c.channel for c in conversations}),
        per_day={day: dict(per_day.get(day, {})) for day in all_days},
        conversations=len(conversations),
        contained=sum(1 for c in conversations if c.conversation_id not in escalated_ids),
        escalation_by_intent=sorted(
            (IntentRate(intent, total, escalated) for intent, (total, escalated)
             in by_intent.items()),
            key=lambda r: (-r.rate, -r.conversations, r.intent),
        ),
        member_turns=sum(c.member_turns for c in conversations),
        fallback_turns=sum(c.fallback_turns for c in conversations),
        satisfaction={score: ratings.get(score, 0) for score in range(1, 6)},
        first_replies=len(delays),
        median_first_reply=(
            timedelta(seconds=statistics.median(d.total_seconds() for d in delays))
            if delays
            else None
        ),
    )


def duration_text(delay: timedelta | None) -> str:
    """'1h 05m', '4m' or 'no replies yet'."""
    if delay is None:
        return "no replies yet"
    minutes = round(delay.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes}m"
    return f"{minutes // 60}h {minutes % 60:02d}m"
