"""Changes held for review: the reviewers' queue and their decisions (maker-checker).

An approved change is applied only if the record still says what it said when the change was
asked for; either way the member is told the decision by email.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.changes.models import ChangeRequest, ChangeStatus
from api.changes.requests import (
    EMPLOYMENT_FIELDS,
    PERSONAL_FIELDS,
    ChangeResult,
    apply_employment,
    audit_change,
)
from api.database import commit_or_stale
from api.errors import Conflict, InvalidValue, NotAllowed, NotFound
from api.members.models import Member, PaymentMethod
from api.outbox.notices import tell_member_of_decision
from api.payments.service import cancel_live_mandates
from api.security import Caller
from api.staff.models import Role
from api.timekeeping import utcnow
from api.validation import clean_text

REVIEWER_ROLES = frozenset({Role.data_team.value, Role.team_lead.value, Role.admin.value})


def review_queue(
    *, db_session: Session, status: ChangeStatus
) -> list[tuple[ChangeRequest, Member]]:
    """Change requests in `status` with their members, oldest first (first come, first served)."""
    rows = db_session.execute(
        select(ChangeRequest, Member)
        .join(Member, Member.id == ChangeRequest.member_id)
        .where(ChangeRequest.status == status)
        .order_by(ChangeRequest.requested_at, ChangeRequest.id)
        .limit(500)
    ).all()
    return [(change, member) for change, member in rows]


def _still_as_requested(member: Member, old: dict[str, Any], *, fields: tuple[str, ...]) -> bool:
    current: dict[str, Any] = {
        "employer_id": member.employer_id,
        "workplace_id": member.workplace_id,
        "job_title": member.job_title,
        "grade": member.grade,
        **{name: getattr(member, name) for name in PERSONAL_FIELDS},
    }
    current["date_of_birth"] = member.date_of_birth.isoformat()
    return all(current[name] == old.get(name) for name in fields if name in old)


def _switch_to_payroll(
    *, db_session: Session, change: ChangeRequest, member: Member, actor: str
) -> None:
    # Check-off replaces the direct debit: leaving the mandate live would collect twice.
    member.payment_method = PaymentMethod.payroll
    cancel_live_mandates(
        db_session=db_session,
        member=member,
        actor=actor,
        channel=change.channel,
        why="for payroll deduction",
    )


def _apply_reviewed(
    *, db_session: Session, change: ChangeRequest, member: Member, actor: str
) -> None:
    old = json.loads(change.old_value or "{}")
    new = json.loads(change.new_value or "{}")
    if change.field == "employment":
        compared: tuple[str, ...] = ("employer_id", "workplace_id", "job_title", "grade")
    elif change.field == "personal_details":
        compared = PERSONAL_FIELDS
    elif change.field == "payment_method":
        _switch_to_payroll(db_session=db_session, change=change, member=member, actor=actor)
        return
    else:
        raise Conflict("This kind of change is never held for review.")
    if not _still_as_requested(member, old, fields=compared):
        raise Conflict(
            "The member's record has changed since this was requested. Reject it and ask the"
            " member to confirm the details again."
        )
    if change.field == "employment":
        apply_employment(db_session=db_session, member=member, new=new)
        return
    for name, value in new.items():
        setattr(member, name, date.fromisoformat(value) if name == "date_of_birth" else value)


# How a decided change is named to the member.
_DECIDED_WHAT = {
    "employment": "your employer and workplace",
    "personal_details": "a correction to your name or date of birth",
    "payment_method": "paying by payroll deduction",
}


def decide(
    *,
    db_session: Session,
    reference: str,
    caller: Caller,
    channel: str,
    decision: str,
    reason: str | None,
) -> ChangeResult:
    """A reviewer approves (applying it) or rejects a change waiting for review."""
    if caller.kind != "staff" or caller.role not in REVIEWER_ROLES:
        raise NotAllowed("Only the data team, team leads and admins decide changes.")
    change = db_session.scalar(
        select(ChangeRequest).where(ChangeRequest.reference == reference).with_for_update()
    )
    if change is None:
        raise NotFound("No change request with that reference.")
    if change.requested_by_staff_id == caller.staff_id or change.requested_by == caller.actor:
        raise NotAllowed(
            "You asked for this change, so someone else must review it (maker-checker)."
        )
    if change.status != ChangeStatus.pending_review:
        raise Conflict(f"This change was already {change.status.value}.")
    # Cleaned here, as refund decisions are, whichever route the reviewer came through.
    reason = clean_text(reason, field="reason", max_length=500)
    if decision == "reject" and not reason:
        raise InvalidValue("Say why the change is rejected.", field="reason")
    member = db_session.get(Member, change.member_id)
    assert member is not None
    if decision == "approve":
        _apply_reviewed(db_session=db_session, change=change, member=member, actor=caller.actor)
        change.status = ChangeStatus.applied
        action = "change_request_approved"
    else:
        change.status = ChangeStatus.rejected
        action = "change_request_rejected"
    change.decided_by_staff_id = caller.staff_id
    change.decided_at = utcnow()
    change.decision_reason = reason
    fields = (
        EMPLOYMENT_FIELDS if change.field == "employment" else json.loads(change.new_value or "{}")
    )
    audit_change(
        db_session=db_session,
        caller=caller,
        channel=channel,
        action=action,
        member=member,
        change=change,
        fields=list(fields),
    )
    tell_member_of_decision(
        db_session=db_session, member=member, reference=change.reference,
        what=_DECIDED_WHAT.get(change.field, "a change to your record"),
        approved=decision == "approve", reason=reason,
    )
    commit_or_stale(db_session)
    verb = "applied" if decision == "approve" else "rejected"
    return ChangeResult(change, f"Change {change.reference} is {verb}.")
