"""Ballots: who is in a ballot's constituency as at its register date, and replacement papers.

Eligibility is decided from the dated history (StatusPeriod, EmploymentPeriod), never from the
member's current values: a member who moved employer after the register date was still
balloted where they worked on that date, and getting this wrong can expose a ballot to legal
challenge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.audit.service import record
from api.ballots.constituency import counted_employer_ids
from api.ballots.models import Ballot, BallotMethod, ReplacementPaperRequest, ReplacementStatus
from api.employers.models import Employer, Workplace
from api.errors import Conflict, NotAllowed, NotFound
from api.members.models import EmploymentPeriod, Member, Status, StatusPeriod
from api.references import new_reference

BallotState = Literal["upcoming", "open", "closed"]
ReasonCode = Literal[
    "eligible",
    "not_a_member_then",
    "status_then",
    "employer_outside_constituency",
    "ballot_closed",
]

_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)
# Members covered on the register date; grace means a missed payment, still covered.
_BALLOTED_STATUSES = (Status.active, Status.grace)
_STATUS_THEN = {
    Status.applicant: "your application to join had not yet been accepted",
    Status.lapsed: "your membership had lapsed",
    Status.resigned: "you had resigned your membership",
    Status.deceased: "our records show the member as deceased",
}


class ReplacementAlreadyRequested(Conflict):
    """A pending replacement request exists; carries its reference for the member."""

    def __init__(self, message: str, *, reference: str) -> None:
        super().__init__(message)
        self.reference = reference


@dataclass(frozen=True)
class Eligibility:
    """Whether a member may vote in a ballot, and why, in words a member understands."""

    eligible: bool
    reason_code: ReasonCode
    reason: str


def spoken_date(day: date) -> str:
    """'1 October 2026': how dates are read to members (independent of the server's locale)."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def ballot_state(*, ballot: Ballot, today: date) -> BallotState:
    """upcoming before opens_on, open until the end of closes_on, closed after."""
    if today < ballot.opens_on:
        return "upcoming"
    if today <= ballot.closes_on:
        return "open"
    return "closed"


def list_ballots(
    *, db_session: Session, state: BallotState | Literal["all"], today: date
) -> list[Ballot]:
    """Ballots in a state (or all), soonest to close first."""
    query = select(Ballot).order_by(Ballot.closes_on, Ballot.ballot_code)
    if state == "upcoming":
        query = query.where(Ballot.opens_on > today)
    elif state == "open":
        query = query.where(Ballot.opens_on <= today, Ballot.closes_on >= today)
    elif state == "closed":
        query = query.where(Ballot.closes_on < today).order_by(None).order_by(
            Ballot.closes_on.desc(), Ballot.ballot_code
        )
    return list(db_session.scalars(query))


# Built once, not per call: the eligibility check members ask during every ballot runs these
# three, and building a statement cost SQLAlchemy more CPU than running it.
_BALLOT_BY_CODE = select(Ballot).where(Ballot.ballot_code == bindparam("ballot_code"))
_STATUS_ON = (
    select(StatusPeriod.status)
    .where(
        StatusPeriod.member_id == bindparam("member_id"),
        StatusPeriod.effective_from <= bindparam("on"),
    )
    .order_by(StatusPeriod.effective_from.desc(), StatusPeriod.id.desc())
    .limit(1)
)
_EMPLOYER_ID_ON = (
    select(EmploymentPeriod.employer_id)
    .where(
        EmploymentPeriod.member_id == bindparam("member_id"),
        EmploymentPeriod.effective_from <= bindparam("on"),
    )
    .order_by(EmploymentPeriod.effective_from.desc(), EmploymentPeriod.id.desc())
    .limit(1)
)


def get_ballot(*, db_session: Session, ballot_code: str) -> Ballot:
    """The ballot with this code, or NotFound."""
    ballot = db_session.scalar(_BALLOT_BY_CODE, {"ballot_code": ballot_code})
    if ballot is None:
        raise NotFound("There is no ballot with that code.", field="ballot_code")
    return ballot


def status_on(*, db_session: Session, member_id: int, on: date) -> Status | None:
    """The member's status in effect on `on` (the latest period starting on or before it)."""
    return db_session.scalar(_STATUS_ON, {"member_id": member_id, "on": on})


def employer_on(*, db_session: Session, member_id: int, on: date) -> Employer | None:
    """The member's employer in effect on `on`, or None when none was on record."""
    employer_id = db_session.scalar(_EMPLOYER_ID_ON, {"member_id": member_id, "on": on})
    return db_session.get(Employer, employer_id) if employer_id is not None else None


def _constituency_text(ballot: Ballot) -> str:
    names = sorted(e.name for e in ballot.employers)
    if not names:
        return "it has no employers set up yet"
    if len(names) == 1:
        return f"it covers members employed by {names[0]}"
    return f"it covers members employed by {', '.join(names[:-1])} and {names[-1]}"


def _eligibility_on_register(*, db_session: Session, member: Member, ballot: Ballot) -> Eligibility:
    register = spoken_date(ballot.register_date)
    status = status_on(db_session=db_session, member_id=member.id, on=ballot.register_date)
    if member.joined_on > ballot.register_date:
        return Eligibility(
            False,
            "not_a_member_then",
            f"You joined on {spoken_date(member.joined_on)}, after this ballot's register date "
            f"({register}). Only people who were members on that date are balloted.",
        )
    if status is None:
        return Eligibility(
            False,
            "not_a_member_then",
            f"We have no record of you being a member on {register}, this ballot's register "
            "date. Only people who were members on that date are balloted.",
        )
    if status not in _BALLOTED_STATUSES:
        return Eligibility(
            False,
            "status_then",
            f"On {register}, this ballot's register date, {_STATUS_THEN[status]}, so you were "
            "not on the ballot register.",
        )
    employer = employer_on(db_session=db_session, member_id=member.id, on=ballot.register_date)
    if employer is None or employer.id not in counted_employer_ids(ballot):
        on_record = (
            f"we had you on record as employed by {employer.name}"
            if employer
            else "we had no employer on record for you"
        )
        return Eligibility(
            False,
            "employer_outside_constituency",
            f"On {register}, this ballot's register date, {on_record}, and "
            f"{_constituency_text(ballot)}. If our record of your employer on that date is "
            "wrong, tell us and we will check it.",
        )
    standing = "an active member" if status == Status.active else (
        "a member (in the grace period after a missed payment)"
    )
    return Eligibility(
        True,
        "eligible",
        f"You were employed by {employer.name} and {standing} on {register}, this ballot's "
        "register date.",
    )


def eligibility(*, db_session: Session, member: Member, ballot: Ballot, today: date) -> Eligibility:
    """Whether `member` may vote in `ballot`, decided as at its register date."""
    on_register = _eligibility_on_register(db_session=db_session, member=member, ballot=ballot)
    if today > ballot.closes_on:
        then = (
            "You were entitled to vote in it."
            if on_register.eligible
            else on_register.reason
        )
        return Eligibility(
            False,
            "ballot_closed",
            f"This ballot closed on {spoken_date(ballot.closes_on)}, so votes can no longer be "
            f"cast. {then}",
        )
    return on_register


def register_entitlement(*, db_session: Session, member: Member, ballot: Ballot) -> Eligibility:
    """Whether `member` was on `ballot`'s register, whether or not it has closed since."""
    return _eligibility_on_register(db_session=db_session, member=member, ballot=ballot)


def ballots_for_member(*, db_session: Session, today: date) -> list[Ballot]:
    """Every ballot not yet closed, and the most recently closed one."""
    current = list(
        db_session.scalars(
            select(Ballot).where(Ballot.closes_on >= today).order_by(Ballot.closes_on, Ballot.id)
        )
    )
    last_closed = db_session.scalar(
        select(Ballot).where(Ballot.closes_on < today).order_by(Ballot.closes_on.desc()).limit(1)
    )
    return current + ([last_closed] if last_closed else [])


def postal_address(member: Member) -> str:
    """The member's postal address on file, as one line for a label."""
    parts = [member.address_line1, member.address_line2, member.town, member.postcode]
    return ", ".join(p.strip() for p in parts if p and p.strip())


def _pending_request(
    *, db_session: Session, member_id: int, ballot_id: int
) -> ReplacementPaperRequest | None:
    return db_session.scalar(
        select(ReplacementPaperRequest).where(
            ReplacementPaperRequest.member_id == member_id,
            ReplacementPaperRequest.ballot_id == ballot_id,
            ReplacementPaperRequest.status == ReplacementStatus.pending,
        )
    )


def _already_requested(existing: ReplacementPaperRequest) -> ReplacementAlreadyRequested:
    return ReplacementAlreadyRequested(
        f"You already asked for a replacement paper for this ballot (reference "
        f"{existing.reference}); it is being passed to the independent scrutineer.",
        reference=existing.reference,
    )


def request_replacement_paper(
    *,
    db_session: Session,
    member: Member,
    ballot: Ballot,
    today: date,
    actor: str,
    channel: str,
) -> ReplacementPaperRequest:
    """Record a request for a replacement ballot paper, to go to the address on file."""
    state = ballot_state(ballot=ballot, today=today)
    if state == "upcoming":
        raise Conflict(
            f"Ballot papers for this ballot go out from {spoken_date(ballot.opens_on)}. A "
            "replacement can be asked for once the ballot is open."
        )
    if state == "closed":
        raise Conflict(
            f"This ballot closed on {spoken_date(ballot.closes_on)}, so no replacement paper "
            "can be issued."
        )
    if ballot.method == BallotMethod.online:
        raise Conflict(
            "This ballot is held online, so there is no ballot paper to replace. If your "
            "voting details have not arrived, check the email address we hold for you."
        )
    verdict = eligibility(db_session=db_session, member=member, ballot=ballot, today=today)
    if not verdict.eligible:
        raise NotAllowed(verdict.reason)
    existing = _pending_request(db_session=db_session, member_id=member.id, ballot_id=ballot.id)
    if existing is not None:
        raise _already_requested(existing)

    request = ReplacementPaperRequest(
        reference=new_reference("BP"),
        ballot_id=ballot.id,
        member_id=member.id,
        status=ReplacementStatus.pending,
        address=postal_address(member),
        channel=channel,
    )
    try:
        # A savepoint, so losing the race to a simultaneous request keeps the session usable.
        with db_session.begin_nested():
            db_session.add(request)
    except IntegrityError:
        existing = _pending_request(db_session=db_session, member_id=member.id, ballot_id=ballot.id)
        if existing is None:
            raise
        raise _already_requested(existing) from None
    record(
        db_session=db_session,
        actor=actor,
        action="ballot.replacement_paper_requested",
        member_id=member.id,
        fields=["address"],
        channel=channel,
        detail=f"{ballot.ballot_code} {request.reference}",
    )
    db_session.commit()
    return request


def replacement_requests(
    *, db_session: Session, ballot: Ballot, status: ReplacementStatus | None = None
) -> list[tuple[ReplacementPaperRequest, Member]]:
    """Replacement requests for a ballot (oldest first), for staff and the scrutineer export."""
    query = (
        select(ReplacementPaperRequest, Member)
        .join(Member, Member.id == ReplacementPaperRequest.member_id)
        .where(ReplacementPaperRequest.ballot_id == ballot.id)
        .order_by(ReplacementPaperRequest.requested_at, ReplacementPaperRequest.id)
    )
    if status is not None:
        query = query.where(ReplacementPaperRequest.status == status)
    return [(req, member) for req, member in db_session.execute(query).tuples()]


# --- Exports for the independent scrutineer ---------------------------------------------------


@dataclass(frozen=True)
class Voter:
    """A member of a ballot's constituency as at its register date, with the postal address."""

    member: Member
    employer: Employer
    workplace_name: str | None


_Value = TypeVar("_Value")


def _latest_before(rows: list[tuple[int, date, int, _Value]]) -> dict[int, _Value]:
    # rows: (member_id, effective_from, id, value), any order -> the latest value per member.
    latest: dict[int, tuple[date, int, _Value]] = {}
    for member_id, effective_from, row_id, value in rows:
        held = latest.get(member_id)
        if held is None or (effective_from, row_id) > (held[0], held[1]):
            latest[member_id] = (effective_from, row_id, value)
    return {member_id: held[2] for member_id, held in latest.items()}


def constituency(*, db_session: Session, ballot: Ballot) -> list[Voter]:
    """Everyone balloted: members then (active or in grace) at the ballot's employers, as at the
    register date, from the dated history (the same rule as `eligibility`), by name."""
    on = ballot.register_date
    employer_ids = counted_employer_ids(ballot)
    statuses = _latest_before(
        [
            (r.member_id, r.effective_from, r.id, r.status)
            for r in db_session.scalars(
                select(StatusPeriod).where(StatusPeriod.effective_from <= on)
            )
        ]
    )
    jobs = _latest_before(
        [
            (r.member_id, r.effective_from, r.id, (r.employer_id, r.workplace_id))
            for r in db_session.scalars(
                select(EmploymentPeriod).where(EmploymentPeriod.effective_from <= on)
            )
        ]
    )
    employers = {e.id: e for e in ballot.employers}
    workplaces = {
        w.id: w.name
        for w in db_session.scalars(
            select(Workplace).where(Workplace.employer_id.in_(employer_ids))
        )
    }
    voters = []
    candidates = [
        member_id
        for member_id, status in statuses.items()
        if status in _BALLOTED_STATUSES
        and member_id in jobs
        and jobs[member_id][0] in employer_ids
    ]
    if not candidates:
        return []
    for member in db_session.scalars(
        select(Member).where(Member.id.in_(candidates), Member.joined_on <= on)
    ):
        employer_id, workplace_id = jobs[member.id]
        assert employer_id is not None
        voters.append(
            Voter(member=member, employer=employers[employer_id],
                  workplace_name=workplaces.get(workplace_id) if workplace_id else None)
        )
    voters.sort(key=lambda v: (v.member.last_name.lower(), v.member.first_name.lower(),
                               v.member.membership_number))
    return voters


def record_scrutineer_export(
    *, db_session: Session, ballot: Ballot, what: str, rows: int, actor: str
) -> None:
    """Audit an export to the scrutineer: who took which ballot's list, and how many rows."""
    record(db_session=db_session, actor=actor, action=f"ballot.{what}_exported",
           channel="console", detail=f"{ballot.ballot_code} rows={rows}")
    db_session.commit()
