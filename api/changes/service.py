"""Changes to a member's record: applied at once, or held for a reviewer (maker-checker).

Every change is a ChangeRequest row, which keeps the old and new values: it is the record of
change. The audit log gets the field names only, never sensitive values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from api.audit.service import record
from api.ballots.constituency import ballots_affected_by_move
from api.changes.models import ChangeRequest, ChangeStatus, IdentityLevel
from api.changes.schemas import (
    AddressChange,
    ClaimedIdentity,
    ContactChange,
    EmploymentChange,
    PersonalDetailsChange,
)
from api.emails import queue_rendered
from api.employers.models import Employer, Workplace
from api.employers.service import resolve_employment
from api.errors import Conflict, InvalidValue, NotAllowed, NotFound, StaleWrite
from api.members.models import EmploymentPeriod, Member, PaymentMethod
from api.payments.service import cancel_live_mandates
from api.references import new_reference
from api.security import Caller
from api.staff.models import Role
from api.timekeeping import today, utcnow
from api.validation import clean_text

STALE_MESSAGE = "The record changed since you read it. Read it again and retry."
REVIEWER_ROLES = frozenset({Role.data_team.value, Role.team_lead.value, Role.admin.value})
ADDRESS_FIELDS = ("address_line1", "address_line2", "town", "postcode")
EMPLOYMENT_FIELDS = ("employer", "workplace", "job_title", "grade", "effective_from")
PERSONAL_FIELDS = ("title", "first_name", "last_name", "date_of_birth")
_VALUE_LIMIT = 1000
# How far ahead a new job may start and still be recorded now.
_EMPLOYMENT_LOOKAHEAD = timedelta(days=366)


@dataclass(frozen=True)
class ChangeResult:
    """A change request and the message to give the member about it."""

    change: ChangeRequest
    message: str


def identity_level_for(*, caller: Caller, claimed: ClaimedIdentity | None) -> IdentityLevel:
    """How sure we are of who asked: from the verified caller, and the service's claim."""
    if caller.kind == "member":
        return IdentityLevel.identity_checked
    if caller.kind == "staff":
        return IdentityLevel.staff
    return IdentityLevel(claimed or "none")


def check_version(*, member: Member, version: int | None) -> None:
    """StaleWrite when the caller read an older version of the record than the current one."""
    if version is not None and version != member.version:
        raise StaleWrite(STALE_MESSAGE, field="version")


def _encoded(values: dict[str, Any], *, field: str) -> str:
    text = json.dumps(values, ensure_ascii=False, sort_keys=True, default=str)
    if len(text) > _VALUE_LIMIT:
        raise InvalidValue("These details are too long to record; shorten them.", field=field)
    return text


def _commit(db_session: Session) -> None:
    try:
        db_session.commit()
    except StaleDataError:
        # Another write to this member landed between our read and our update.
        db_session.rollback()
        raise StaleWrite(STALE_MESSAGE, field="version") from None


def _new_change(
    *,
    db_session: Session,
    member: Member,
    caller: Caller,
    channel: str,
    field: str,
    old: dict[str, Any],
    new: dict[str, Any],
    status: ChangeStatus,
    claimed: ClaimedIdentity | None,
    review_reason: str | None = None,
) -> ChangeRequest:
    change = ChangeRequest(
        reference=new_reference("CR"),
        member_id=member.id,
        field=field,
        old_value=_encoded(old, field=field),
        new_value=_encoded(new, field=field),
        channel=channel,
        identity_level=identity_level_for(caller=caller, claimed=claimed),
        status=status,
        review_reason=review_reason,
        requested_by=caller.actor,
        requested_by_staff_id=caller.staff_id if caller.kind == "staff" else None,
        requested_at=utcnow(),
    )
    db_session.add(change)
    return change


def _audit(
    *,
    db_session: Session,
    caller: Caller,
    channel: str,
    action: str,
    member: Member,
    change: ChangeRequest,
    fields: list[str],
) -> None:
    record(
        db_session=db_session,
        actor=caller.actor,
        action=action,
        member_id=member.id,
        fields=fields,
        channel=channel,
        detail=f"{change.reference} {change.status.value}",
    )


def change_address(
    *, db_session: Session, member: Member, caller: Caller, channel: str, address: AddressChange
) -> ChangeResult:
    """Apply a new postal address at once."""
    check_version(member=member, version=address.version)
    old = {name: getattr(member, name) for name in ADDRESS_FIELDS}
    new = {name: getattr(address, name) for name in ADDRESS_FIELDS}
    change = _new_change(
        db_session=db_session,
        member=member,
        caller=caller,
        channel=channel,
        field="address",
        old=old,
        new=new,
        status=ChangeStatus.applied,
        claimed=address.identity_level,
    )
    for name, value in new.items():
        setattr(member, name, value)
    _audit(
        db_session=db_session,
        caller=caller,
        channel=channel,
        action="address_changed",
        member=member,
        change=change,
        fields=list(ADDRESS_FIELDS),
    )
    _commit(db_session)
    return ChangeResult(change, f"Your address is updated. Your reference is {change.reference}.")


def change_contact(
    *, db_session: Session, member: Member, caller: Caller, channel: str, contact: ContactChange
) -> ChangeResult:
    """Apply a new email address and/or phone number at once."""
    given = {name: getattr(contact, name) for name in ("email", "phone")}
    given = {name: value for name, value in given.items() if value is not None}
    if not given:
        raise InvalidValue("Give a new email address, phone number or both.", field="email")
    check_version(member=member, version=contact.version)
    change = _new_change(
        db_session=db_session,
        member=member,
        caller=caller,
        channel=channel,
        field="contact",
        old={name: getattr(member, name) for name in given},
        new=given,
        status=ChangeStatus.applied,
        claimed=contact.identity_level,
    )
    # Notifying the old email address or phone number of the change is a later issue: it is
    # how a member finds out someone else changed their details.
    for name, value in given.items():
        setattr(member, name, value)
    _audit(
        db_session=db_session,
        caller=caller,
        channel=channel,
        action="contact_details_changed",
        member=member,
        change=change,
        fields=list(given),
    )
    _commit(db_session)
    what = " and ".join({"email": "email address", "phone": "phone number"}[n] for n in given)
    return ChangeResult(change, f"Your {what} is updated. Your reference is {change.reference}.")


def _employment_values(
    *,
    employer: Employer | None,
    workplace: Workplace | None,
    job_title: str | None,
    grade: str | None,
    effective_from: date | None,
) -> dict[str, Any]:
    return {
        "employer": employer.name if employer else None,
        "employer_id": employer.id if employer else None,
        "workplace": workplace.name if workplace else None,
        "workplace_id": workplace.id if workplace else None,
        "job_title": job_title,
        "grade": grade,
        "effective_from": effective_from.isoformat() if effective_from else None,
    }


def _apply_employment(*, db_session: Session, member: Member, new: dict[str, Any]) -> None:
    moved = (new["employer_id"], new["workplace_id"]) != (member.employer_id, member.workplace_id)
    # Set through the relationships so the record read back shows the new names at once.
    employer = db_session.get(Employer, new["employer_id"])
    workplace = db_session.get(Workplace, new["workplace_id"])
    if employer is None or workplace is None or workplace.employer_id != employer.id:
        raise Conflict("That employer or workplace is no longer on our list.")
    member.employer, member.workplace = employer, workplace
    member.job_title = new["job_title"]
    member.grade = new["grade"]
    if moved:
        # Ballot eligibility is decided as at a register date, so moves keep dated history.
        db_session.add(
            EmploymentPeriod(
                member_id=member.id,
                employer_id=new["employer_id"],
                workplace_id=new["workplace_id"],
                effective_from=date.fromisoformat(new["effective_from"]),
            )
        )


def _payroll_note(member: Member, *, new_employer_id: int) -> str:
    if member.payment_method == PaymentMethod.payroll and member.employer_id != new_employer_id:
        return (
            " Your subscription was deducted from your pay by your employer (check-off); that"
            " stops when you change employer, so you need a new way to pay, such as Direct Debit."
        )
    return ""


def change_employment(
    *,
    db_session: Session,
    member: Member,
    caller: Caller,
    channel: str,
    employment: EmploymentChange,
) -> ChangeResult:
    """Apply a new employment, or hold it for review when it moves the member between ballots."""
    check_version(member=member, version=employment.version)
    employer, workplace = resolve_employment(
        db_session=db_session, employer=employment.employer, workplace=employment.workplace
    )
    effective_from = employment.effective_from or today()
    if effective_from < member.joined_on or effective_from > today() + _EMPLOYMENT_LOOKAHEAD:
        raise InvalidValue(
            "The start date must be after you joined and no more than a year from now.",
            field="effective_from",
        )
    old = _employment_values(
        employer=member.employer,
        workplace=member.workplace,
        job_title=member.job_title,
        grade=member.grade,
        effective_from=None,
    )
    new = _employment_values(
        employer=employer,
        workplace=workplace,
        job_title=employment.job_title if employment.job_title is not None else member.job_title,
        grade=employment.grade if employment.grade is not None else member.grade,
        effective_from=effective_from,
    )
    note = _payroll_note(member, new_employer_id=employer.id)
    ballots = ballots_affected_by_move(
        db_session=db_session,
        from_employer_id=member.employer_id,
        to_employer_id=employer.id,
        on=today(),
    )
    if ballots:
        named = ", ".join(f"{b.ballot_code} ({b.title})" for b in ballots)
        change = _new_change(
            db_session=db_session,
            member=member,
            caller=caller,
            channel=channel,
            field="employment",
            old=old,
            new=new,
            status=ChangeStatus.pending_review,
            claimed=employment.identity_level,
            review_reason=f"Moves the member into or out of a running ballot: {named}"[:300],
        )
        _audit(
            db_session=db_session,
            caller=caller,
            channel=channel,
            action="employment_change_requested",
            member=member,
            change=change,
            fields=list(EMPLOYMENT_FIELDS),
        )
        _commit(db_session)
        titles = ", ".join(b.title for b in ballots)
        return ChangeResult(
            change,
            (
                f"This change affects who is balloted in {titles}, so our data team will check it"
                f" before it is applied. Your reference is {change.reference}.{note}"
            ),
        )
    change = _new_change(
        db_session=db_session,
        member=member,
        caller=caller,
        channel=channel,
        field="employment",
        old=old,
        new=new,
        status=ChangeStatus.applied,
        claimed=employment.identity_level,
    )
    _apply_employment(db_session=db_session, member=member, new=new)
    _audit(
        db_session=db_session,
        caller=caller,
        channel=channel,
        action="employment_changed",
        member=member,
        change=change,
        fields=list(EMPLOYMENT_FIELDS),
    )
    _commit(db_session)
    return ChangeResult(
        change, f"Your employment details are updated. Your reference is {change.reference}.{note}"
    )


def request_personal_details_change(
    *,
    db_session: Session,
    member: Member,
    caller: Caller,
    channel: str,
    details: PersonalDetailsChange,
) -> ChangeResult:
    """Record a correction to title, name or date of birth for a reviewer to check."""
    given: dict[str, Any] = {
        name: getattr(details, name)
        for name in PERSONAL_FIELDS
        if getattr(details, name) is not None
    }
    if not given:
        raise InvalidValue("Give the title, name or date of birth to correct.", field="first_name")
    dob = given.get("date_of_birth")
    if dob is not None and not (date(1900, 1, 1) <= dob <= today() - timedelta(days=365 * 14)):
        raise InvalidValue("That date of birth doesn't look right.", field="date_of_birth")
    check_version(member=member, version=details.version)
    old = {name: getattr(member, name) for name in given}
    change = _new_change(
        db_session=db_session,
        member=member,
        caller=caller,
        channel=channel,
        field="personal_details",
        old={k: v.isoformat() if isinstance(v, date) else v for k, v in old.items()},
        new={k: v.isoformat() if isinstance(v, date) else v for k, v in given.items()},
        status=ChangeStatus.pending_review,
        claimed=details.identity_level,
        review_reason="Corrections to title, name or date of birth are checked by the data team.",
    )
    _audit(
        db_session=db_session,
        caller=caller,
        channel=channel,
        action="personal_details_change_requested",
        member=member,
        change=change,
        fields=list(given),
    )
    _commit(db_session)
    return ChangeResult(
        change,
        (
            "Thanks: our data team will check this correction and update your record, usually"
            f" within a few working days. Your reference is {change.reference}."
        ),
    )


def opt_out_of_marketing(
    *,
    db_session: Session,
    member: Member,
    caller: Caller,
    channel: str,
    version: int | None,
    claimed: ClaimedIdentity | None,
) -> ChangeResult:
    """Stop marketing at once; recorded even when already opted out, as evidence of the request."""
    check_version(member=member, version=version)
    already = not member.marketing_consent
    change = _new_change(
        db_session=db_session,
        member=member,
        caller=caller,
        channel=channel,
        field="marketing_consent",
        old={"marketing_consent": member.marketing_consent},
        new={"marketing_consent": False},
        status=ChangeStatus.applied,
        claimed=claimed,
    )
    member.marketing_consent = False
    _audit(
        db_session=db_session,
        caller=caller,
        channel=channel,
        action="marketing_opted_out",
        member=member,
        change=change,
        fields=["marketing_consent"],
    )
    _commit(db_session)
    if already:
        return ChangeResult(change, "You were already opted out of marketing; that stays so.")
    return ChangeResult(
        change, (f"You won't get marketing from us any more. Your reference is {change.reference}.")
    )


def request_payroll_deduction(
    *,
    db_session: Session,
    member: Member,
    caller: Caller,
    channel: str,
    version: int | None,
    claimed: ClaimedIdentity | None,
) -> ChangeResult:
    """Ask to pay through payroll: held for staff, who confirm check-off with the employer."""
    check_version(member=member, version=version)
    if member.payment_method == PaymentMethod.payroll:
        raise Conflict("You already pay through payroll deduction.", field="method")
    if member.employer_id is None:
        raise InvalidValue(
            "Payroll deduction goes through your employer, and we have none on your record."
            " Tell us your employer first.",
            field="method",
        )
    waiting = db_session.scalar(
        select(ChangeRequest.reference).where(
            ChangeRequest.member_id == member.id,
            ChangeRequest.field == "payment_method",
            ChangeRequest.status == ChangeStatus.pending_review,
        )
    )
    if waiting is not None:
        raise Conflict(
            f"You already asked for payroll deduction (reference {waiting}); it is with our"
            " team.",
            field="method",
        )
    change = _new_change(
        db_session=db_session,
        member=member,
        caller=caller,
        channel=channel,
        field="payment_method",
        old={"payment_method": member.payment_method.value},
        new={"payment_method": PaymentMethod.payroll.value},
        status=ChangeStatus.pending_review,
        claimed=claimed,
        review_reason="Payroll deduction needs the employer's check-off arrangement confirmed.",
    )
    _audit(
        db_session=db_session,
        caller=caller,
        channel=channel,
        action="payroll_deduction_requested",
        member=member,
        change=change,
        fields=["payment_method"],
    )
    _commit(db_session)
    return ChangeResult(
        change,
        (
            "Thanks: our payments team will check payroll deduction with your employer and"
            " confirm the first deduction date. Keep your current payments going until then."
            f" Your reference is {change.reference}."
        ),
    )


def history(*, db_session: Session, member: Member) -> list[ChangeRequest]:
    """The member's change requests, newest first."""
    return list(
        db_session.scalars(
            select(ChangeRequest)
            .where(ChangeRequest.member_id == member.id)
            .order_by(ChangeRequest.requested_at.desc(), ChangeRequest.id.desc())
        )
    )


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
        _apply_employment(db_session=db_session, member=member, new=new)
        return
    for name, value in new.items():
        setattr(member, name, date.fromisoformat(value) if name == "date_of_birth" else value)


# How a decided change is named to the member.
_DECIDED_WHAT = {
    "employment": "your employer and workplace",
    "personal_details": "a correction to your name or date of birth",
    "payment_method": "paying by payroll deduction",
}


def tell_member_of_decision(
    *,
    db_session: Session,
    member: Member,
    reference: str,
    what: str,
    approved: bool,
    reason: str | None,
) -> None:
    """Email the member a reviewer's decision (in the decision's own transaction)."""
    if not member.email:
        return
    queue_rendered(
        db_session=db_session, to_address=member.email, name="change_decided",
        first_name=member.first_name, reference=reference, what=what, approved=approved,
        reason=reason or "",
    )
    record(
        db_session=db_session, actor="system:notifications", action="member_told_of_decision",
        member_id=member.id, channel="email", detail=reference,
    )


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
    _audit(
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
    _commit(db_session)
    verb = "applied" if decision == "approve" else "rejected"
    return ChangeResult(change, f"Change {change.reference} is {verb}.")
