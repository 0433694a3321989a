"""Ballot routes: ballot facts for anyone signed in, eligibility and papers for the member."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from anyio import to_thread
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from api.ballots import service
from api.ballots.models import ReplacementStatus
from api.ballots.schemas import (
    BallotPublic,
    EligibilityPublic,
    ReplacementPaperPublic,
    ReplacementRequestForStaff,
)
from api.config import Settings
from api.database import get_db
from api.deps import CallerDep, ChannelDep, SessionDep, SettingsDep
from api.members.deps import MembershipNumber, OwnedMember, owned_member, refuse_service
from api.security import Caller
from api.staff.deps import staff_who_may
from api.staff.permissions import Permission
from api.timekeeping import local_today, utcnow

router = APIRouter(tags=["ballots"])

BallotCode = Annotated[str, Path(max_length=40)]


def _today(settings: Settings) -> date:
    # Ballot dates are UK dates: a ballot closing "on 15 December" is open until midnight there.
    return local_today(now=utcnow(), settings=settings)


@router.get("/ballots", response_model=list[BallotPublic])
def list_ballots(
    _caller: CallerDep,
    db: SessionDep,
    settings: SettingsDep,
    state: Literal["open", "upcoming", "closed", "all"] = "all",
) -> list[BallotPublic]:
    """Ballots by state: dates, question, method, thresholds and the employers balloted."""
    today = _today(settings)
    return [
        BallotPublic.of(b, state=service.ballot_state(ballot=b, today=today))
        for b in service.list_ballots(db_session=db, state=state, today=today)
    ]


@router.get("/ballots/{ballot_code}", response_model=BallotPublic)
def get_ballot(
    ballot_code: BallotCode, _caller: CallerDep, db: SessionDep, settings: SettingsDep
) -> BallotPublic:
    """One ballot's facts."""
    ballot = service.get_ballot(db_session=db, ballot_code=ballot_code)
    state = service.ballot_state(ballot=ballot, today=_today(settings))
    return BallotPublic.of(ballot, state=state)


@router.get("/members/{membership_number}/ballots", response_model=list[EligibilityPublic])
def member_ballots(
    member: OwnedMember, db: SessionDep, settings: SettingsDep
) -> list[EligibilityPublic]:
    """The member's entitlement to vote in every ballot not yet closed and the last closed one."""
    today = _today(settings)
    return [
        EligibilityPublic.of(
            ballot,
            service.eligibility(db_session=db, member=member, ballot=ballot, today=today),
            state=service.ballot_state(ballot=ballot, today=today),
        )
        for ballot in service.ballots_for_member(db_session=db, today=today)
    ]


@router.get(
    "/members/{membership_number}/ballots/{ballot_code}/eligibility",
    response_model=EligibilityPublic,
)
async def member_eligibility(
    # In this order, the OpenAPI schema's (the member's number came from a dependency before).
    ballot_code: BallotCode,
    membership_number: MembershipNumber,
    caller: CallerDep,
    # The request's session as get_db gives it: SessionDep adds only an Idempotency-Key claim,
    # which a GET never makes.
    db: Annotated[Session, Depends(get_db)],
    settings: SettingsDep,
) -> Response:
    """Whether the member may vote in this ballot, and why (not)."""
    # Asked during every strike ballot, so it makes one trip to the thread pool: the member
    # and ownership check (valid_owned_member's, in its order: the service token is refused
    # before any query), the ballot's queries, and closing the session so that get_db need
    # not go back there to hand the connection in.
    refuse_service(caller)

    def decide() -> EligibilityPublic:
        try:
            member = owned_member(
                db_session=db, caller=caller, membership_number=membership_number
            )
            today = _today(settings)
            ballot = service.get_ballot(db_session=db, ballot_code=ballot_code)
            verdict = service.eligibility(db_session=db, member=member, ballot=ballot, today=today)
            state = service.ballot_state(ballot=ballot, today=today)
            return EligibilityPublic.of(ballot, verdict, state=state)
        finally:
            db.close()

    answer = await to_thread.run_sync(decide)
    # Already a validated EligibilityPublic: sent as its JSON, as FastAPI would send it,
    # without validating and encoding it again (the OpenAPI schema still says EligibilityPublic).
    return Response(answer.model_dump_json(), media_type="application/json")


@router.post(
    "/members/{membership_number}/ballots/{ballot_code}/replacement-paper",
    response_model=ReplacementPaperPublic,
    status_code=201,
    responses={409: {"description": "Already requested (body carries `reference`), or not open"}},
)
def request_replacement_paper(
    member: OwnedMember,
    ballot_code: BallotCode,
    caller: CallerDep,
    channel: ChannelDep,
    db: SessionDep,
    settings: SettingsDep,
) -> ReplacementPaperPublic | JSONResponse:
    """Ask for a replacement ballot paper, sent to the postal address on file."""
    ballot = service.get_ballot(db_session=db, ballot_code=ballot_code)
    try:
        request = service.request_replacement_paper(
            db_session=db,
            member=member,
            ballot=ballot,
            today=_today(settings),
            actor=caller.actor,
            channel=channel,
        )
    except service.ReplacementAlreadyRequested as exc:
        # The reference is given separately so the assistant can read it out.
        return JSONResponse({"detail": exc.message, "reference": exc.reference}, status_code=409)
    return ReplacementPaperPublic(
        reference=request.reference,
        ballot_code=ballot.ballot_code,
        method=ballot.method,
        status=request.status,
        address=request.address,
        requested_at=request.requested_at,
        message=(
            "We will pass your request to the independent scrutineer, who issues "
            f"replacement papers. Your paper will be posted to {request.address}. The ballot "
            "closes on "
            f"{service.spoken_date(ballot.closes_on)}."
        ),
    )


@router.get(
    "/ballots/{ballot_code}/replacement-requests", response_model=list[ReplacementRequestForStaff]
)
def replacement_requests(
    ballot_code: BallotCode,
    _staff: Annotated[Caller, staff_who_may(Permission.decide_changes)],
    db: SessionDep,
    status: Annotated[ReplacementStatus | None, Query()] = None,
) -> list[ReplacementRequestForStaff]:
    """Staff: the replacement paper requests for a ballot, oldest first."""
    ballot = service.get_ballot(db_session=db, ballot_code=ballot_code)
    return [
        ReplacementRequestForStaff.of(req, member)
        for req, member in service.replacement_requests(db_session=db, ballot=ballot, status=status)
    ]
