"""Case and rating routes: the assistant opens cases, staff work them, members see their own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.cases import opening_hours, service, sla
from api.cases.schemas import (
    CaseOpen,
    CaseOpened,
    CasePublic,
    CaseSummary,
    MessageCreate,
    MessagePublic,
    OpeningHoursPublic,
    RatingCreate,
    RatingRecorded,
    StatusChange,
)
from api.deps import (
    CallerDep,
    ChannelDep,
    NowDep,
    ServiceCaller,
    ServiceOrMemberCaller,
    SessionDep,
    SettingsDep,
    StaffCaller,
)
from api.members.deps import OwnedMember

router = APIRouter(tags=["cases"])

CaseReference = Annotated[str, Path(max_length=20)]


@router.post("/cases", response_model=CaseOpened, status_code=201)
def open_case(
    body: CaseOpen,
    caller: ServiceOrMemberCaller,
    channel: ChannelDep,
    db: SessionDep,
    settings: SettingsDep,
) -> CaseOpened:
    """The assistant hands a conversation to a person.

    Who the case is about comes from the caller, never from the body: the member's own token
    links the case to them; the service token opens an unverified case, and a membership number
    it sends is kept only as what the member claimed, for staff to check.
    """
    claim = service.CaseClaim.of(caller, membership_number=body.membership_number)
    opened = service.open_case(
        db_session=db,
        member_id=claim.member_id,
        channel=body.channel or channel,
        conversation_id=body.conversation_id,
        intent=body.intent,
        summary=body.summary,
        transcript=[line.model_dump(exclude_none=True) for line in body.transcript],
        collected_values={**body.collected_values, **claim.collected_values},
        identity_level=claim.identity_level,
        priority=body.priority,
        actor=caller.actor,
        settings=settings,
    )
    case = opened.case
    return CaseOpened(
        reference=case.reference,
        team=opened.team.code,
        team_name=opened.team.name,
        priority=case.priority,
        status=case.status,
        sla_due_at=case.sla_due_at,
        within_business_hours=opened.within_business_hours,
        next_business_open=opened.next_business_open,
        next_business_open_text=sla.spoken_opening(opened.next_business_open, settings=settings),
        deadline=service.case_deadline(case),
        statutory_due_on=case.statutory_due_on,
    )


# Reading a case and writing into one by its reference are for staff only. The service token is
# held by every channel process: with it, a guessed reference or conversation id would read a
# member's transcript, or put words in their mouth. Channels reach their own conversation's
# hand-off through /conversations/{id}/..., which says nothing about other conversations.
@router.get("/cases", response_model=list[CaseSummary])
def cases_of_conversation(
    _caller: StaffCaller,
    db: SessionDep,
    conversation_id: Annotated[str, Query(min_length=1, max_length=200)],
    include_resolved: bool = False,
) -> list[CaseSummary]:
    """The open cases of a conversation (newest first), so a returning member is picked up."""
    return [
        CaseSummary.of(case, team=service.team_of(db_session=db, case=case))
        for case in service.cases_for_conversation(
            db_session=db, conversation_id=conversation_id, include_resolved=include_resolved
        )
    ]


@router.get("/cases/{reference}", response_model=CasePublic)
def get_case(reference: CaseReference, _caller: StaffCaller, db: SessionDep) -> CasePublic:
    """A case in full, with its transcript and messages."""
    case = service.get_case(db_session=db, reference=reference)
    member = service.member_for_case(db_session=db, case=case)
    return CasePublic.of(
        case,
        team=service.team_of(db_session=db, case=case),
        membership_number=member.membership_number if member else None,
    )


@router.post("/cases/{reference}/messages", response_model=MessagePublic, status_code=201)
def add_message(
    reference: CaseReference,
    body: MessageCreate,
    caller: StaffCaller,
    channel: ChannelDep,
    db: SessionDep,
) -> MessagePublic:
    """Staff add a reply or a note to a case (the member's words come through their channel)."""
    case = service.get_case(db_session=db, reference=reference)
    message = service.add_message(
        db_session=db, case=case, sender=body.sender, text=body.text, caller=caller, channel=channel
    )
    return MessagePublic.of(message)


@router.post("/cases/{reference}/status", response_model=CaseSummary)
def change_status(
    reference: CaseReference,
    body: StatusChange,
    caller: StaffCaller,
    channel: ChannelDep,
    db: SessionDep,
) -> CaseSummary:
    """Staff: move a case on (resolving needs an outcome)."""
    case = service.get_case(db_session=db, reference=reference)
    service.change_status(
        db_session=db,
        case=case,
        status=body.status,
        outcome=body.outcome,
        caller=caller,
        channel=channel,
    )
    return CaseSummary.of(case, team=service.team_of(db_session=db, case=case))


@router.get("/members/{membership_number}/cases", response_model=list[CaseSummary])
def member_cases(member: OwnedMember, db: SessionDep) -> list[CaseSummary]:
    """A member's own cases, newest first (no transcripts or staff notes)."""
    return [
        CaseSummary.of(case, team=service.team_of(db_session=db, case=case))
        for case in service.cases_for_member(db_session=db, member_id=member.id)
    ]


@router.post("/ratings", response_model=RatingRecorded, status_code=201)
def record_rating(body: RatingCreate, caller: ServiceCaller, db: SessionDep) -> RatingRecorded:
    """The member's 1-5 rating of a conversation, with an optional comment."""
    rating = service.record_rating(
        db_session=db,
        conversation_id=body.conversation_id,
        channel=body.channel,
        score=body.score,
        comment=body.comment,
        actor=caller.actor,
    )
    return RatingRecorded(
        conversation_id=rating.conversation_id, score=rating.score, received_at=rating.created_at
    )


# Public information, but behind a token like every /api/v1 route: the assistant asks with the
# service token, staff and members with their own.
@router.get("/opening-hours", response_model=OpeningHoursPublic)
async def get_opening_hours(
    _caller: CallerDep, now: NowDep, settings: SettingsDep
) -> OpeningHoursPublic:
    """Whether the contact centre is open now, today's hours, when it next opens and closes,
    the usual hours and the bank holidays of the next fortnight."""
    return OpeningHoursPublic.of(
        opening_hours.opening_hours(at=now, settings=settings), settings=settings
    )
