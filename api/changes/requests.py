"""Change requests: the one path every kind of change is recorded through.

Every change is a ChangeRequest row, which keeps the old and new values: it is the record of
change. The audit log gets the field names only, never sensitive values. What each kind of
change checks is in api.changes.applying; decisions on held ones in api.changes.reviewing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.service import record
from api.changes.models import ChangeRequest, ChangeStatus, IdentityLevel
from api.changes.schemas import ClaimedIdentity
from api.database import commit_or_stale
from api.employers.models import Employer, Workplace
from api.errors import Conflict, InvalidValue
from api.members.models import EmploymentPeriod, Member
from api.references import new_reference
from api.security import Caller
from api.timekeeping import utcnow

ADDRESS_FIELDS = ("address_line1", "address_line2", "town", "postcode")
EMPLOYMENT_FIELDS = ("employer", "workplace", "job_title", "grade", "effective_from")
PERSONAL_FIELDS = ("title", "first_name", "last_name", "date_of_birth")
_VALUE_LIMIT = 1000


@dataclass(frozen=True)
class ChangeResult:
    """A change request and the message to give the member about it."""

    change: ChangeRequest
    message: str


def identity_level_for(*, caller: Caller, claimed: ClaimedIdentity | None) -> IdentityLevel:
    """How sure we are of who asked: from the verified caller, and the service's claim."""
    if caller.kind == "member":
        return IdentityLevel(caller.identity_level or "identity_checked")
    if caller.kind == "staff":
        return IdentityLevel.staff
    return IdentityLevel(claimed or "none")


def _encoded(values: dict[str, Any], *, field: str) -> str:
    text = json.dumps(values, ensure_ascii=False, sort_keys=True, default=str)
    if len(text) > _VALUE_LIMIT:
        raise InvalidValue("These details are too long to record; shorten them.", field=field)
    return text


def audit_change(
    *,
    db_session: Session,
    caller: Caller,
    channel: str,
    action: str,
    member: Member,
    change: ChangeRequest,
    fields: list[str],
) -> None:
    """Write the audit event for a change request: field names only, never values."""
    record(
        db_session=db_session,
        actor=caller.actor,
        action=action,
        member_id=member.id,
        fields=fields,
        channel=channel,
        detail=f"{change.reference} {change.status.value}",
    )


def record_change(
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
    action: str,
    fields: list[str],
    review_reason: str | None = None,
    apply: Callable[[], None] | None = None,
) -> ChangeRequest:
    """Record a change request and its audit event, applying it first when `apply` is given."""
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
    if apply is not None:
        apply()
    audit_change(
        db_session=db_session,
        caller=caller,
        channel=channel,
        action=action,
        member=member,
        change=change,
        fields=fields,
    )
    commit_or_stale(db_session)
    return change


def employment_values(
    *,
    employer: Employer | None,
    workplace: Workplace | None,
    job_title: str | None,
    grade: str | None,
    effective_from: date | None,
) -> dict[str, Any]:
    """A job as a change request stores it (names and ids, so a reviewer sees both)."""
    return {
        "employer": employer.name if employer else None,
        "employer_id": employer.id if employer else None,
        "workplace": workplace.name if workplace else None,
        "workplace_id": workplace.id if workplace else None,
        "job_title": job_title,
        "grade": grade,
        "effective_from": effective_from.isoformat() if effective_from else None,
    }


def apply_employment(*, db_session: Session, member: Member, new: dict[str, Any]) -> None:
    """Put a new job on the member's record, with a dated history row when they moved."""
    moved = (new["employer_id"], new["workplace_id"]) != (member.employer_id, member.workplace_id)
    # Set through the relationships so the record read back shows the new names at once.
    employer = db_session.get(Employer, new["employer_id"])
    workplace = db_session.get(Workplace, new["workplace_id"])
    if employer is None or workplace is None or workplace.employer_id != employer.id:
        raise Conflict("That employer or workplace is no longer on our list.")
    member.employer, member.workplace = employer, workplace
    # Applying is reached only for register entries, or by a data-team reviewer's approval,
    # which is the check a name new to the register waited for.
    employer.needs_review = workplace.needs_review = False
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


def history(*, db_session: Session, member: Member) -> list[ChangeRequest]:
    """The member's change requests, newest first."""
    return list(
        db_session.scalars(
            select(ChangeRequest)
            .where(ChangeRequest.member_id == member.id)
            .order_by(ChangeRequest.requested_at.desc(), ChangeRequest.id.desc())
        )
    )
