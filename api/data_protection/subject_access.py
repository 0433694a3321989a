"""The subject access export: everything memberdesk holds about one member, as one document.

UK GDPR gives a member the right to a copy of their personal data. The data team produces it
(Permission.subject_access) from the JSON API or the member's console page; each export is
audited. Rows are copied column by column, so a column added to a covered table is exported
without anyone remembering to; a new table with a member_id or membership_number column fails
tests/api/data_protection/test_subject_access.py until it is in COVERED or EXCLUDED, with why.

Left out on purpose, in every section: hashes of single-use secrets (payment links, one-time
codes), which are no one's personal data and would only help someone forge one. Card numbers
are never stored (api.validation masks them on the way in); every text is masked again here,
so a row written before that rule still cannot carry one out.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, inspect, or_, select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.audit.service import record
from api.ballots.models import Ballot, ReplacementPaperRequest
from api.ballots.service import register_entitlement
from api.cases.models import Case, CaseMessage, SatisfactionRating
from api.changes.models import ChangeRequest
from api.config import Settings
from api.conversations.models import Conversation
from api.data_protection import trackers
from api.employers.models import Employer, Workplace
from api.identity.models import IdentityAttempt, Lockout, OneTimeCode
from api.mail.models import EmailThreadId, InboundEmail
from api.members.models import EmploymentPeriod, Member, StatusPeriod
from api.membership.status import STATUS_EXPLANATIONS
from api.outbox.models import OutboundEmail
from api.payments.arrears import arrears_for
from api.payments.models import Collection, Mandate, PaymentLink, RefundRequest
from api.staff.models import StaffUser, Team
from api.subscriptions.service import subscription_for
from api.timekeeping import aware_utc, utcnow
from api.validation import mask_card_numbers

FORMAT_VERSION = 1
ACTION = "member.subject_access_exported"

# Every table with a member_id or membership_number column, and where the export holds it.
COVERED: dict[str, str] = {
    "members": "member",
    "member_status_history": "membership.status_history",
    "member_employment_history": "membership.employment_history",
    "direct_debit_mandates": "payments.direct_debit_mandates",
    "collections": "payments.collections",
    "payment_links": "payments.payment_links",
    "refund_requests": "payments.refund_requests",
    "change_requests": "change_requests",
    "replacement_paper_requests": "ballots.replacement_paper_requests",
    "cases": "cases",
    "inbound_emails": "emails.received",
    "identity_checks": "identity.checks",
    "identity_lockouts": "identity.lockouts",
    "one_time_codes": "identity.one_time_codes",
    "audit_log": "audit_log",
}
# Tables with such a column that the export leaves out on purpose: table -> why. (None yet:
# a table belongs here only with a reason a data protection officer would accept.)
EXCLUDED: dict[str, str] = {}
# Never exported from any table.
SECRET_COLUMNS = frozenset({"token_hash", "code_hash", "password_hash"})


def _plain(value: Any) -> Any:
    """A stored value as JSON: dates as ISO 8601 (UTC), money as strings, texts card-masked."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return aware_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return mask_card_numbers(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _row(obj: Any, **extra: Any) -> dict[str, Any]:
    """Every column of a row (bar SECRET_COLUMNS), plus `extra`."""
    columns = inspect(obj).mapper.column_attrs
    found = {c.key: _plain(getattr(obj, c.key)) for c in columns if c.key not in SECRET_COLUMNS}
    found.update({k: _plain(v) for k, v in extra.items()})
    return found


def _rows(objs: Iterable[Any]) -> list[dict[str, Any]]:
    return [_row(obj) for obj in objs]


def _name(db_session: Session, model: type[Employer] | type[Workplace], key: int | None) -> Any:
    found = db_session.get(model, key) if key is not None else None
    return found.name if found is not None else None


def _membership(db_session: Session, member: Member) -> dict[str, Any]:
    statuses = db_session.scalars(select(StatusPeriod).where(StatusPeriod.member_id == member.id)
                                  .order_by(StatusPeriod.effective_from, StatusPeriod.id))
    jobs = db_session.scalars(select(EmploymentPeriod)
                              .where(EmploymentPeriod.member_id == member.id)
                              .order_by(EmploymentPeriod.effective_from, EmploymentPeriod.id))
    return {
        "status": member.status.value,
        "status_explanation": STATUS_EXPLANATIONS[member.status],
        "status_history": _rows(statuses),
        "employment_history": [
            _row(job, employer=_name(db_session, Employer, job.employer_id),
                 workplace=_name(db_session, Workplace, job.workplace_id))
            for job in jobs
        ],
    }


def _payments(db_session: Session, member: Member) -> dict[str, Any]:
    def of(model: Any, order: Any) -> list[dict[str, Any]]:
        return _rows(db_session.scalars(select(model).where(model.member_id == member.id)
                                        .order_by(order, model.id)))

    return {
        "arrears": _plain(arrears_for(db_session=db_session, member=member)),
        "direct_debit_mandates": of(Mandate, Mandate.created_on),
        "collections": of(Collection, Collection.due_on),
        "payment_links": of(PaymentLink, PaymentLink.created_at),
        "refund_requests": of(RefundRequest, RefundRequest.requested_at),
    }


def _ballots(db_session: Session, member: Member) -> dict[str, Any]:
    entitlement = []
    for ballot in db_session.scalars(select(Ballot).order_by(Ballot.register_date, Ballot.id)):
        on_register = register_entitlement(db_session=db_session, member=member, ballot=ballot)
        entitlement.append({
            "ballot_code": ballot.ballot_code, "title": ballot.title,
            "register_date": _plain(ballot.register_date), "closes_on": _plain(ballot.closes_on),
            "entitled": on_register.eligible, "reason_code": on_register.reason_code,
            "reason": on_register.reason,
        })
    requests = db_session.scalars(
        select(ReplacementPaperRequest).where(ReplacementPaperRequest.member_id == member.id)
        .order_by(ReplacementPaperRequest.requested_at, ReplacementPaperRequest.id))
    return {"entitlement": entitlement, "replacement_paper_requests": _rows(requests)}


def _staff_name(db_session: Session, staff_id: int | None) -> str | None:
    staff = db_session.get(StaffUser, staff_id) if staff_id is not None else None
    return staff.display_name if staff is not None else None


def _cases(db_session: Session, cases: list[Case]) -> list[dict[str, Any]]:
    found = []
    for case in cases:
        messages = db_session.scalars(select(CaseMessage).where(CaseMessage.case_id == case.id)
                                      .order_by(CaseMessage.sent_at, CaseMessage.id))
        team = db_session.get(Team, case.team_id)
        found.append(_row(
            case,
            team=team.name if team is not None else None,
            assigned_to=_staff_name(db_session, case.assigned_staff_id),
            messages=[_row(m, staff_name=_staff_name(db_session, m.staff_id)) for m in messages],
            email_message_ids=list(db_session.scalars(
                select(EmailThreadId.message_id).where(EmailThreadId.case_id == case.id)
                .order_by(EmailThreadId.id))),
        ))
    return found


def _emails(db_session: Session, member: Member, case_ids: list[int]) -> dict[str, Any]:
    received = list(db_session.scalars(
        select(InboundEmail).where(or_(InboundEmail.member_id == member.id,
                                       InboundEmail.case_id.in_(case_ids)))
        .order_by(InboundEmail.received_at, InboundEmail.id)))
    # Email sent to the member: to the address on record, or one they wrote to us from.
    addresses = {a.lower() for a in [member.email, *(e.from_address for e in received)] if a}
    sent = db_session.scalars(
        select(OutboundEmail).where(func.lower(OutboundEmail.to_address).in_(addresses))
        .order_by(OutboundEmail.created_at, OutboundEmail.id)) if addresses else []
    return {"received": _rows(received), "sent": _rows(sent)}


def _conversations(
    db_session: Session, member: Member, cases: list[Case], settings: Settings
) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """The identity checks, the member's conversations with what was said, and where from."""
    checks = list(db_session.scalars(
        select(IdentityAttempt).where(IdentityAttempt.membership_number == member.membership_number)
        .order_by(IdentityAttempt.attempted_at, IdentityAttempt.id)))
    identity = {
        "checks": _rows(checks),
        "lockouts": _rows(db_session.scalars(
            select(Lockout).where(Lockout.membership_number == member.membership_number))),
        "one_time_codes": _rows(db_session.scalars(
            select(OneTimeCode).where(OneTimeCode.member_id == member.id)
            .order_by(OneTimeCode.expires_at, OneTimeCode.id))),
    }
    # The member's conversations: those their cases came from, and those in which they passed
    # the identity check (a failed check may have been someone else trying their number).
    ids = {c.conversation_id for c in cases if c.conversation_id}
    ids |= {c.conversation_id for c in checks if c.succeeded and c.conversation_id}
    said, source = _what_was_said(settings, ids)
    conversations = [
        _row(conversation, satisfaction_ratings=_rows(db_session.scalars(
            select(SatisfactionRating)
            .where(SatisfactionRating.conversation_id == conversation.conversation_id)
            .order_by(SatisfactionRating.created_at, SatisfactionRating.id))),
            messages=_masked(said.pop(conversation.conversation_id, [])))
        for conversation in db_session.scalars(
            select(Conversation).where(Conversation.conversation_id.in_(sorted(ids)))
            .order_by(Conversation.started_at, Conversation.id))
    ]
    # A conversation the assistant held but whose turns were never counted (the channel could
    # not reach the records API then) is still the member's.
    conversations += [{"conversation_id": conversation_id, "messages": _masked(lines)}
                      for conversation_id, lines in sorted(said.items())]
    return identity, conversations, source


def _what_was_said(
    settings: Settings, conversation_ids: set[str]
) -> tuple[dict[str, list[dict[str, Any]]], str]:
    """Each conversation's words from Rasa's tracker store, and a sentence saying where from.

    An export is still produced when the store cannot be read, saying so, for the data team to
    add the words by hand before release rather than wait for the store (the statutory month
    runs either way).
    """
    if not settings.tracker_store_url:
        return {}, ("not read: MEMBERDESK_TRACKER_STORE_URL is not set, so the words of each "
                    "conversation are only in its cases' transcripts")
    try:
        return (trackers.transcripts(url=settings.tracker_store_url,
                                     conversation_ids=conversation_ids),
                "read from the assistant's tracker store")
    except trackers.TrackerStoreUnusable as exc:
        return {}, f"not read: {exc.message}"


def _masked(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**line, "text": mask_card_numbers(line["text"])} for line in lines]


def _audit_log(db_session: Session, member: Member) -> list[dict[str, Any]]:
    return _rows(db_session.scalars(
        select(AuditEvent).where(or_(AuditEvent.member_id == member.id,
                                     AuditEvent.actor == f"member:{member.membership_number}"))
        .order_by(AuditEvent.occurred_at, AuditEvent.id)))


def export_for(
    *, db_session: Session, member: Member, produced_by: str, settings: Settings
) -> dict[str, Any]:
    """Everything held about `member`, as one JSON-ready document (nothing is written)."""
    cases = list(db_session.scalars(select(Case).where(Case.member_id == member.id)
                                    .order_by(Case.created_at, Case.id)))
    identity, conversations, words_source = _conversations(db_session, member, cases, settings)
    return {
        "export": {
            "kind": "subject access export", "format_version": FORMAT_VERSION,
            "membership_number": member.membership_number,
            "produced_at": _plain(utcnow()), "produced_by": produced_by,
            "notes": (
                "Everything memberdesk's records hold about the member. Each conversation with "
                "the assistant lists what was said in it, from the assistant's tracker store; "
                "each case holds its own transcript and messages. Conversation data past the "
                "retention period has been removed (see each case's conversation_purged_at)."
            ),
            "conversation_words": words_source,
        },
        "member": _row(member, employer=_name(db_session, Employer, member.employer_id),
                       workplace=_name(db_session, Workplace, member.workplace_id)),
        "consents": {"marketing": member.marketing_consent},
        "membership": _membership(db_session, member),
        "subscription": _plain(asdict(subscription_for(db_session=db_session, member=member))),
        "payments": _payments(db_session, member),
        "change_requests": _rows(db_session.scalars(
            select(ChangeRequest).where(ChangeRequest.member_id == member.id)
            .order_by(ChangeRequest.requested_at, ChangeRequest.id))),
        "ballots": _ballots(db_session, member),
        "cases": _cases(db_session, cases),
        "emails": _emails(db_session, member, [c.id for c in cases]),
        "identity": identity,
        "conversations": conversations,
        "audit_log": _audit_log(db_session, member),
    }


def produce(
    *, db_session: Session, member: Member, actor: str, channel: str, settings: Settings
) -> dict[str, Any]:
    """The export for `member`, audited as taken by `actor` (committed)."""
    document = export_for(db_session=db_session, member=member, produced_by=actor,
                          settings=settings)
    record(db_session=db_session, actor=actor, action=ACTION, member_id=member.id,
           channel=channel, detail=f"subject access export of {member.membership_number}")
    db_session.commit()
    return document


def filename_for(member: Member) -> str:
    """The export's file name: whose it is and when it was taken."""
    return f"subject-access-{member.membership_number}-{utcnow().date().isoformat()}.json"
