"""Changes to member records, their history, and the reviewers' queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from api.changes import applying, requests, reviewing
from api.changes.models import ChangeStatus
from api.changes.schemas import (
    AddressChange,
    ChangeDecision,
    ChangeForReview,
    ChangeOutcome,
    ChangeRequestPublic,
    ContactChange,
    EmploymentChange,
    MarketingOptOut,
    PaymentMethodChange,
    PersonalDetailsChange,
)
from api.deps import CallerDep, ChannelDep, SessionDep, StaffCaller
from api.members.deps import OwnedMember
from api.members.models import Member
from api.payments.arrears import public_view
from api.security import Caller
from api.staff.deps import staff_who_may
from api.staff.permissions import Permission

router = APIRouter(tags=["changes"])


def _outcome(db: Session, result: requests.ChangeResult, member: Member) -> ChangeOutcome:
    return ChangeOutcome(
        reference=result.change.reference,
        status=result.change.status,
        message=result.message,
        member=public_view(db_session=db, member=member),
    )


@router.put("/members/{membership_number}/address", response_model=ChangeOutcome)
def change_address(
    member: OwnedMember, body: AddressChange, caller: CallerDep, channel: ChannelDep, db: SessionDep
) -> ChangeOutcome:
    """A new postal address, applied at once."""
    result = applying.change_address(
        db_session=db, member=member, caller=caller, channel=channel, address=body
    )
    return _outcome(db, result, member)


@router.put("/members/{membership_number}/contact", response_model=ChangeOutcome)
def change_contact(
    member: OwnedMember, body: ContactChange, caller: CallerDep, channel: ChannelDep, db: SessionDep
) -> ChangeOutcome:
    """A new email address and/or phone number, applied at once."""
    result = applying.change_contact(
        db_session=db, member=member, caller=caller, channel=channel, contact=body
    )
    return _outcome(db, result, member)


@router.put("/members/{membership_number}/employment", response_model=ChangeOutcome)
def change_employment(
    member: OwnedMember,
    body: EmploymentChange,
    caller: CallerDep,
    channel: ChannelDep,
    db: SessionDep,
) -> ChangeOutcome:
    """A new employer and workplace: applied, or held for review if it affects a ballot."""
    result = applying.change_employment(
        db_session=db, member=member, caller=caller, channel=channel, employment=body
    )
    return _outcome(db, result, member)


@router.post("/members/{membership_number}/personal-details", response_model=ChangeOutcome)
def request_personal_details_change(
    member: OwnedMember,
    body: PersonalDetailsChange,
    caller: CallerDep,
    channel: ChannelDep,
    db: SessionDep,
) -> ChangeOutcome:
    """A correction to title, name or date of birth, held for the data team to review."""
    result = applying.request_personal_details_change(
        db_session=db, member=member, caller=caller, channel=channel, details=body
    )
    return _outcome(db, result, member)


@router.post("/members/{membership_number}/marketing-opt-out", response_model=ChangeOutcome)
def opt_out_of_marketing(
    member: OwnedMember,
    caller: CallerDep,
    channel: ChannelDep,
    db: SessionDep,
    body: MarketingOptOut | None = None,
) -> ChangeOutcome:
    """Stop marketing, at once."""
    body = body or MarketingOptOut()
    result = applying.opt_out_of_marketing(
        db_session=db,
        member=member,
        caller=caller,
        channel=channel,
        version=body.version,
        claimed=body.identity_level,
    )
    return _outcome(db, result, member)


@router.post(
    "/members/{membership_number}/payment-method", response_model=ChangeOutcome, status_code=201
)
def request_payment_method_change(
    member: OwnedMember,
    body: PaymentMethodChange,
    caller: CallerDep,
    channel: ChannelDep,
    db: SessionDep,
) -> ChangeOutcome:
    """Ask to pay through payroll deduction; held for the payments team to confirm."""
    result = applying.request_payroll_deduction(
        db_session=db,
        member=member,
        caller=caller,
        channel=channel,
        version=body.version,
        claimed=body.identity_level,
    )
    return _outcome(db, result, member)


@router.get("/members/{membership_number}/history", response_model=list[ChangeRequestPublic])
def change_history(member: OwnedMember, db: SessionDep) -> list[ChangeRequestPublic]:
    """The member's change requests, newest first."""
    return [
        ChangeRequestPublic.from_change(c) for c in requests.history(db_session=db, member=member)
    ]


@router.get("/change-requests", response_model=list[ChangeForReview])
def review_queue(
    _staff: Annotated[Caller, staff_who_may(Permission.decide_changes)],
    db: SessionDep,
    status: Annotated[ChangeStatus, Query()] = ChangeStatus.pending_review,
) -> list[ChangeForReview]:
    """Change requests in a status (by default those waiting for review), oldest first."""
    return [
        ChangeForReview(
            **ChangeRequestPublic.from_change(change).model_dump(),
            membership_number=member.membership_number,
            member_name=f"{member.first_name} {member.last_name}",
        )
        for change, member in reviewing.review_queue(db_session=db, status=status)
    ]


@router.post("/change-requests/{reference}/decision", response_model=ChangeOutcome)
def decide_change(
    reference: Annotated[str, Path(max_length=20)],
    body: ChangeDecision,
    staff: StaffCaller,
    channel: ChannelDep,
    db: SessionDep,
) -> ChangeOutcome:
    """A reviewer approves or rejects a change; never the person who asked for it."""
    result = reviewing.decide(
        db_session=db,
        reference=reference,
        caller=staff,
        channel=channel,
        decision=body.decision,
        reason=body.reason,
    )
    member = db.get(Member, result.change.member_id)
    assert member is not None
    return _outcome(db, result, member)
