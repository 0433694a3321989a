"""Exporting members.csv and ballots.csv in the import format: export-then-import is a round trip.

Rows are streamed from the database (yield_per) straight into the file, in key order so two
exports of the same data are byte-identical.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any, TextIO

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session, aliased

from api.ballots.models import Ballot, ballot_employers
from api.employers.models import Employer, Workplace
from api.imports.ballots_csv import BALLOT_COLUMNS
from api.imports.member_rows import MEMBER_COLUMNS
from api.imports.reader import money_text
from api.members.models import Member
from api.payments.models import Collection, CollectionStatus

_YIELD_PER = 1000


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value"):
        return str(value.value)
    return str(value)


def export_members(*, db_session: Session, out: TextIO) -> int:
    """Write every member to `out` as members.csv; returns the number of rows."""
    # Arrears as api.payments.arrears.arrears_for computes them, in one grouped query
    # rather than one query per member.
    unpaid = (
        select(Collection.member_id, func.sum(Collection.amount).label("unpaid"))
        .where(Collection.status == CollectionStatus.failed, Collection.settled_on.is_(None))
        .group_by(Collection.member_id)
        .subquery()
    )
    employer = aliased(Employer)
    workplace = aliased(Workplace)
    stmt = (
        select(
            Member.membership_number,
            Member.title,
            Member.first_name,
            Member.last_name,
            Member.date_of_birth,
            Member.email,
            Member.phone,
            Member.address_line1,
            Member.address_line2,
            Member.town,
            Member.postcode,
            employer.name.label("employer"),
            workplace.name.label("workplace"),
            Member.job_title,
            Member.grade,
            Member.category,
            Member.status,
            Member.payment_method,
            Member.payment_frequency,
            Member.subscription_amount,
            Member.arrears_brought_forward,
            unpaid.c.unpaid,
            Member.joined_on,
            Member.renewal_date,
            Member.marketing_consent,
        )
        .outerjoin(employer, employer.id == Member.employer_id)
        .outerjoin(workplace, workplace.id == Member.workplace_id)
        .outerjoin(unpaid, unpaid.c.member_id == Member.id)
        .order_by(Member.membership_number)
        .execution_options(yield_per=_YIELD_PER)
    )
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(MEMBER_COLUMNS)
    count = 0
    for row in db_session.execute(stmt):
        values = row._mapping
        arrears = Decimal(values["arrears_brought_forward"] or 0) + Decimal(values["unpaid"] or 0)
        writer.writerow(
            [
                _cell(arrears) if column == "arrears" else _cell(values[column])
                for column in MEMBER_COLUMNS
            ]
        )
        count += 1
    return count


def _ballot_rows(db_session: Session) -> Iterator[tuple[Row[Any], list[str]]]:
    ballots = db_session.execute(
        select(
            Ballot.id,
            Ballot.ballot_code,
            Ballot.title,
            Ballot.question,
            Ballot.register_date,
            Ballot.opens_on,
            Ballot.closes_on,
            Ballot.method,
        )
        .order_by(Ballot.ballot_code)
        .execution_options(yield_per=_YIELD_PER)
    ).all()
    for ballot in ballots:
        names = list(
            db_session.scalars(
                select(Employer.name)
                .join(ballot_employers, ballot_employers.c.employer_id == Employer.id)
                .where(ballot_employers.c.ballot_id == ballot.id)
                .order_by(Employer.name)
            )
        )
        yield ballot, names


def export_ballots(*, db_session: Session, out: TextIO) -> int:
    """Write every ballot to `out` as ballots.csv; returns the number of rows."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BALLOT_COLUMNS)
    count = 0
    for ballot, employer_names in _ballot_rows(db_session):
        values = ballot._mapping
        writer.writerow(
            [
                "; ".join(employer_names) if column == "employers" else _cell(values[column])
                for column in BALLOT_COLUMNS
            ]
        )
        count += 1
    return count
