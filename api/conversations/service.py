"""A conversation's hand-off state, staff messages waiting for the member's channel, and the
per-conversation counts behind the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.audit.service import record
from api.cases.handoff import LIVE_STATUSES
from api.cases.models import Case, CaseMessage, CaseStatus
from api.cases.service import team_of
from api.conversations.models import Conversation
from api.errors import Conflict
from api.staff.models import StaffUser
from api.timekeeping import utcnow

HandoffState = Literal["assistant", "waiting_for_staff", "with_staff", "handed_back"]


@dataclass(frozen=True)
class Handoff:
    """Who the member is talking to, and what the assistant should carry on with."""

    state: HandoffState
    case: Case | None
    team_name: str | None
    staff_name: str | None

    @property
    def paused(self) -> bool:
        """While a person has the conversation, the assistant must not reply."""
        return self.state in ("waiting_for_staff", "with_staff")


def _latest_case(*, db_session: Session, conversation_id: str) -> Case | None:
    return db_session.scalar(
        select(Case)
        .where(Case.conversation_id == conversation_id)
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(1)
    )


def handoff(*, db_session: Session, conversation_id: str) -> Handoff:
    """The conversation's state, from its latest case."""
    case = _latest_case(db_session=db_session, conversation_id=conversation_id)
    if case is None:
        return Handoff("assistant", None, None, None)
    team = team_of(db_session=db_session, case=case).name
    staff = db_session.get(StaffUser, case.assigned_staff_id) if case.assigned_staff_id else None
    name = staff.display_name if staff else None
    if case.status in LIVE_STATUSES:
        state: HandoffState = "with_staff" if case.taken_at is not None else "waiting_for_staff"
        return Handoff(state, case, team, name)
    if case.status == CaseStatus.handed_back and case.handback_delivered_at is None:
        return Handoff("handed_back", case, team, name)
    return Handoff("assistant", case, team, name)


def confirm_resumed(*, db_session: Session, conversation_id: str, actor: str) -> Case:
    """The channel confirms the assistant has taken the hand-back; the state becomes assistant."""
    state = handoff(db_session=db_session, conversation_id=conversation_id)
    if state.state != "handed_back" or state.case is None:
        raise Conflict("This conversation has not been handed back to the assistant.")
    state.case.handback_delivered_at = utcnow()
    record(db_session=db_session, actor=actor, action="case.handback_resumed",
           member_id=state.case.member_id, detail=state.case.reference)
    db_session.commit()
    return state.case


def undelivered_staff_messages(
    *, db_session: Session, conversation_id: str
) -> list[tuple[CaseMessage, Case, str | None]]:
    """Staff messages of the conversation's cases not yet delivered, oldest first."""
    rows = db_session.execute(
        select(CaseMessage, Case, StaffUser.display_name)
        .join(Case, Case.id == CaseMessage.case_id)
        .outerjoin(StaffUser, StaffUser.id == CaseMessage.staff_id)
        .where(
            Case.conversation_id == conversation_id,
            CaseMessage.sender == "staff",
            CaseMessage.delivered_at.is_(None),
        )
        .order_by(CaseMessage.sent_at, CaseMessage.id)
        .limit(100)
    ).tuples()
    return [(message, case, name) for message, case, name in rows]


def mark_delivered(*, db_session: Session, conversation_id: str, message_ids: list[int]) -> int:
    """Mark staff messages of this conversation delivered; returns how many were newly marked."""
    if not message_ids:
        return 0
    messages = db_session.scalars(
        select(CaseMessage)
        .join(Case, Case.id == CaseMessage.case_id)
        .where(
            Case.conversation_id == conversation_id,
            CaseMessage.id.in_(message_ids),
            CaseMessage.sender == "staff",
            CaseMessage.delivered_at.is_(None),
        )
    ).all()
    now = utcnow()
    for message in messages:
        message.delivered_at = now
    db_session.commit()
    return len(messages)


def member_message(
    *, db_session: Session, conversation_id: str, text: str, actor: str, channel: str
) -> CaseMessage:
    """The member's words while a person has the conversation, for the console to show."""
    state = handoff(db_session=db_session, conversation_id=conversation_id)
    if not state.paused or state.case is None:
        raise Conflict("No one from the team has this conversation; send it to the assistant.")
    message = CaseMessage(case_id=state.case.id, sender="member", text=text)
    db_session.add(message)
    if state.case.status == CaseStatus.waiting_on_member:
        state.case.status = CaseStatus.in_progress
    record(db_session=db_session, actor=actor, action="case.message_added",
           member_id=state.case.member_id, channel=channel,
           detail=f"{state.case.reference} sender=member")
    db_session.commit()
    return message


def record_turn(
    *,
    db_session: Session,
    conversation_id: str,
    channel: str,
    intent: str | None,
    fallback: bool,
    misunderstood: bool = False,
    request_started: bool = False,
    resolved: bool = False,
    at: datetime | None = None,
) -> Conversation:
    """Count one member turn of a conversation (created on its first turn)."""
    moment = at or utcnow()
    found = db_session.scalar(
        select(Conversation).where(Conversation.conversation_id == conversation_id)
    )
    if found is None:
        found = Conversation(
            conversation_id=conversation_id, channel=channel, started_at=moment,
            last_turn_at=moment, member_turns=0, fallback_turns=0, misunderstood_turns=0,
            request_open=False, resolved_requests=0,
        )
        try:
            with db_session.begin_nested():
                db_session.add(found)
        except IntegrityError:
            # The same conversation's previous turn created it a moment ago.
            found = db_session.scalar(
                select(Conversation).where(Conversation.conversation_id == conversation_id)
            )
            assert found is not None
    found.member_turns += 1
    found.fallback_turns += 1 if fallback else 0
    found.misunderstood_turns += 1 if (misunderstood or fallback) else 0
    if resolved:
        found.resolved_requests += 1
        found.request_open = False
    elif request_started:
        found.request_open = True
    found.last_turn_at = moment
    if found.intent is None and intent and not fallback:
        found.intent = intent
    db_session.commit()
    return found
