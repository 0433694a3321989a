"""The dashboard's figures: conversations by day and channel, what became of each (resolved,
escalated, abandoned), escalation by intent, misunderstandings, satisfaction and how long
members wait for a person.

A conversation's outcome is what happened to the member's request, as the channels report it
turn by turn (channels/handoff/turns.py): **escalated** when a person was asked for or handed
it; **resolved** when a turn reached the member's goal (the record changed, the answer given,
the payment link or the replacement paper sent) and no request was left open after it;
**abandoned** when a request was still open and the member has said nothing for
ABANDONED_AFTER; **in progress** when it is open and more recent; **no request** when the member
never asked for anything the assistant does (a greeting, a question it could not place).
"Contained" (no person involved) counted a member who gave up after a lost change as a
success; these do not.
"""

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


# How long a conversation with its request still open may be quiet before it counts as
# abandoned: longer than anyone takes to find a postcode or a bank statement.
ABANDONED_AFTER = timedelta(minutes=30)
OUTCOMES = ("resolved", "escalated", "abandoned", "in progress", "no request")


def outcome_of(conversation: Conversation, *, escalated: bool, now: datetime) -> str:
    """What became of the member's request in this conversation (see the module docstring)."""
    if escalated:
        return "escalated"
    if conversation.request_open:
        quiet = now - aware_utc(conversation.last_turn_at)
        return "abandoned" if quiet >= ABANDONED_AFTER else "in progress"
    return "resolved" if conversation.resolved_requests else "no request"


@dataclass(frozen=True)
class OutcomeRow:
    """Outcomes for one intent or one channel."""

    name: str
    counts: dict[str, int]

    @property
    def conversations(self) -> int:
        return sum(self.counts.values())

    def share(self, outcome: str) -> float:
        return self.counts.get(outcome, 0) / self.conversations if self.conversations else 0.0


@dataclass(frozen=True)
class Dashboard:
    first_day: date
    last_day: date
    days: list[date]
    channels: list[str]
    # {day: {channel: conversations started}}
    per_day: dict[date, dict[str, int]]
    conversations: int
    # {outcome: conversations}, every one of OUTCOMES
    outcomes: dict[str, int]
    by_intent: list[OutcomeRow]
    by_channel: list[OutcomeRow]
    escalation_by_intent: list[IntentRate]
    member_turns: int
    fallback_turns: int
    misunderstood_turns: int
    satisfaction: dict[int, int]
    first_replies: int
    median_first_reply: timedelta | None

    def share(self, outcome: str) -> float:
        """The share of conversations with this outcome."""
        return self.outcomes[outcome] / self.conversations if self.conversations else 0.0

    @property
    def fallback_rate(self) -> float:
        return self.fallback_turns / self.member_turns if self.member_turns else 0.0

    @property
    def misunderstanding_rate(self) -> float:
        """Replies that did not move the request forward, fallbacks included, per member turn."""
        return self.misunderstood_turns / self.member_turns if self.member_turns else 0.0

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
    outcomes: Counter[str] = Counter()
    intent_outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    channel_outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    for conversation in conversations:
        per_day[local(conversation.started_at)][conversation.channel] += 1
        escalated = conversation.conversation_id in escalated_ids
        counts = by_intent[conversation.intent or "not recognised"]
        counts[0] += 1
        counts[1] += 1 if escalated else 0
        outcome = outcome_of(conversation, escalated=escalated, now=moment)
        outcomes[outcome] += 1
        intent_outcomes[conversation.intent or "not recognised"][outcome] += 1
        channel_outcomes[conversation.channel][outcome] += 1

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
        outcomes={outcome: outcomes.get(outcome, 0) for outcome in OUTCOMES},
        by_intent=_rows(intent_outcomes),
        by_channel=_rows(channel_outcomes),
        escalation_by_intent=sorted(
            (IntentRate(intent, total, escalated) for intent, (total, escalated)
             in by_intent.items()),
            key=lambda r: (-r.rate, -r.conversations, r.intent),
        ),
        member_turns=sum(c.member_turns for c in conversations),
        fallback_turns=sum(c.fallback_turns for c in conversations),
        misunderstood_turns=sum(c.misunderstood_turns for c in conversations),
        satisfaction={score: ratings.get(score, 0) for score in range(1, 6)},
        first_replies=len(delays),
        median_first_reply=(
            timedelta(seconds=statistics.median(d.total_seconds() for d in delays))
            if delays
            else None
        ),
    )


def _rows(outcomes: dict[str, Counter[str]]) -> list[OutcomeRow]:
    rows = [OutcomeRow(name, {o: counts.get(o, 0) for o in OUTCOMES})
            for name, counts in outcomes.items()]
    return sorted(rows, key=lambda row: (-row.conversations, row.name))


def duration_text(delay: timedelta | None) -> str:
    """'1h 05m', '4m' or 'no replies yet'."""
    if delay is None:
        return "no replies yet"
    minutes = round(delay.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes}m"
    return f"{minutes // 60}h {minutes % 60:02d}m"
