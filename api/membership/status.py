"""The membership lifecycle: joining, accepting, resigning, lapsing, rejoining.

    applicant -> active              (application accepted)
    active -> grace -> lapsed        (a payment missed; then membership ended for non-payment)
    grace -> active                  (the missed payment made good)
    active | grace -> resigned
    lapsed | resigned -> active      (rejoin, once arrears are cleared)
    any -> deceased

Every change writes a dated StatusPeriod row, because ballot eligibility is decided on the
status as at a ballot's register date.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.audit.service import record
from api.changes.models import ChangeRequest, ChangeStatus, IdentityLevel
from api.errors import Conflict, InvalidValue
from api.members.models import Member, Status, StatusPeriod
from api.references import new_reference
from api.timekeeping import today

ALLOWED_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.applicant: frozenset({Status.active, Status.deceased}),
    Status.active: frozenset({Status.grace, Status.resigned, Status.deceased}),
    Status.grace: frozenset({Status.active, Status.lapsed, Status.resigned, Status.deceased}),
    Status.lapsed: frozenset({Status.active, Status.deceased}),
    Status.resigned: frozenset({Status.active, Status.deceased}),
    Status.deceased: frozenset(),
}
_LEAVING = frozenset({Status.resigned, Status.lapsed, Status.deceased})

STATUS_EXPLANATIONS: dict[Status, str] = {
    Status.applicant: (
        "Your application has been received and is waiting to be accepted. We may ask for "
        "evidence that you're eligible before your membership starts."
    ),
    Status.active: "Your membership is active: you're a member in good standing.",
    Status.grace: (
        "A payment was missed, but you're still covered for now. Making the missed payment "
        "keeps your membership going; otherwise it will lapse."
    ),
    Status.lapsed: (
        "Your membership has ended because subscriptions weren't paid. You can rejoin once "
        "any arrears are cleared."
    ),
    Status.resigned: "You resigned your membership. You're welcome to rejoin at any time.",
    Status.deceased: "This membership has been closed.",
}


def current_status_since(*, db_session: Session, member: Member) -> date | None:
    """The date the member's latest status period starts."""
    return db_session.scalar(
        select(func.max(StatusPeriod.effective_from)).where(StatusPeriod.member_id == member.id)
    )


def change_status(
    *,
    db_session: Session,
    member: Member,
    new_status: Status,
    effective_from: date,
    actor: str,
    channel: str,
) -> StatusPeriod:
    """Move the member to `new_status` from a date, if the lifecycle allows it (not committed)."""
    old_status = member.status
    if new_status == old_status:
        raise Conflict(f"The membership is already {old_status.value}.", field="status")
    if new_status not in ALLOWED_TRANSITIONS[old_status]:
        raise Conflict(
            f"A membership that is {old_status.value} can't become {new_status.value}.",
            field="status",
        )
    if effective_from > today():
        raise InvalidValue(
            "A status change takes effect today or on an earlier date, not in the future.",
            field="effective_date",
        )
    since = current_status_since(db_session=db_session, member=member)
    if since is not None and effective_from < since:
        raise InvalidValue(
            f"The membership has been {old_status.value} since {since.isoformat()}; "
            "a change can't take effect before that.",
            field="effective_date",
        )

    period = StatusPeriod(member_id=member.id, status=new_status, effective_from=effective_from)
    db_session.add(period)
    member.status = new_status
    if new_status in _LEAVING:
        member.left_on = effective_from
    elif old_status in (Status.lapsed, Status.resigned):
        member.left_on = None
    record(
        db_session=db_session,
        actor=actor,
        action="status_changed",
        member_id=member.id,
        fields=("status",),
        channel=channel,
        detail=f"{old_status.value} -> {new_status.value} from {effective_from.isoformat()}",
    )
    db_session.flush()
    return period


@dataclass(frozen=True)
class Requester:
    """Who asked for a change and how sure we were of them (for the change request)."""

    actor: str
    channel: str
    identity_level: IdentityLevel
    staff_id: int | None = None


def status_change_request(
    *,
    db_session: Session,
    member: Member,
    old_status: Status,
    new_value: dict[str, str | None],
    requester: Requester,
) -> ChangeRequest:
    """The applied change request that records a status change (not committed)."""
    change = ChangeRequest(
        reference=new_reference("CR"),
        member_id=member.id,
        field="status",
        old_value=old_status.value,
        new_value=json.dumps(new_value, sort_keys=True, ensure_ascii=False),
        channel=requester.channel,
        identity_level=requester.identity_level,
        status=ChangeStatus.applied,
        requested_by=requester.actor,
        requested_by_staff_id=requester.staff_id,
    )
    db_session.add(change)
    return change
