"""What the ballot routes send back (their requests carry no body: the path says it all)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from api.ballots.models import Ballot, BallotMethod, ReplacementPaperRequest, ReplacementStatus
from api.ballots.service import BallotState, Eligibility, ReasonCode
from api.members.models import Member


class Thresholds(BaseModel):
    """Set per ballot from its configuration, because the law that sets them changes."""

    turnout_percent: int | None
    support_percent: int | None


class BallotPublic(BaseModel):
    code: str
    title: str
    question: str
    register_date: date
    opens_on: date
    closes_on: date
    method: BallotMethod
    thresholds: Thresholds
    details: str | None
    employers: list[str]
    state: BallotState

    @classmethod
    def of(cls, ballot: Ballot, *, state: BallotState) -> BallotPublic:
        return cls(
            code=ballot.ballot_code,
            title=ballot.title,
            question=ballot.question,
            register_date=ballot.register_date,
            opens_on=ballot.opens_on,
            closes_on=ballot.closes_on,
            method=ballot.method,
            thresholds=Thresholds(
                turnout_percent=ballot.turnout_threshold_percent,
                support_percent=ballot.support_threshold_percent,
            ),
            details=ballot.details,
            employers=sorted(e.name for e in ballot.employers),
            state=state,
        )


class EligibilityPublic(BaseModel):
    """A member's entitlement to vote in one ballot, with the reason to read to them."""

    ballot_code: str
    ballot_title: str
    state: BallotState
    method: BallotMethod
    register_date: date
    opens_on: date
    closes_on: date
    eligible: bool
    reason_code: ReasonCode
    reason: str

    @classmethod
    def of(cls, ballot: Ballot, verdict: Eligibility, *, state: BallotState) -> EligibilityPublic:
        return cls(
            ballot_code=ballot.ballot_code,
            ballot_title=ballot.title,
            state=state,
            method=ballot.method,
            register_date=ballot.register_date,
            opens_on=ballot.opens_on,
            closes_on=ballot.closes_on,
            eligible=verdict.eligible,
            reason_code=verdict.reason_code,
            reason=verdict.reason,
        )


class ReplacementPaperPublic(BaseModel):
    """A replacement paper request as the member sees it: where the paper will go."""

    reference: str
    ballot_code: str
    method: BallotMethod
    status: ReplacementStatus
    address: str
    requested_at: datetime
    message: str


class ReplacementRequestForStaff(BaseModel):
    reference: str
    membership_number: str
    member_name: str
    address: str
    status: ReplacementStatus
    channel: str
    requested_at: datetime

    @classmethod
    def of(cls, request: ReplacementPaperRequest, member: Member) -> ReplacementRequestForStaff:
        return cls(
            reference=request.reference,
            membership_number=member.membership_number,
            member_name=f"{member.first_name} {member.last_name}",
            address=request.address,
            status=request.status,
            channel=request.channel,
            requested_at=request.requested_at,
        )
