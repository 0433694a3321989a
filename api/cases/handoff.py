"""The staff side of the hand-off: the queues, taking a case, talking to the member, handing
back to the assistant, resolving, and the daily SLA digest to each team.

Staff messages to the member are stored as case messages with `delivered_at` null; the member's
channel fetches and delivers them (see api.conversations.views). Email cases are the exception:
the records API owns the outbox, so a staff message on an email case goes straight into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.audit.service import record
from api.cases import sla
from api.cases.email_replies import NO_ADDRESS, email_staff_message, reply_address
from api.cases.models import Case, CaseMessage, CaseStatus, Priority
from api.cases.service import change_status, team_of
from api.cases.team_emails import console_url
from api.changes.models import ChangeRequest, ChangeStatus
from api.config import Settings
from api.errors import Conflict
from api.members.models import Member
from api.outbox.models import OutboundEmail
from api.outbox.rendering import queue_rendered
from api.security import Caller
from api.staff.models import StaffUser, Team
from api.timekeeping import aware_utc, local_today, utcnow
from api.validation import clean_text

# Cases a person still has to deal with: they make up the queues and pause the conversation.
LIVE_STATUSES = (CaseStatus.open, CaseStatus.in_progress, CaseStatus.waiting_on_member)
_PRIORITY_ORDER = {Priority.urgent: 0, Priority.high: 1, Priority.normal: 2, Priority.low: 3}
MAX_MESSAGE_LENGTH = 5000
DIGEST_ACTION = "case.sla_digest_queued"


@dataclass(frozen=True)
class QueueEntry:
    """A case as a queue shows it, with its SLA timer in business hours."""

    case: Case
    team: Team
    member: Member | None
    assignee: StaffUser | None
    business_hours_left: float
    # The SLA is for a first response: once a person has written to the member, it is met.
    answered: bool = False

    @property
    def overdue(self) -> bool:
        return not self.answered and self.business_hours_left < 0

    @property
    def timer_text(self) -> str:
        return "answered" if self.answered else sla.sla_timer_text(self.business_hours_left)


def staff_caller(user: StaffUser) -> Caller:
    """The audit identity of a signed-in staff user."""
    return Caller(kind="staff", staff_id=user.id, username=user.username, role=user.role.value)


def teams(*, db_session: Session) -> list[Team]:
    """Every team, by name."""
    return list(db_session.scalars(select(Team).order_by(Team.name)))


def queue(
    *, db_session: Session, team_id: int | None, settings: Settings, now: datetime | None = None
) -> list[QueueEntry]:
    """Cases still needing a person (of one team, or all), most urgent and soonest due first."""
    moment = now or utcnow()
    query = select(Case).where(Case.status.in_(LIVE_STATUSES))
    if team_id is not None:
        query = query.where(Case.team_id == team_id)
    found = list(db_session.scalars(query.limit(1000)))
    answered = set(
        db_session.scalars(
            select(CaseMessage.case_id)
            .where(CaseMessage.case_id.in_([c.id for c in found]), CaseMessage.sender == "staff")
            .distinct()
        )
    ) if found else set()
    entries = []
    for case in found:
        entries.append(
            QueueEntry(
                case=case,
                team=team_of(db_session=db_session, case=case),
                member=db_session.get(Member, case.member_id) if case.member_id else None,
                assignee=(
                    db_session.get(StaffUser, case.assigned_staff_id)
                    if case.assigned_staff_id
                    else None
                ),
                business_hours_left=sla.business_hours_between(
                    moment, aware_utc(case.sla_due_at), settings=settings
                ),
                answered=case.id in answered,
            )
        )
    # Unanswered first, then by priority, then whichever is due soonest.
    entries.sort(
        key=lambda e: (e.answered, _PRIORITY_ORDER[e.case.priority], e.business_hours_left)
    )
    return entries


def pending_changes_for(*, db_session: Session, member_id: int | None) -> list[ChangeRequest]:
    """The member's change requests waiting for a decision, oldest first."""
    if member_id is None:
        return []
    return list(
        db_session.scalars(
            select(ChangeRequest)
            .where(
                ChangeRequest.member_id == member_id,
                ChangeRequest.status == ChangeStatus.pending_review,
            )
            .order_by(ChangeRequest.requested_at, ChangeRequest.id)
        )
    )


def staff_names(*, db_session: Session, case: Case) -> dict[int, str]:
    """Display names of the staff who wrote on a case, by id."""
    ids = {m.staff_id for m in case.messages if m.staff_id is not None}
    if not ids:
        return {}
    return {
        user.id: user.display_name
        for user in db_session.scalars(select(StaffUser).where(StaffUser.id.in_(ids)))
    }


def _to_member(
    *, db_session: Session, case: Case, user: StaffUser, text: str, must_reach: bool = True
) -> CaseMessage:
    """A staff message on the case; on an email case, emailed to whoever wrote.

    A reply that cannot be emailed (no usable address) is refused, not stored as sent, so the
    console never says "Sent" for a message nobody will receive. The "has joined" notice
    (`must_reach=False`) is simply not emailed.
    """
    address = None
    if case.channel == "email":
        address = reply_address(db_session=db_session, case=case)
        if address is None and must_reach:
            raise Conflict(NO_ADDRESS)
    message = CaseMessage(case_id=case.id, sender="staff", staff_id=user.id, text=text)
    db_session.add(message)
    db_session.flush()
    if address:
        email_staff_message(db_session=db_session, case=case, address=address,
                            staff_name=user.display_name, text=text)
        message.delivered_at = utcnow()
    return message


def _require_live(case: Case) -> None:
    if case.status not in LIVE_STATUSES:
        raise Conflict(
            f"This case is {case.status.value.replace('_', ' ')}; nothing more can be sent on it."
        )


def take_case(*, db_session: Session, case: Case, user: StaffUser, channel: str) -> CaseMessage:
    """A person takes the case; the member is told who from which team has joined."""
    _require_live(case)
    if case.taken_at is not None and case.assigned_staff_id not in (None, user.id):
        holder = db_session.get(StaffUser, case.assigned_staff_id)
        raise Conflict(f"{holder.display_name if holder else 'Someone'} has already taken it.")
    if case.taken_at is not None and case.assigned_staff_id == user.id:
        raise Conflict("You have already taken this case.")
    team = team_of(db_session=db_session, case=case)
    case.assigned_staff_id = user.id
    case.taken_at = utcnow()
    case.status = CaseStatus.in_progress
    message = _to_member(
        db_session=db_session,
        case=case,
        user=user,
        text=f"{user.display_name} from the {team.name} team has joined the conversation.",
        must_reach=False,
    )
    record(
        db_session=db_session,
        actor=f"staff:{user.username}",
        action="case.taken",
        member_id=case.member_id,
        channel=channel,
        detail=case.reference,
    )
    db_session.commit()
    return message


def _clean_message(text: str | None, *, field: str = "text") -> str:
    cleaned = clean_text(text, field=field, max_length=MAX_MESSAGE_LENGTH, required=True)
    assert cleaned is not None
    return cleaned


def send_staff_message(
    *,
    db_session: Session,
    case: Case,
    user: StaffUser,
    text: str | None,
    kind: Literal["reply", "note"],
    channel: str,
) -> CaseMessage:
    """A reply to the member (taking the case first if nobody has) or an internal note."""
    body = _clean_message(text)
    if kind == "note":
        message = CaseMessage(case_id=case.id, sender="note", staff_id=user.id, text=body)
        db_session.add(message)
        record(
            db_session=db_session, actor=f"staff:{user.username}", action="case.note_added",
            member_id=case.member_id, channel=channel, detail=case.reference,
        )
        db_session.commit()
        return message
    _require_live(case)
    if case.taken_at is None:
        take_case(db_session=db_session, case=case, user=user, channel=channel)
    message = _to_member(db_session=db_session, case=case, user=user, text=body)
    record(
        db_session=db_session, actor=f"staff:{user.username}", action="case.message_added",
        member_id=case.member_id, channel=channel, detail=f"{case.reference} sender=staff",
    )
    db_session.commit()
    return message


def hand_back(
    *, db_session: Session, case: Case, user: StaffUser, note: str | None, channel: str
) -> Case:
    """Give the conversation back to the assistant, with what staff learned for it to use."""
    _require_live(case)
    learned = clean_text(note, field="note", max_length=1000, required=False)
    _to_member(
        db_session=db_session, case=case, user=user,
        text=f"{user.display_name} has passed you back to the membership assistant.",
    )
    case.handback_note = learned
    case.handed_back_at = utcnow()
    case.handback_delivered_at = None
    if case.assigned_staff_id is None:
        case.assigned_staff_id = user.id
    change_status(
        db_session=db_session, case=case, status=CaseStatus.handed_back, outcome=None,
        caller=staff_caller(user), channel=channel,
    )
    return case


def resolve(
    *, db_session: Session, case: Case, user: StaffUser, outcome: str | None, channel: str
) -> Case:
    """Close the case with an outcome; the member is told it."""
    if case.status == CaseStatus.resolved:
        raise Conflict("The case is already resolved.")
    told = clean_text(outcome, field="outcome", max_length=500, required=True)
    assert told is not None
    _to_member(
        db_session=db_session, case=case, user=user,
        text=f"Your case {case.reference} is resolved: {told}",
    )
    change_status(
        db_session=db_session, case=case, status=CaseStatus.resolved, outcome=told,
        caller=staff_caller(user), channel=channel,
    )
    return case


# --- Team emails ------------------------------------------------------------------------------


def queue_sla_digest(
    *, db_session: Session, settings: Settings, now: datetime | None = None
) -> list[OutboundEmail]:
    """One email per team listing its cases past their SLA (not answered in time); at most one
    digest a day."""
    moment = now or utcnow()
    day: date = local_today(now=moment, settings=settings)
    already = db_session.scalar(
        select(AuditEvent.id).where(
            AuditEvent.action == DIGEST_ACTION, AuditEvent.detail == day.isoformat()
        )
    )
    if already is not None:
        return []
    overdue = queue(db_session=db_session, team_id=None, settings=settings, now=moment)
    by_team: dict[int, list[QueueEntry]] = {}
    for entry in overdue:
        if entry.overdue:
            by_team.setdefault(entry.team.id, []).append(entry)
    emails = []
    for entries in by_team.values():
        team = entries[0].team
        if not team.email:
            continue
        emails.append(
            queue_rendered(
                db_session=db_session,
                to_address=team.email,
                name="sla_digest",
                team=team,
                day=day,
                entries=entries,
                console_url=console_url(settings, f"queue?team={team.code}"),
            )
        )
    record(db_session=db_session, actor="system:sla-digest", action=DIGEST_ACTION,
           detail=day.isoformat())
    db_session.commit()
    return emails


def first_reply_delay(case: Case) -> timedelta | None:
    """How long the member waited for the first message from a person."""
    for message in case.messages:
        if message.sender == "staff":
            return aware_utc(message.sent_at) - aware_utc(case.created_at)
    return None
