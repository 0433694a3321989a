"""The six kinds of change a member (or staff for them) asks for: applied at once, or held
for a reviewer (maker-checker) when they need checking first.

Each checks what it must, then goes through record_change (api.changes.requests).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.ballots.constituency import ballots_affected_by_move
from api.changes.models import ChangeRequest, ChangeStatus
from api.changes.requests import (
    ADDRESS_FIELDS,
    EMPLOYMENT_FIELDS,
    PERSONAL_FIELDS,
    ChangeResult,
    apply_employment,
    employment_values,
    record_change,
)
from api.changes.schemas import (
    AddressChange,
    ClaimedIdentity,
    ContactChange,
    EmploymentChange,
    PersonalDetailsChange,
)
from api.database import check_version
from api.employers.models import Employer, Workplace
from api.employers.service import resolve_employment
from api.errors import Conflict, InvalidValue
from api.members.models import Member, PaymentMethod
from api.security import Caller
from api.timekeeping import today

# How far ahead a new job may start and still be recorded now.
_EMPLOYMENT_LOOKAHEAD = timedelta(days=366)


def change_address(
    *, db_session: Session, member: Member, caller: Caller, channel: str, address: AddressChange
) -> ChangeResult:
    """Apply a new postal address at once."""
    check_version(member=member, version=address.version)
    new = {name: getattr(address, name) for name in ADDRESS_FIELDS}

    def apply() -> None:
        for name, value in new.items():
            setattr(member, name, value)

    change = record_change(
        db_session=db_session, member=member, caller=caller, channel=channel, field="address",
        old={name: getattr(member, name) for name in ADDRESS_FIELDS}, new=new,
        status=ChangeStatus.applied, claimed=address.identity_level, action="address_changed",
        fields=list(ADDRESS_FIELDS), apply=apply,
    )
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

    # Notifying the old email address or phone number of the change is a later issue: it is
    # how a member finds out someone else changed their details.
    def apply() -> None:
        for name, value in given.items():
            setattr(member, name, value)

    change = record_change(
        db_session=db_session, member=member, caller=caller, channel=channel, field="contact",
        old={name: getattr(member, name) for name in given}, new=given,
        status=ChangeStatus.applied, claimed=contact.identity_level,
        action="contact_details_changed", fields=list(given), apply=apply,
    )
    what = " and ".join({"email": "email address", "phone": "phone number"}[n] for n in given)
    return ChangeResult(change, f"Your {what} is updated. Your reference is {change.reference}.")


def _payroll_note(member: Member, *, new_employer_id: int) -> str:
    if member.payment_method == PaymentMethod.payroll and member.employer_id != new_employer_id:
        return (
            " Your subscription was deducted from your pay by your employer (check-off); that"
            " stops when you change employer, so you need a new way to pay, such as Direct Debit."
        )
    return ""


def _held_as_new_to_register(
    common: dict[str, Any], *, employer: Employer, workplace: Workplace, note: str
) -> ChangeResult:
    # A name not on the register counts for no ballot until the data team has checked it is
    # real and not another entry written differently; the move waits with it.
    what = "employer" if employer.needs_review else "workplace"
    name = employer.name if employer.needs_review else workplace.name
    change = record_change(
        **common, status=ChangeStatus.pending_review, action="employment_change_requested",
        review_reason=f"New {what} not on the register: {name}"[:300],
    )
    return ChangeResult(
        change,
        (
            f"{name} isn't on our list yet, so I've recorded it as new: our data team will check"
            f" it and then update your record. Your reference is {change.reference}.{note}"
        ),
    )


def change_employment(
    *,
    db_session: Session,
    member: Member,
    caller: Caller,
    channel: str,
    employment: EmploymentChange,
) -> ChangeResult:
    """Apply a new employment, or hold it for review: it moves the member between ballots, or
    names an employer or workplace new to the register."""
    check_version(member=member, version=employment.version)
    effective_from = employment.effective_from or today()
    if effective_from < member.joined_on or effective_from > today() + _EMPLOYMENT_LOOKAHEAD:
        raise InvalidValue(
            "The start date must be after you joined and no more than a year from now.",
            field="effective_from",
        )
    employer, workplace = resolve_employment(
        db_session=db_session,
        employer=employment.employer,
        workplace=employment.workplace,
        new_employer=employment.new_employer,
        new_workplace=employment.new_workplace,
    )
    old = employment_values(
        employer=member.employer,
        workplace=member.workplace,
        job_title=member.job_title,
        grade=member.grade,
        effective_from=None,
    )
    new = employment_values(
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
    common: dict[str, Any] = dict(
        db_session=db_session, member=member, caller=caller, channel=channel, field="employment",
        old=old, new=new, claimed=employment.identity_level, fields=list(EMPLOYMENT_FIELDS),
    )
    if employer.needs_review or workplace.needs_review:
        return _held_as_new_to_register(common, employer=employer, workplace=workplace, note=note)
    if ballots:
        named = ", ".join(f"{b.ballot_code} ({b.title})" for b in ballots)
        change = record_change(
            **common, status=ChangeStatus.pending_review,
            action="employment_change_requested",
            review_reason=f"Moves the member into or out of a running ballot: {named}"[:300],
        )
        titles = ", ".join(b.title for b in ballots)
        return ChangeResult(
            change,
            (
                f"This change affects who is balloted in {titles}, so our data team will check it"
                f" before it is applied. Your reference is {change.reference}.{note}"
            ),
        )
    change = record_change(
        **common, status=ChangeStatus.applied, action="employment_changed",
        apply=lambda: apply_employment(db_session=db_session, member=member, new=new),
    )
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
    change = record_change(
        db_session=db_session, member=member, caller=caller, channel=channel,
        field="personal_details",
        old={k: v.isoformat() if isinstance(v, date) else v for k, v in old.items()},
        new={k: v.isoformat() if isinstance(v, date) else v for k, v in given.items()},
        status=ChangeStatus.pending_review, claimed=details.identity_level,
        action="personal_details_change_requested", fields=list(given),
        review_reason="Corrections to title, name or date of birth are checked by the data team.",
    )
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

    def apply() -> None:
        member.marketing_consent = False

    change = record_change(
        db_session=db_session, member=member, caller=caller, channel=channel,
        field="marketing_consent", old={"marketing_consent": member.marketing_consent},
        new={"marketing_consent": False}, status=ChangeStatus.applied, claimed=claimed,
        action="marketing_opted_out", fields=["marketing_consent"], apply=apply,
    )
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
    change = record_change(
        db_session=db_session, member=member, caller=caller, channel=channel,
        field="payment_method", old={"payment_method": member.payment_method.value},
        new={"payment_method": PaymentMethod.payroll.value},
        status=ChangeStatus.pending_review, claimed=claimed,
        action="payroll_deduction_requested", fields=["payment_method"],
        review_reason="Payroll deduction needs the employer's check-off arrangement confirmed.",
    )
    return ChangeResult(
        change,
        (
            "Thanks: our payments team will check payroll deduction with your employer and"
            " confirm the first deduction date. Keep your current payments going until then."
            f" Your reference is {change.reference}."
        ),
    )
