"""Cases: escalations to a person, routed to a team, with an SLA counted in business hours.

A case carries everything the assistant collected, so the member never repeats themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.audit.service import record
from api.cases import sla
from api.cases.email_replies import check_reachable, email_staff_message
from api.cases.models import Case, CaseMessage, CaseStatus, Priority, SatisfactionRating
from api.cases.team_emails import queue_new_case_email
from api.config import Settings
from api.errors import Conflict, InvalidValue, NotAllowed, NotFound
from api.members.models import Member
from api.references import new_reference
from api.security import Caller
from api.staff.models import StaffUser, Team
from api.staff.service import ensure_default_teams
from api.timekeeping import local_today, utcnow

TeamCode = Literal["records", "payments", "ballots", "complaints", "data_protection", "membership"]
# What staff write on a case by its reference: a reply to the member, or an internal note. The
# member's words while a person has the conversation come through their channel
# (api.conversations.service.member_message), never by reference.
StaffSender = Literal["staff", "note"]

_PAYMENT_INTENTS = frozenset(
    {"payment_failed", "change_payment_method", "request_refund", "payment_not_recognised",
     "make_payment", "check_subscription"}
)
_HIGH_PRIORITY_INTENTS = frozenset({"complaint", "data_protection_request"})
_PRIORITY_RANK = {Priority.low: 0, Priority.normal: 1, Priority.high: 2, Priority.urgent: 3}


@dataclass(frozen=True)
class OpenedCase:
    """A new case and what the member should be told about when it will be handled."""

    case: Case
    team: Team
    within_business_hours: bool
    next_business_open: datetime


def team_code_for(intent: str | None) -> TeamCode:
    """The team that handles an intent (see the intent contract); membership by default."""
    if intent in _PAYMENT_INTENTS:
        return "payments"
    if intent and intent.startswith("change_"):
        return "records"
    if intent and (intent.startswith("ballot_") or intent == "industrial_action_info"):
        return "ballots"
    if intent == "complaint":
        return "complaints"
    if intent == "data_protection_request":
        return "data_protection"
    return "membership"


def priority_for(intent: str | None, requested: Priority | None = None) -> Priority:
    """The intent's priority, raised (never lowered) to what the caller asked for."""
    default = Priority.high if intent in _HIGH_PRIORITY_INTENTS else Priority.normal
    if requested is not None and _PRIORITY_RANK[requested] > _PRIORITY_RANK[default]:
        return requested
    return default


def team_by_code(*, db_session: Session, code: TeamCode) -> Team:
    """The team with this code; the default teams are created first if they are missing."""
    team = db_session.scalar(select(Team).where(Team.code == code))
    if team is not None:
        return team
    try:
        ensure_default_teams(db_session)
    except IntegrityError:
        # Another request created them first.
        db_session.rollback()
    team = db_session.scalar(select(Team).where(Team.code == code))
    if team is None:
        raise NotFound(f"There is no {code} team set up.")
    return team


def open_case(
    *,
    db_session: Session,
    member_id: int | None,
    channel: str,
    conversation_id: str | None,
    intent: str | None,
    summary: str,
    transcript: Sequence[Mapping[str, str]],
    collected_values: Mapping[str, str],
    identity_level: str,
    priority: Priority | None = None,
    actor: str,
    settings: Settings,
    now: datetime | None = None,
    commit: bool = True,
) -> OpenedCase:
    """Open a case routed by intent, with its SLA and any complaint or statutory deadline.

    With commit=False the case is only flushed, so a caller can write more in the same
    transaction (an inbound email and its acknowledgement go in with their case).
    """
    opened_at = now or utcnow()
    team = team_by_code(db_session=db_session, code=team_code_for(intent))
    chosen = priority_for(intent, priority)
    received_on = local_today(now=opened_at, settings=settings)
    case = Case(
        reference=new_reference("CASE"),
        member_id=member_id,
        channel=channel,
        conversation_id=conversation_id,
        intent=intent,
        team_id=team.id,
        priority=chosen,
        status=CaseStatus.open,
        summary=summary,
        identity_level=identity_level,
        collected_values=dict(collected_values),
        # Stored as given: the assistant redacts card numbers and the like before sending.
        transcript=[dict(line) for line in transcript],
        sla_due_at=sla.sla_due_at(opened_at, chosen, settings=settings),
        complaint_deadline_on=(
            sla.add_business_days(
                received_on, sla.COMPLAINT_STAGE1_BUSINESS_DAYS, settings=settings
            )
            if team.code == "complaints"
            else None
        ),
        statutory_due_on=(
            sla.one_calendar_month_after(received_on, settings=settings)
            if team.code == "data_protection"
            else None
        ),
        created_at=opened_at,
    )
    db_session.add(case)
    db_session.flush()
    record(
        db_session=db_session,
        actor=actor,
        action="case.opened",
        member_id=member_id,
        channel=channel,
        detail=f"{case.reference} team={team.code} priority={chosen.value} intent={intent or '-'}",
    )
    # The team hears of the case in the same transaction, so none arrives unannounced.
    queue_new_case_email(db_session=db_session, case=case, team=team, settings=settings)
    if commit:
        db_session.commit()
    return OpenedCase(
        case=case,
        team=team,
        within_business_hours=sla.is_open(opened_at, settings=settings),
        next_business_open=sla.next_open(opened_at, settings=settings),
    )


@dataclass(frozen=True)
class CaseClaim:
    """Who a new case is about, as far as its caller can prove it."""

    member_id: int | None
    identity_level: str
    collected_values: dict[str, str]

    @classmethod
    def of(cls, caller: Caller, *, membership_number: str | None) -> CaseClaim:
        """The member's own token proves who they are; the service's word proves nothing.

        A member token naming someone else's number is refused. The service token is shared by
        every conversation, so a number it sends is kept as the member's claim (staff check it)
        and the case is about nobody until staff link it.
        """
        if caller.kind == "member":
            if membership_number not in (None, caller.membership_number):
                raise NotAllowed("A member can open a case only about themselves.",
                                 field="membership_number")
            return cls(
                member_id=caller.member_id,
                identity_level=caller.identity_level or "identity_checked",
                collected_values={},
            )
        claimed = {"membership_number_claimed": membership_number} if membership_number else {}
        return cls(member_id=None, identity_level="none", collected_values=claimed)


def case_deadline(case: Case) -> date | None:
    """The date a full response is owed: the complaint stage 1 or the statutory deadline."""
    return case.complaint_deadline_on or case.statutory_due_on


def get_case(*, db_session: Session, reference: str) -> Case:
    """The case with this reference, or NotFound."""
    case = db_session.scalar(select(Case).where(Case.reference == reference.strip().upper()))
    if case is None:
        raise NotFound("There is no case with that reference.", field="reference")
    return case


def cases_for_member(*, db_session: Session, member_id: int) -> list[Case]:
    """A member's cases, newest first."""
    return list(
        db_session.scalars(
            select(Case)
            .where(Case.member_id == member_id)
            .order_by(Case.created_at.desc(), Case.id.desc())
        )
    )


def cases_for_conversation(
    *, db_session: Session, conversation_id: str, include_resolved: bool = False
) -> list[Case]:
    """The cases opened from a conversation, newest first; resolved ones only if asked."""
    query = select(Case).where(Case.conversation_id == conversation_id)
    if not include_resolved:
        query = query.where(Case.status != CaseStatus.resolved)
    return list(db_session.scalars(query.order_by(Case.created_at.desc(), Case.id.desc())))


def add_message(
    *, db_session: Session, case: Case, sender: StaffSender, text: str, caller: Caller, channel: str
) -> CaseMessage:
    """Staff reply to the member on a case, or leave a note for colleagues."""
    # An email case has no channel to fetch a staff message: it is emailed now, or refused.
    emailed_to = (
        check_reachable(db_session=db_session, case=case)
        if sender == "staff" and case.channel == "email" else None
    )
    message = CaseMessage(case_id=case.id, sender=sender, staff_id=caller.staff_id, text=text)
    db_session.add(message)
    if emailed_to is not None:
        staff = db_session.get(StaffUser, caller.staff_id) if caller.staff_id else None
        email_staff_message(
            db_session=db_session, case=case, address=emailed_to, text=text,
            staff_name=staff.display_name if staff else "The membership team",
        )
        message.delivered_at = utcnow()
    record(
        db_session=db_session,
        actor=caller.actor,
        action="case.message_added",
        member_id=case.member_id,
        channel=channel,
        detail=f"{case.reference} sender={sender}",
    )
    db_session.commit()
    return message


def change_status(
    *,
    db_session: Session,
    case: Case,
    status: CaseStatus,
    outcome: str | None,
    caller: Caller,
    channel: str,
) -> Case:
    """Move a case on; resolving it needs an outcome the member can be told."""
    if status == case.status:
        raise Conflict(f"The case is already {status.value.replace('_', ' ')}.", field="status")
    if status == CaseStatus.resolved and not outcome:
        raise InvalidValue("Say what the outcome was when resolving a case.", field="outcome")
    previous = case.status
    case.status = status
    if outcome:
        case.outcome = outcome
    case.resolved_at = utcnow() if status == CaseStatus.resolved else None
    if case.assigned_staff_id is None and caller.kind == "staff":
        case.assigned_staff_id = caller.staff_id
    record(
        db_session=db_session,
        actor=caller.actor,
        action="case.status_changed",
        member_id=case.member_id,
        fields=["status"] + (["outcome"] if outcome else []),
        channel=channel,
        detail=f"{case.reference} {previous.value} -> {status.value}",
    )
    db_session.commit()
    return case


def record_rating(
    *,
    db_session: Session,
    conversation_id: str,
    channel: str,
    score: int,
    comment: str | None,
    actor: str,
) -> SatisfactionRating:
    """Store a member's satisfaction rating of a conversation."""
    if not 1 <= score <= 5:
        raise InvalidValue("A rating is a whole number from 1 to 5.", field="score")
    rating = SatisfactionRating(
        conversation_id=conversation_id, channel=channel, score=score, comment=comment
    )
    db_session.add(rating)
    record(
        db_session=db_session,
        actor=actor,
        action="rating.recorded",
        channel=channel,
        detail=f"conversation={conversation_id[:200]} score={score}",
    )
    db_session.commit()
    return rating


def member_for_case(*, db_session: Session, case: Case) -> Member | None:
    """The member a case is about, if known."""
    return db_session.get(Member, case.member_id) if case.member_id is not None else None


def team_of(*, db_session: Session, case: Case) -> Team:
    """The team a case is routed to."""
    team = db_session.get(Team, case.team_id)
    assert team is not None  # team_id is a non-null foreign key
    return team
