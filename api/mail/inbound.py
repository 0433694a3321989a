"""Inbound email: one transaction records the email, opens or joins its case, queues the reply.

Ingestion is idempotent on the Message-ID: an email seen before is not recorded, routed or
answered again; the caller gets the first outcome back. The sender's address is matched to a
member by the email on record, which says who the email is probably about, never who sent it
(a From line is easy to forge): no reply discloses anything from a member's record, and
anything personal is pointed to the webchat identity check.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from email.utils import parseaddr

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.audit.service import record
from api.cases import sla
from api.cases.models import Case, CaseMessage, CaseStatus
from api.cases.service import (
    open_case,
    team_of,
)
from api.config import Settings
from api.mail import replies
from api.mail.models import EmailThreadId, InboundEmail
from api.mail.schemas import InboundEmailIn, InboundEmailRecorded
from api.mail.settings import EmailSettings
from api.mail.triage import (
    ANSWERED_INTENTS,
    TriagePlan,
    decision_for,
    make_plan,
)
from api.members.models import Member
from api.outbox.service import queue_email
from api.timekeeping import utcnow


def _summary(email: InboundEmailIn) -> str:
    first_line = next((line for line in email.body_text.splitlines() if line.strip()), "")
    text = " ".join((email.subject or first_line or "(no subject)").split())
    return f"Email: {text}"[:500]


def _member_words(email: InboundEmailIn) -> str:
    return f"Subject: {email.subject}\n\n{email.body_text}".strip()[:5000]


def _collected(email: InboundEmailIn, *, quoted: Case | None = None) -> dict[str, str]:
    values = {f"email_{name}"[:60]: value[:1000] for name, value in email.entities.items()}
    if quoted is not None:
        # Nothing of that case is shown to this sender; staff decide whether they belong.
        values["email_quoted_case"] = (
            f"{quoted.reference}: quoted in the subject by an address that is not that case's "
            "member's nor in its email thread, so not added to it. Check before linking."
        )
    values["email_from"] = email.from_address
    if email.attachments:
        values["email_attachments"] = "; ".join(
            f"{a.filename or '(unnamed)'} ({a.content_type}, {a.size:,} bytes)"
            for a in email.attachments
        )[:1000]
    if email.card_number_removed:
        values["email_card_number_removed"] = "yes: a card number was masked before storing"
    return values


def _remember_thread_ids(*, db_session: Session, case: Case, message_ids: list[str]) -> None:
    wanted = [m for m in dict.fromkeys(message_ids) if m]
    known = set(
        db_session.scalars(select(EmailThreadId.message_id).where(
            EmailThreadId.message_id.in_(wanted)
        ))
    )
    for message_id in wanted:
        if message_id not in known:
            db_session.add(EmailThreadId(message_id=message_id, case_id=case.id))


def _recorded_before(*, db_session: Session, message_id: str) -> InboundEmailRecorded | None:
    """The outcome stored for an email with this Message-ID, if one was recorded."""
    seen = db_session.scalar(select(InboundEmail).where(InboundEmail.message_id == message_id))
    return _stored_outcome(db_session=db_session, inbound=seen) if seen is not None else None


def _stored_outcome(*, db_session: Session, inbound: InboundEmail) -> InboundEmailRecorded:
    case = db_session.get(Case, inbound.case_id) if inbound.case_id is not None else None
    team = team_of(db_session=db_session, case=case) if case is not None else None
    member = db_session.get(Member, inbound.member_id) if inbound.member_id is not None else None
    return InboundEmailRecorded(
        matched_member=member.membership_number if member else None,
        joins_case=case.reference if case is not None and inbound.outcome == "joined_case"
        else None,
        team=team.code if team else None,
        team_name=team.name if team else None,
        priority=case.priority if case is not None else None,
        sla_due_at=case.sla_due_at if case is not None else None,
        acknowledge=inbound.acknowledged,
        answer=inbound.answered,
        no_reply_reason=inbound.no_reply_reason,
        reference=case.reference if case is not None else None,
        outcome=inbound.outcome,
        duplicate=True,
    )


def record_inbound(
    *,
    db_session: Session,
    email: InboundEmailIn,
    settings: Settings,
    email_settings: EmailSettings,
    actor: str,
    now: datetime | None = None,
) -> InboundEmailRecorded:
    """Record an inbound email once: route it to a case and queue its reply, all or nothing."""
    recorded = _recorded_before(db_session=db_session, message_id=email.message_id)
    if recorded is not None:
        return recorded
    received_at = now or utcnow()
    plan = make_plan(
        db_session=db_session, email=email, settings=settings, email_settings=email_settings,
        now=received_at,
    )
    inbound = InboundEmail(
        message_id=email.message_id,
        from_address=email.from_address.lower(),
        subject=email.subject[:300],
        intent=email.intent,
        confidence=email.confidence,
        outcome="automatic",
        automatic_reason=(plan.automatic_reason or "")[:100] or None,
        member_id=plan.member.id if plan.member else None,
        attachments=[a.model_dump() for a in email.attachments],
        acknowledged=plan.acknowledge,
        answered=plan.answer,
        no_reply_reason=plan.no_reply_reason,
        received_at=received_at,
    )
    db_session.add(inbound)
    case: Case | None = None
    if plan.team is not None:
        case = _route(db_session=db_session, email=email, plan=plan, settings=settings,
                      actor=actor, now=received_at)
        inbound.case_id = case.id
        inbound.outcome = "joined_case" if plan.joined is not None else "opened_case"
        reply_id = None
        if plan.acknowledge:
            reply_id = _queue_reply(
                db_session=db_session, email=email, case=case, plan=plan, settings=settings,
                email_settings=email_settings, now=received_at,
            )
        _remember_thread_ids(
            db_session=db_session, case=case, message_ids=[email.message_id, reply_id or ""]
        )
    record(
        db_session=db_session,
        actor=actor,
        action="email.received",
        member_id=inbound.member_id,
        channel="email",
        detail=(
            f"{inbound.outcome} {case.reference if case is not None else '-'} "
            f"intent={email.intent or '-'} acknowledged={plan.acknowledge} "
            f"answered={plan.answer}"
        ),
    )
    try:
        db_session.commit()
    except IntegrityError:
        # Another poller recorded the same Message-ID first: theirs is the outcome.
        db_session.rollback()
        recorded = _recorded_before(db_session=db_session, message_id=email.message_id)
        if recorded is None:
            raise
        return recorded
    decision = decision_for(plan)
    return InboundEmailRecorded(
        **decision.model_dump(),
        reference=case.reference if case is not None else None,
        outcome=inbound.outcome,
        duplicate=False,
    )


def _route(
    *,
    db_session: Session,
    email: InboundEmailIn,
    plan: TriagePlan,
    settings: Settings,
    actor: str,
    now: datetime,
) -> Case:
    """Join the thread's case (putting it back in the queue) or open a new one."""
    if plan.joined is not None:
        case = plan.joined
        words = _member_words(email)
        if plan.new_address_in_thread:
            words = (
                f"[Written from {email.from_address.lower()}, an address new to this case: it "
                "replied to a message in the thread. Check before acting on it.]\n" + words
            )[:5000]
        db_session.add(CaseMessage(case_id=case.id, sender="member", text=words))
        reopened = case.status in (CaseStatus.waiting_on_member, CaseStatus.resolved)
        if reopened:
            case.status = CaseStatus.open
            case.resolved_at = None
        record(
            db_session=db_session,
            actor=actor,
            action="case.message_added",
            member_id=case.member_id,
            channel="email",
            detail=f"{case.reference} sender=member" + (" reopened" if reopened else ""),
        )
        return case
    opened = open_case(
        db_session=db_session,
        member_id=plan.member.id if plan.member else None,
        channel="email",
        conversation_id=f"email:{email.from_address.lower()}"[:200],
        intent=plan.routing_intent,
        summary=_summary(email),
        transcript=[{"at": now.isoformat(), "sender": "member", "text": _member_words(email)}],
        collected_values=_collected(email, quoted=plan.quoted_elsewhere),
        # Matching the From address is not an identity check.
        identity_level="none",
        actor=actor,
        settings=settings,
        now=now,
        commit=False,
    )
    case = opened.case
    if plan.answer and plan.routing_intent in ANSWERED_INTENTS:
        case.status = CaseStatus.resolved
        case.outcome = f"Answered by email with the general information ({plan.routing_intent})."
        case.resolved_at = now
    return case


def _reply_subject(subject: str, reference: str) -> str:
    text = " ".join(subject.split()) or "Your email"
    while text[:3].lower() == "re:":
        text = text[3:].lstrip()
    if reference.lower() not in text.lower():
        text = f"{text} [{reference}]"
    return f"Re: {text}"[:200]


def _queue_reply(
    *,
    db_session: Session,
    email: InboundEmailIn,
    case: Case,
    plan: TriagePlan,
    settings: Settings,
    email_settings: EmailSettings,
    now: datetime,
) -> str:
    """Queue the acknowledgement (with the answer, when there is one); its Message-ID."""
    message_id = f"<{uuid.uuid4().hex}@{email_settings.message_id_domain}>"
    team = plan.team
    assert team is not None  # only routed emails are acknowledged
    body_text, body_html = replies.render_reply(
        db_session=db_session,
        reference=case.reference,
        team_name=team.name,
        intent=plan.routing_intent if plan.answer else None,
        joined=plan.joined is not None,
        resolved=case.status == CaseStatus.resolved,
        card_number_removed=email.card_number_removed,
        first_response=sla.spoken_opening(case.sla_due_at, settings=settings),
        settings=settings,
        email_settings=email_settings,
        now=now,
    )
    references = [*email.references[-20:], email.message_id]
    queue_email(
        db_session=db_session,
        to_address=parseaddr(email.from_address)[1],
        subject=_reply_subject(email.subject, case.reference),
        body_text=body_text,
        body_html=body_html,
        headers={
            "Message-ID": message_id,
            "In-Reply-To": email.message_id,
            "References": " ".join(references),
            # RFC 3834: marks this as an automatic reply, so well-behaved responders stay quiet.
            "Auto-Submitted": "auto-replied",
            "X-Auto-Response-Suppress": "All",
            "X-Memberdesk-Case": case.reference,
        },
    )
    return message_id
