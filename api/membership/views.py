"""Membership routes: the member's record, their status, resigning, renewing, rejoining, joining."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.changes.requests import identity_level_for
from api.database import get_db
from api.deps import CallerDep, ChannelDep, ServiceCaller, SessionDep, StaffCaller
from api.members.deps import MembershipNumber, OwnedMember, refuse_service
from api.members.models import Status
from api.members.schemas import MemberPublic
from api.membership import service
from api.membership.record import owned_record
from api.membership.schemas import (
    ApplicationPublic,
    ApplicationRequest,
    ClaimedIdentity,
    MembershipPublic,
    RejoinRequest,
    RenewalPublic,
    ResignationPublic,
    ResignRequest,
    StatusChangePublic,
)
from api.membership.status import STATUS_EXPLANATIONS, Requester
from api.security import Caller

router = APIRouter(tags=["membership"])
# The record itself keeps the members tag it always had in the API docs.
record_router = APIRouter(tags=["members"])


def _requester(caller: Caller, channel: str, claimed: ClaimedIdentity | None) -> Requester:
    """Who is asking, with an identity level taken from the token, not the body (bar service)."""
    return Requester(
        actor=caller.actor,
        channel=channel,
        identity_level=identity_level_for(caller=caller, claimed=claimed),
        staff_id=caller.staff_id,
    )


@record_router.get("/members/{membership_number}", response_model=MemberPublic)
async def read_member(
    membership_number: MembershipNumber,
    caller: CallerDep,
    # The request's session as get_db gives it: SessionDep adds only an Idempotency-Key claim,
    # which a GET never makes.
    db: Annotated[Session, Depends(get_db)],
) -> Response:
    """The member's record, with current arrears."""
    # The assistant's most frequent request: one statement, over asyncpg on PostgreSQL and in
    # one trip to the thread pool on SQLite (api.reads). The checks are valid_owned_member's,
    # in its order: the service token is refused before any query.
    refuse_service(caller)
    record = await owned_record(db_session=db, caller=caller, membership_number=membership_number)
    # Already a validated MemberPublic: sent as its JSON, as FastAPI would send it, without
    # FastAPI validating and encoding it over again (the OpenAPI schema still says MemberPublic).
    return Response(record.model_dump_json(), media_type="application/json")


@router.get("/members/{membership_number}/membership", response_model=MembershipPublic)
def membership(member: OwnedMember) -> MembershipPublic:
    """The member's status, category and key dates, with the status in plain English."""
    return MembershipPublic(
        membership_number=member.membership_number,
        status=member.status,
        status_explanation=STATUS_EXPLANATIONS[member.status],
        category=member.category,
        payment_frequency=member.payment_frequency,
        joined_on=member.joined_on,
        renewal_date=member.renewal_date,
        left_on=member.left_on,
    )


@router.post("/members/{membership_number}/membership/resign", response_model=ResignationPublic)
def resign(
    body: ResignRequest, member: OwnedMember, db: SessionDep, caller: CallerDep, channel: ChannelDep
) -> ResignationPublic:
    """Resign from a date (default today); Direct Debit collections stop."""
    outcome = service.resign(
        db_session=db,
        member=member,
        effective_from=body.effective_date,
        reason=body.reason,
        requester=_requester(caller, channel, body.identity_level),
    )
    stopped = (
        " Your Direct Debit has been cancelled, so no further subscriptions will be collected."
        if outcome.mandates_cancelled
        else ""
    )
    return ResignationPublic(
        reference=outcome.change.reference,
        status=member.status,
        effective_date=outcome.effective_from,
        direct_debits_cancelled=outcome.mandates_cancelled,
        message=(
            f"Your resignation is recorded from {outcome.effective_from:%d/%m/%Y}.{stopped} "
            f"Your reference is {outcome.change.reference}."
        ),
    )


@router.post("/members/{membership_number}/membership/renew", response_model=RenewalPublic)
def renew(member: OwnedMember, db: SessionDep) -> RenewalPublic:
    """What renewal means for this member (monthly: automatic; annual: date and amount)."""
    terms = service.renewal_terms(db_session=db, member=member)
    return RenewalPublic(
        membership_number=member.membership_number,
        payment_frequency=member.payment_frequency,
        payment_method=member.payment_method,
        renews_automatically=terms.renews_automatically,
        renewal_date=terms.renewal_date,
        amount=terms.amount,
        arrears=terms.arrears,
        message=terms.message,
    )


@router.post("/members/{membership_number}/membership/rejoin", response_model=StatusChangePublic)
def rejoin(
    member: OwnedMember,
    db: SessionDep,
    caller: CallerDep,
    channel: ChannelDep,
    body: RejoinRequest | None = None,
) -> StatusChangePublic:
    """Make a lapsed or resigned membership active again; 409 naming any arrears to clear."""
    outcome = service.rejoin(
        db_session=db,
        member=member,
        requester=_requester(caller, channel, body.identity_level if body else None),
    )
    next_step = (
        " To keep your membership going, set up a way to pay your subscriptions."
        if outcome.needs_payment_method
        else ""
    )
    return StatusChangePublic(
        reference=outcome.change.reference,
        status=member.status,
        message=f"Welcome back: your membership is active again.{next_step} "
        f"Your reference is {outcome.change.reference}.",
    )


@router.post("/members/{membership_number}/membership/accept", response_model=StatusChangePublic)
def accept(
    member: OwnedMember, db: SessionDep, caller: StaffCaller, channel: ChannelDep
) -> StatusChangePublic:
    """Staff accept an application; the membership starts today."""
    change = service.accept_application(
        db_session=db, member=member, requester=_requester(caller, channel, None)
    )
    return StatusChangePublic(
        reference=change.reference,
        status=member.status,
        message="The application is accepted; membership starts today. "
        f"Reference {change.reference}.",
    )


@router.post("/applications", response_model=ApplicationPublic, status_code=201)
def apply_to_join(
    body: ApplicationRequest, db: SessionDep, caller: ServiceCaller, channel: ChannelDep
) -> ApplicationPublic:
    """Someone applies to join: an applicant record with a new membership number."""
    member, change = service.apply_to_join(
        db_session=db,
        application=service.Application(**body.model_dump()),
        actor=caller.actor,
        channel=channel,
    )
    return ApplicationPublic(
        membership_number=member.membership_number,
        reference=change.reference,
        status=Status.applicant,
        message=(
            f"Thank you for applying. Your membership number is {member.membership_number} and "
            f"your reference is {change.reference}. We'll be in touch once your application "
            "has been checked."
        ),
    )
