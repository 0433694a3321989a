"""Importing ballots.csv (see /work/shared/contract/import-files.md).

Ballot files are small, but they are read with the same streamed, all-or-nothing reader as
members.csv. Thresholds and other configuration set through the API are kept on update.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from api.audit.service import record
from api.ballots.models import Ballot, BallotMethod, ballot_employers
from api.imports.bulk import IMPORT_ACTOR, EmployerDirectory, ImportSummary, table_of
from api.imports.reader import ImportFailed, Record, RowReader, read_records

BALLOT_COLUMNS = (
    "ballot_code",
    "title",
    "question",
    "employers",
    "register_date",
    "opens_on",
    "closes_on",
    "method",
)
_BALLOT_CODE = re.compile(r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")
_BALLOT_FIELDS = ("title", "question", "register_date", "opens_on", "closes_on", "method")


@dataclass
class BallotRow:
    """One validated row of ballots.csv."""

    line: int
    ballot_code: str
    values: dict[str, Any]
    employer_names: list[str]


def parse_ballot_row(record_: Record) -> BallotRow:
    """Validate one record of ballots.csv, or raise ImportFailed."""
    row = RowReader(record_)
    code = row.required_text("ballot_code", max_length=40)
    if not _BALLOT_CODE.match(code):
        raise row.fail("ballot_code", "use letters, digits and single dashes, e.g. IA-2026-JD")
    values: dict[str, Any] = {
        "title": row.required_text("title", max_length=200),
        "question": row.required_text("question", max_length=2000, one_line=False),
        "register_date": row.required_date("register_date"),
        "opens_on": row.required_date("opens_on"),
        "closes_on": row.required_date("closes_on"),
        "method": row.choice("method", BallotMethod),
    }
    raw_employers = row.required_text("employers", max_length=5000)
    names: list[str] = []
    for part in raw_employers.split(";"):
        name = part.strip()
        if not name:
            continue
        if len(name) > 200:
            raise row.fail("employers", "an employer name is longer than 200 characters")
        if EmployerDirectory.key(name) not in {EmployerDirectory.key(n) for n in names}:
            names.append(name)
    if not names:
        raise row.fail("employers", "name at least one employer, separated by ';'")
    if values["opens_on"] > values["closes_on"]:
        raise row.fail("closes_on", "must not be before opens_on")
    if values["register_date"] > values["opens_on"]:
        raise row.fail("register_date", "must not be after opens_on")
    return BallotRow(line=record_.line, ballot_code=code, values=values, employer_names=names)


def import_ballots(*, db_session: Session, stream: BinaryIO, source_name: str) -> ImportSummary:
    """Upsert every ballot in a ballots.csv stream; the caller commits or rolls back."""
    summary = ImportSummary()
    directory = EmployerDirectory(db_session, summary).load()
    seen: dict[str, int] = {}
    for rec in read_records(stream, columns=BALLOT_COLUMNS):
        ballot_row = parse_ballot_row(rec)
        key = ballot_row.ballot_code.upper()
        if key in seen:
            raise ImportFailed(
                f"ballot code {ballot_row.ballot_code} is also on line {seen[key]}",
                line=rec.line,
                column="ballot_code",
            )
        seen[key] = rec.line
        _upsert_ballot(db_session=db_session, row=ballot_row, directory=directory, summary=summary)
    if summary.changed_anything:
        record(
            db_session=db_session,
            actor=IMPORT_ACTOR,
            action="ballots.imported",
            channel="cli",
            detail=summary.audit_detail(source_name),
        )
        db_session.flush()
    return summary


def _upsert_ballot(
    *, db_session: Session, row: BallotRow, directory: EmployerDirectory, summary: ImportSummary
) -> None:
    employer_ids = {directory.employer_id(name) for name in row.employer_names}
    current = db_session.execute(
        select(Ballot.id, *[getattr(Ballot, name) for name in _BALLOT_FIELDS]).where(
            Ballot.ballot_code == row.ballot_code
        )
    ).one_or_none()
    if current is None:
        ballot_id = db_session.execute(
            insert(table_of(Ballot)).returning(table_of(Ballot).c.id),
            [{"ballot_code": row.ballot_code, **row.values}],
        ).scalar_one()
        summary.created += 1
    else:
        ballot_id = current.id
        current_employers = set(
            db_session.scalars(
                select(ballot_employers.c.employer_id).where(
                    ballot_employers.c.ballot_id == ballot_id
                )
            )
        )
        same = all(getattr(current, name) == row.values[name] for name in _BALLOT_FIELDS)
        if same and current_employers == employer_ids:
            summary.unchanged += 1
            return
        summary.updated += 1
        ballots = table_of(Ballot)
        db_session.execute(update(ballots).where(ballots.c.id == ballot_id).values(**row.values))
        db_session.execute(
            delete(ballot_employers).where(ballot_employers.c.ballot_id == ballot_id)
        )
    db_session.execute(
        insert(ballot_employers),
        [{"ballot_id": ballot_id, "employer_id": e} for e in sorted(employer_ids)],
    )
