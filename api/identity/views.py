"""Identity checks and one-time codes: called by the action server and channels only."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ChannelDep, ServiceCaller, SessionDep, SettingsDep
from api.errors import NotAuthenticated
from api.identity import otp, service
from api.identity.assertions import NOT_VOUCHED, vouched_number
from api.identity.schemas import (
    IdentityCheckRequest,
    IdentityLockedPublic,
    MemberTokenPublic,
    OneTimeCodeRequest,
    OneTimeCodeSent,
    OneTimeCodeVerified,
    OneTimeCodeVerify,
    SignedInRequest,
)

router = APIRouter(tags=["identity"])


def _token_public(session: service.MemberSession) -> MemberTokenPublic:
    return MemberTokenPublic(
        token=session.token,
        expires_in=session.expires_in,
        membership_number=session.member.membership_number,
        first_name=session.member.first_name,
        identity_level=session.identity_level,
    )


@router.post(
    "/identity/check",
    response_model=MemberTokenPublic,
    responses={401: {"description": "Details not matched"}, 423: {"model": IdentityLockedPublic}},
)
def check_identity(
    body: IdentityCheckRequest,
    db: SessionDep,
    settings: SettingsDep,
    caller: ServiceCaller,
    channel: ChannelDep,
) -> MemberTokenPublic | JSONResponse:
    """Check membership number, date of birth and postcode; a member token when all match."""
    try:
        session = service.check_identity(
            db_session=db,
            settings=settings,
            membership_number=body.membership_number,
            date_of_birth=body.date_of_birth,
            postcode=body.postcode,
            channel=channel,
            actor=caller.actor,
            conversation_id=body.conversation_id,
        )
    except service.IdentityLocked as locked:
        # The error boundary only carries a message; the lock's end is useful to the channel.
        return JSONResponse(
            IdentityLockedPublic(
                detail=locked.message, locked_until=locked.locked_until
            ).model_dump(mode="json"),
            status_code=locked.status_code,
        )
    return _token_public(session)


@router.post("/identity/signed-in", response_model=MemberTokenPublic)
def signed_in(
    body: SignedInRequest,
    db: SessionDep,
    settings: SettingsDep,
    caller: ServiceCaller,
    channel: ChannelDep,
) -> MemberTokenPublic:
    """A member token for a member a channel verified (a website sign-in, a linked Telegram
    account), only when the channel's signed assertion holds for this conversation."""
    number = vouched_number(
        payload=body.assertion.payload,
        signature=body.assertion.sig,
        secret=settings.identity_assertion_secret,
        conversation_id=body.conversation_id,
        channel=body.channel,
    )
    if number != body.membership_number:
        raise NotAuthenticated(NOT_VOUCHED, field="membership_number")
    session = service.signed_in_session(
        db_session=db,
        settings=settings,
        membership_number=number,
        channel=channel,
        actor=caller.actor,
    )
    return _token_public(session)


@router.post("/one-time-codes", response_model=OneTimeCodeSent, status_code=201)
def issue_one_time_code(
    body: OneTimeCodeRequest, db: SessionDep, caller: ServiceCaller, channel: ChannelDep
) -> OneTimeCodeSent:
    """Email a one-time code to the member's address on record; the code is never returned."""
    issued = otp.issue_code(
        db_session=db,
        membership_number=body.membership_number,
        purpose=body.purpose,
        subject=body.subject,
        actor=caller.actor,
        channel=channel,
    )
    return OneTimeCodeSent(sent_to=issued.sent_to, expires_at=issued.expires_at)


@router.post("/one-time-codes/verify", response_model=OneTimeCodeVerified)
def verify_one_time_code(
    body: OneTimeCodeVerify, db: SessionDep, caller: ServiceCaller, channel: ChannelDep
) -> OneTimeCodeVerified:
    """The membership a code was sent for, when the code is right, fresh and unused."""
    member = otp.verify_code(
        db_session=db,
        purpose=body.purpose,
        subject=body.subject,
        code=body.code,
        actor=caller.actor,
        channel=channel,
    )
    return OneTimeCodeVerified(membership_number=member.membership_number)
