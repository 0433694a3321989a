"""Eligibility as at the register date, from the dated status and employment history."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from api.ballots.service import eligibility
from api.members.models import EmploymentPeriod, Member, Status, StatusPeriod
from tests.api import factories

REGISTER = date(2026, 10, 1)
DURING_BALLOT = date(2026, 11, 20)


def _ballot(db: Session, employer_names: tuple[str, ...] = ("Northshire NHS Trust",)):
    return factories.ballot(db, employers=[factories.employer(db, name) for name in employer_names])


def _status_from(db: Session, member: Member, status: Status, on: date) -> None:
    db.add(StatusPeriod(member_id=member.id, status=status, effective_from=on))
    member.status = status
    db.commit()


def _moved_employer(db: Session, member: Member, employer_name: str, on: date) -> None:
    employer = factories.employer(db, employer_name, ("Head Office",))
    db.add(
        EmploymentPeriod(
            member_id=member.id,
            employer_id=employer.id,
            workplace_id=employer.workplaces[0].id,
            effective_from=on,
        )
    )
    member.employer_id = employer.id
    db.commit()


def test_an_active_member_at_a_balloted_employer_is_eligible(db: Session) -> None:
    member = factories.member(db)
    verdict = eligibility(db_session=db, member=member, ballot=_ballot(db), today=DURING_BALLOT)
    assert verdict.eligible
    assert verdict.reason_code == "eligible"
    assert verdict.reason.startswith(
        "You were employed by Northshire NHS Trust and an active member on 1 October 2026"
    )


def test_moving_employer_after_the_register_date_keeps_the_vote(db: Session) -> None:
    member = factories.member(db)
    ballot = _ballot(db)
    _moved_employer(db, member, "Southvale Council", date(2026, 10, 20))
    verdict = eligibility(db_session=db, member=member, ballot=ballot, today=DURING_BALLOT)
    assert verdict.eligible
    assert "Northshire NHS Trust" in verdict.reason


def test_moving_into_the_constituency_after_the_register_date_does_not_give_a_vote(
    db: Session,
) -> None:
    southvale = factories.employer(db, "Southvale Council", ("Town Hall",))
    member = factories.member(db, employer=southvale)
    ballot = _ballot(db)
    _moved_employer(db, member, "Northshire NHS Trust", date(2026, 10, 2))
    verdict = eligibility(db_session=db, member=member, ballot=ballot, today=DURING_BALLOT)
    assert not verdict.eligible
    assert verdict.reason_code == "employer_outside_constituency"
    # Names the employer we had on record then, and who the ballot covers.
    assert "employed by Southvale Council" in verdict.reason
    assert "covers members employed by Northshire NHS Trust" in verdict.reason


def test_a_member_with_no_employer_on_record_then_is_told_so(db: Session) -> None:
    member = factories.member(db)
    db.execute(delete(EmploymentPeriod).where(EmploymentPeriod.member_id == member.id))
    db.add(EmploymentPeriod(member_id=member.id, employer_id=None, effective_from=member.joined_on))
    db.commit()
    verdict = eligibility(db_session=db, member=member, ballot=_ballot(db), today=DURING_BALLOT)
    assert verdict.reason_code == "employer_outside_constituency"
    assert "no employer on record" in verdict.reason


def test_joining_after_the_register_date_means_no_vote(db: Session) -> None:
    member = factories.member(db, joined_on=date(2026, 10, 10))
    verdict = eligibility(db_session=db, member=member, ballot=_ballot(db), today=DURING_BALLOT)
    assert not verdict.eligible
    assert verdict.reason_code == "not_a_member_then"
    assert "You joined on 10 October 2026" in verdict.reason
    assert "1 October 2026" in verdict.reason


def test_no_status_on_record_at_the_register_date_means_no_vote(db: Session) -> None:
    member = factories.member(db)
    db.execute(delete(StatusPeriod).where(StatusPeriod.member_id == member.id))
    db.add(
        StatusPeriod(member_id=member.id, status=Status.active, effective_from=date(2026, 10, 5))
    )
    db.commit()
    verdict = eligibility(db_session=db, member=member, ballot=_ballot(db), today=DURING_BALLOT)
    assert verdict.reason_code == "not_a_member_then"
    assert "no record of you being a member on 1 October 2026" in verdict.reason


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (Status.lapsed, "your membership had lapsed"),
        (Status.resigned, "you had resigned"),
        (Status.applicant, "application to join had not yet been accepted"),
        (Status.deceased, "deceased"),
    ],
)
def test_status_on_the_register_date_decides_even_if_it_changed_since(
    db: Session, status: Status, words: str
) -> None:
    member = factories.member(db)
    _status_from(db, member, status, date(2026, 9, 1))
    # Back to active after the register date: still no vote in this ballot.
    _status_from(db, member, Status.active, date(2026, 10, 15))
    verdict = eligibility(db_session=db, member=member, ballot=_ballot(db), today=DURING_BALLOT)
    assert not verdict.eligible
    assert verdict.reason_code == "status_then"
    assert words in verdict.reason


def test_lapsing_after_the_register_date_keeps_the_vote(db: Session) -> None:
    member = factories.member(db)
    _status_from(db, member, Status.lapsed, date(2026, 10, 2))
    verdict = eligibility(db_session=db, member=member, ballot=_ballot(db), today=DURING_BALLOT)
    assert verdict.eligible


def test_a_member_in_the_grace_period_on_the_register_date_is_eligible(db: Session) -> None:
    member = factories.member(db)
    _status_from(db, member, Status.grace, date(2026, 9, 20))
    verdict = eligibility(db_session=db, member=member, ballot=_ballot(db), today=DURING_BALLOT)
    assert verdict.eligible
    assert "grace period" in verdict.reason


def test_the_latest_period_starting_on_the_register_date_is_the_one_in_effect(
    db: Session,
) -> None:
    member = factories.member(db)
    _status_from(db, member, Status.resigned, REGISTER)
    verdict = eligibility(db_session=db, member=member, ballot=_ballot(db), today=DURING_BALLOT)
    assert verdict.reason_code == "status_then"


def test_a_ballot_over_several_employers_names_them_all(db: Session) -> None:
    southvale = factories.employer(db, "Southvale Council", ("Town Hall",))
    member = factories.member(db, employer=southvale)
    ballot = _ballot(db, ("Northshire NHS Trust", "Eastmoor Health Board"))
    verdict = eligibility(db_session=db, member=member, ballot=ballot, today=DURING_BALLOT)
    assert "Eastmoor Health Board and Northshire NHS Trust" in verdict.reason


def test_a_closed_ballot_says_when_it_closed(db: Session) -> None:
    member = factories.member(db)
    verdict = eligibility(
        db_session=db, member=member, ballot=_ballot(db), today=date(2026, 12, 16)
    )
    assert not verdict.eligible
    assert verdict.reason_code == "ballot_closed"
    assert "closed on 15 December 2026" in verdict.reason
    assert "You were entitled to vote in it." in verdict.reason


def test_the_closing_day_itself_is_still_open(db: Session) -> None:
    member = factories.member(db)
    verdict = eligibility(
        db_session=db, member=member, ballot=_ballot(db), today=date(2026, 12, 15)
    )
    assert verdict.eligible
