"""Importing ballots.csv: constituency employers, date order, idempotence."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.ballots.models import Ballot, BallotMethod
from api.employers.models import Employer
from api.imports.ballots_csv import import_ballots
from api.imports.bulk import ImportSummary
from api.imports.reader import ImportFailed
from tests.api import factories
from tests.api.imports.helpers import ballot_row, ballots_csv


def run_import(db: Session, data: bytes) -> ImportSummary:
    try:
        summary = import_ballots(db_session=db, stream=io.BytesIO(data), source_name="ballots.csv")
    except ImportFailed:
        db.rollback()
        raise
    db.commit()
    return summary


def failure(db: Session, data: bytes) -> str:
    with pytest.raises(ImportFailed) as caught:
        run_import(db, data)
    assert db.scalar(select(func.count(Ballot.id))) == 0
    return str(caught.value)


def test_import_creates_ballot_with_its_constituency(db: Session) -> None:
    existing = factories.employer(db, "Leeds Teaching Hospitals NHS Trust")
    summary = run_import(db, ballots_csv([ballot_row()]))

    assert (summary.created, summary.employers_created) == (1, 1)
    ballot = db.scalar(select(Ballot).where(Ballot.ballot_code == "IA-2026-JD"))
    assert ballot is not None
    assert ballot.method is BallotMethod.postal
    assert ballot.register_date == date(2026, 10, 1)
    assert sorted(e.name for e in ballot.employers) == [
        "Leeds Teaching Hospitals NHS Trust",
        "North Bristol NHS Trust",
    ]
    assert existing.id in {e.id for e in ballot.employers}
    assert db.scalar(select(func.count(Employer.id))) == 2


def test_second_import_changes_nothing_and_a_changed_constituency_updates(db: Session) -> None:
    run_import(db, ballots_csv([ballot_row()]))
    again = run_import(db, ballots_csv([ballot_row()]))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert db.scalar(select(func.count(AuditEvent.id))) == 1

    changed = run_import(
        db, ballots_csv([ballot_row(employers="North Bristol NHS Trust", closes_on="2026-11-30")])
    )
    assert changed.updated == 1
    db.expire_all()
    ballot = db.scalar(select(Ballot))
    assert ballot is not None
    assert [e.name for e in ballot.employers] == ["North Bristol NHS Trust"]
    assert ballot.closes_on == date(2026, 11, 30)


def test_thresholds_set_elsewhere_survive_a_reimport(db: Session) -> None:
    run_import(db, ballots_csv([ballot_row()]))
    ballot = db.scalar(select(Ballot))
    assert ballot is not None
    ballot.turnout_threshold_percent = 50
    db.commit()
    run_import(db, ballots_csv([ballot_row(title="Junior doctors' pay 2026")]))
    db.expire_all()
    assert ballot.turnout_threshold_percent == 50
    assert ballot.title == "Junior doctors' pay 2026"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"opens_on": "2026-12-01"}, "line 2: closes_on: must not be before opens_on"),
        ({"register_date": "2026-10-20"}, "line 2: register_date: must not be after opens_on"),
        ({"ballot_code": "IA 2026"}, "line 2: ballot_code: use letters, digits and single dashes"),
        ({"employers": " ; "}, "line 2: employers: name at least one employer"),
        ({"method": "email"}, "line 2: method: must be one of postal, online"),
        ({"opens_on": "15/10/2026"}, "line 2: opens_on: must be a date written YYYY-MM-DD"),
    ],
)
def test_bad_ballot_rows_are_refused(db: Session, overrides: dict[str, str], expected: str) -> None:
    assert failure(db, ballots_csv([ballot_row(**overrides)])).startswith(expected)


def test_duplicate_ballot_code_names_both_lines(db: Session) -> None:
    message = failure(db, ballots_csv([ballot_row("IA-1"), ballot_row("IA-2"), ballot_row("ia-1")]))
    assert message == "line 4: ballot_code: ballot code ia-1 is also on line 2"
    assert db.scalar(select(func.count(Employer.id))) == 0
