"""Which ballots a member's employment puts them in.

The constituency of a ballot is the members employed by its employers. Moving a member into
or out of it while the ballot is still running can make the ballot open to legal challenge,
so such moves wait for a data-team reviewer instead of applying at once.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.ballots.models import Ballot
from api.employers.models import Employer


def counted_employer_ids(ballot: Ballot) -> set[int]:
    """The ballot's employers that count: one the data team has not yet checked puts no one in
    its constituency, even if a ballot was set up naming it."""
    return {employer.id for employer in ballot.employers if not employer.needs_review}


def ballots_affected_by_move(
    *, db_session: Session, from_employer_id: int | None, to_employer_id: int | None, on: date
) -> list[Ballot]:
    """Ballots not yet closed on `on` whose constituency the move enters or leaves."""
    if from_employer_id == to_employer_id:
        return []
    involved = [e for e in (from_employer_id, to_employer_id) if e is not None]
    ballots = db_session.scalars(
        select(Ballot)
        .where(Ballot.closes_on >= on, Ballot.employers.any(Employer.id.in_(involved)))
        .options(selectinload(Ballot.employers))
        .order_by(Ballot.closes_on, Ballot.ballot_code)
    ).all()
    affected = []
    for ballot in ballots:
        employer_ids = counted_employer_ids(ballot)
        # Moving between two employers of the same ballot keeps the member in it.
        if (from_employer_id in employer_ids) != (to_employer_id in employer_ids):
            affected.append(ballot)
    return affected
