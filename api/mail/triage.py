"""Where an inbound email goes: which team, whether it joins a case, whether it is answered.

Planning reads and changes nothing, so `memberdesk email classify` can show it (preview) and
api.mail.inbound acts on the same plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.cases import sla
from api.cases.models import Case, Priority
from api.cases.service import (
    get_case,
    priority_for,
    team_by_code,
    team_code_for,
    team_of,
)
from api.config import Settings
from api.errors import NotFound
from api.mail.models import EmailThreadId, InboundEmail
from api.mail.schemas import InboundEmailIn, TriageDecision
from api.mail.settings import EmailSettings
from api.members.models import Member
from api.staff.models import Team
from api.timekeeping import utcnow
from api.validation import usable_email

CASE_REFERENCE = re.compile(r"\bCASE-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{7}\b", re.IGNORECASE)
# Informational intents answered from the organisation's own published facts: nothing in the
# answer depends on who sent the email.
ANSWERED_INTENTS = frozenset(
    {"ballot_info", "industrial_action_info", "join_membership", "opening_hours"}
)
# Answered with the general rates, but the case stays open: the member may mean their own.
GENERAL_RATES_INTENTS = frozenset({"check_subscription"})
# Conversational intents say nothing about what an email needs, so a person reads it.
_UNROUTED_INTENTS = frozenset(
    {"greet", "goodbye", "affirm", "deny", "thank_you", "bot_challenge", "inform",
     "out_of_scope", "request_human", "nlu_fallback"}
)
_REPLY_WINDOW = timedelta(hours=1)


@dataclass
class TriagePlan:
    member: Member | None
    joined: Case | None
    # A case the subject quotes that this sender may not join: noted on the new case.
    quoted_elsewhere: Case | None
    routing_intent: str | None
    team: Team | None
    priority: Priority | None
    sla_due_at: datetime | None
    acknowledge: bool
    answer: bool
    no_reply_reason: str | None
    automatic_reason: str | None = None
    # Joined by a Message-ID it replies to, from an address the case has not seen: marked on
    # the case for staff.
    new_address_in_thread: bool = False


def routing_intent(email: InboundEmailIn) -> str | None:
    """The intent a case is routed by: None (the general team) for chit-chat or low confidence."""
    if email.intent is None or email.intent in _UNROUTED_INTENTS:
        return None
    return email.intent


def member_by_email(*, db_session: Session, address: str) -> Member | None:
    """The one member with this email on record; None when none or several share it."""
    found = list(
        db_session.scalars(
            select(Member)
            .where(or_(Member.email == address, func.lower(Member.email) == address.lower()))
            .limit(2)
        )
    )
    return found[0] if len(found) == 1 else None


def thread_case(*, db_session: Session, email: InboundEmailIn) -> Case | None:
    """The case this email replies to: by In-Reply-To / References, else a reference in the
    subject, if its sender may add to that case (`may_join_by_reference`)."""
    ids = [email.in_reply_to] if email.in_reply_to else []
    ids += list(reversed(email.references))
    if ids:
        rows = db_session.execute(
            select(EmailThreadId.message_id, EmailThreadId.case_id).where(
                EmailThreadId.message_id.in_(ids)
            )
        ).all()
        by_id = {message_id: case_id for message_id, case_id in rows}
        for message_id in ids:
            if message_id in by_id:
                return db_session.get(Case, by_id[message_id])
    quoted = quoted_case(db_session=db_session, email=email)
    if quoted is not None and may_join_by_reference(
        db_session=db_session, case=quoted, address=email.from_address
    ):
        return quoted
    return None


def quoted_case(*, db_session: Session, email: InboundEmailIn) -> Case | None:
    """The case whose reference the subject quotes, if there is one."""
    match = CASE_REFERENCE.search(email.subject)
    if not match:
        return None
    try:
        return get_case(db_session=db_session, reference=match[0])
    except NotFound:
        return None


def may_join_by_reference(*, db_session: Session, case: Case, address: str) -> bool:
    """Whether an email from `address` quoting this case's reference may join it.

    A reference is printed in every reply and easy to copy, so it alone proves nothing: the
    sender must be the case's member (the email on record) or an address already in the
    case's email thread. Anyone else's email opens a case of its own, flagged for staff.
    """
    sender = address.strip().lower()
    if not sender:
        return False
    if case.member_id is not None:
        member_email = db_session.scalar(select(Member.email).where(Member.id == case.member_id))
        if member_email and member_email.strip().lower() == sender:
            return True
    if str((case.collected_values or {}).get("email_from", "")).strip().lower() == sender:
        return True
    return db_session.scalar(
        select(func.count(InboundEmail.id)).where(
            InboundEmail.case_id == case.id, InboundEmail.from_address == sender
        )
    ) > 0


def _recent_replies(*, db_session: Session, address: str, now: datetime) -> int:
    return int(
        db_session.scalar(
            select(func.count(InboundEmail.id)).where(
                InboundEmail.from_address == address,
                InboundEmail.acknowledged.is_(True),
                InboundEmail.received_at >= now - _REPLY_WINDOW,
            )
        )
        or 0
    )


def make_plan(
    *,
    db_session: Session,
    email: InboundEmailIn,
    settings: Settings,
    email_settings: EmailSettings,
    now: datetime,
) -> TriagePlan:
    address = email.from_address.lower()
    automatic = email.automatic_reason
    if not automatic and not usable_email(email.from_address):
        automatic = "no valid sender address"
    if address == email_settings.from_address:
        automatic = automatic or "sent from the support mailbox itself"
    if automatic:
        return TriagePlan(
            member=None, joined=None, quoted_elsewhere=None, routing_intent=None, team=None,
            priority=None,
            sla_due_at=None, acknowledge=False, answer=False,
            no_reply_reason=f"automatic mail: {automatic}"[:100], automatic_reason=automatic,
        )
    member = member_by_email(db_session=db_session, address=email.from_address)
    joined = thread_case(db_session=db_session, email=email)
    quoted = quoted_case(db_session=db_session, email=email) if joined is None else None
    # A Message-ID is not guessable, so a reply naming one joins its thread (a colleague
    # copied in, the member's other address); but a References line can be copied from a
    # forwarded email, so staff are shown that the writer is new to the case.
    new_address = joined is not None and not may_join_by_reference(
        db_session=db_session, case=joined, address=email.from_address
    )
    intent = routing_intent(email)
    if joined is not None:
        team = team_of(db_session=db_session, case=joined)
        priority, due = joined.priority, joined.sla_due_at
    else:
        team = team_by_code(db_session=db_session, code=team_code_for(intent))
        priority = priority_for(intent)
        due = sla.sla_due_at(now, priority, settings=settings)
    confident = (email.confidence or 0) >= email_settings.email_answer_min_confidence
    answer = (
        joined is None
        and confident
        and intent in ANSWERED_INTENTS | GENERAL_RATES_INTENTS
    )
    limit = email_settings.email_replies_per_sender_per_hour
    no_reply = None
    if _recent_replies(db_session=db_session, address=address, now=now) >= limit:
        no_reply = f"reply limit reached ({limit} an hour to one sender)"
    return TriagePlan(
        member=member,
        joined=joined,
        quoted_elsewhere=quoted,
        routing_intent=intent,
        team=team,
        priority=priority,
        sla_due_at=due,
        acknowledge=no_reply is None,
        answer=answer and no_reply is None,
        no_reply_reason=no_reply,
        new_address_in_thread=new_address,
    )


def decision_for(plan: TriagePlan) -> TriageDecision:
    return TriageDecision(
        matched_member=plan.member.membership_number if plan.member else None,
        joins_case=plan.joined.reference if plan.joined else None,
        team=plan.team.code if plan.team else None,
        team_name=plan.team.name if plan.team else None,
        priority=plan.priority,
        sla_due_at=plan.sla_due_at,
        acknowledge=plan.acknowledge,
        answer=plan.answer,
        no_reply_reason=plan.no_reply_reason,
    )


def preview(
    *,
    db_session: Session,
    email: InboundEmailIn,
    settings: Settings,
    email_settings: EmailSettings,
    now: datetime | None = None,
) -> TriageDecision:
    """What ingesting this email would do, without doing any of it."""
    plan = make_plan(
        db_session=db_session, email=email, settings=settings, email_settings=email_settings,
        now=now or utcnow(),
    )
    db_session.rollback()
    return decision_for(plan)


