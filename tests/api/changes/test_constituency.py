"""Which running ballots an employment move takes a member into or out of."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from api.ballots.constituency import ballots_affected_by_move
from api.ballots.models import Ballot
from api.timekeeping import today
from tests.api import factories
from tests.api.changes.conftest import Employers


def _codes(ballots: list[Ballot]) -> list[str]:
    return [b.ballot_code for b in ballots]


def test_moving_into_or_out_of_a_running_ballot_is_caught(
    db: Session, employers: Employers, running_ballot: Ballot
) -> None:
    out_of = ballots_affected_by_move(
        db_session=db,
        from_employer_id=employers.nhs.id,
        to_employer_id=employers.council.id,
        on=today(),
    )
    into = ballots_affected_by_move(
        db_session=db,
        from_employer_id=employers.council.id,
        to_employer_id=employers.nhs.id,
        on=today(),
    )

    assert _codes(out_of) == _codes(into) == [running_ballot.ballot_code]


def test_moves_that_leave_the_constituency_as_it_was_are_not(
    db: Session, employers: Employers, running_ballot: Ballot
) -> None:
    both_in = factories.ballot(
        db,
        employers=[employers.nhs, employers.water],
        ballot_code="IA-JOINT",
        register_date=today(),
        opens_on=today(),
        closes_on=today() + timedelta(days=5),
    )

    outside = factories.employer(db, "Acme Cleaning Ltd", ("Depot",))
    between_two_outside = ballots_affected_by_move(
        db_session=db, from_employer_id=employers.council.id, to_employer_id=outside.id, on=today()
    )
    within_joint_ballot = ballots_affected_by_move(
        db_session=db,
        from_employer_id=employers.nhs.id,
        to_employer_id=employers.water.id,
        on=today(),
    )

    assert between_two_outside == []
    # Still in the joint ballot; only the NHS-only ballot is left.
    assert _codes(within_joint_ballot) == [running_ballot.ballot_code]
    assert both_in.ballot_code not in _codes(within_joint_ballot)


def test_a_closed_ballot_no_longer_holds_moves_back(db: Session, employers: Employers) -> None:
    factories.ballot(
        db,
        employers=[employers.nhs],
        register_date=today() - timedelta(days=60),
        opens_on=today() - timedelta(days=40),
        closes_on=today() - timedelta(days=1),
    )

    assert (
        ballots_affected_by_move(
            db_session=db,
            from_employer_id=employers.nhs.id,
            to_employer_id=employers.council.id,
            on=today(),
        )
        == []
    )
    closing_today = ballots_affected_by_move(
        db_session=db,
        from_employer_id=employers.nhs.id,
        to_employer_id=employers.council.id,
        on=today() - timedelta(days=1),
    )
    assert len(closing_today) == 1
