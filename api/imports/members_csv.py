"""Importing members.csv (see /work/shared/contract/import-files.md).

The file is streamed and written in batches inside the caller's one transaction: a bad row
anywhere raises ImportFailed and the caller rolls everything back. Rows already matching
the database are left alone (no version bump, no history, no audit), so importing the same
file twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import islice
from typing import Any, BinaryIO, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from api.audit.service import record
from api.database import Base
from api.employers.models import Employer, Workplace
from api.errors import InvalidValue
from api.imports.reader import ImportFailed, Record, RowReader, normalise_email_cached, read_records
from api.members.models import (
    Category,
    EmploymentPeriod,
    Frequency,
    Member,
    PaymentMethod,
    Status,
    StatusPeriod,
)
from api.payments.models import Collection, CollectionStatus
from api.timekeeping import today as today_utc
from api.timekeeping import utcnow
from api.validation import normalise_membership_number, normalise_phone, normalise_postcode

IMPORT_ACTOR = "system:import"
BATCH_SIZE = 1000

MEMBER_COLUMNS = (
    "membership_number",
    "title",
    "first_name",
    "last_name",
    "date_of_birth",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "employer",
    "workplace",
    "job_title",
    "grade",
    "category",
    "status",
    "payment_method",
    "payment_frequency",
    "subscription_amount",
    "arrears",
    "joined_on",
    "renewal_date",
    "marketing_consent",
)

# The member columns an import may set; compared one by one to decide "unchanged".
_MEMBER_FIELDS = (
    "title",
    "first_name",
    "last_name",
    "date_of_birth",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "employer_id",
    "workplace_id",
    "job_title",
    "grade",
    "category",
    "status",
    "payment_method",
    "payment_frequency",
    "subscription_amount",
    "joined_on",
    "renewal_date",
    "marketing_consent",
)


@dataclass
class ImportSummary:
    """What an import did, for the operator and the audit log."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    employers_created: int = 0
    workplaces_created: int = 0

    @property
    def changed_anything(self) -> bool:
        return bool(
            self.created or self.updated or self.employers_created or self.workplaces_created
        )

    def audit_detail(self, source_name: str) -> str:
        return (
            f"file={source_name}; created={self.created}; updated={self.updated}; "
            f"unchanged={self.unchanged}; employers_created={self.employers_created}; "
            f"workplaces_created={self.workplaces_created}"
        )


@dataclass
class MemberRow:
    """One validated row: member column values plus the names and arrears to resolve."""

    line: int
    membership_number: str
    values: dict[str, Any]
    employer_name: str | None
    workplace_name: str | None
    arrears: Decimal


@dataclass
class EmployerDirectory:
    """Employers and workplaces by name, loaded once, created on first mention."""

    db_session: Session
    summary: ImportSummary
    employers: dict[str, int] = field(default_factory=dict)
    workplaces: dict[tuple[int, str], int] = field(default_factory=dict)

    @staticmethod
    def key(name: str) -> str:
        # "Northshire NHS trust " and "Northshire NHS Trust" are one employer, not two.
        return re.sub(r"\s+", " ", name).strip().casefold()

    def load(self) -> EmployerDirectory:
        for employer_id, name in self.db_session.execute(select(Employer.id, Employer.name)):
            self.employers.setdefault(self.key(name), employer_id)
        for workplace_id, employer_id, name in self.db_session.execute(
            select(Workplace.id, Workplace.employer_id, Workplace.name)
        ):
            self.workplaces.setdefault((employer_id, self.key(name)), workplace_id)
        return self

    def employer_id(self, name: str) -> int:
        """The employer called `name`, created if unknown."""
        found = self.employers.get(self.key(name))
        if found is None:
            found = self.db_session.execute(
                insert(Employer).values(name=name).returning(Employer.id)
            ).scalar_one()
            self.employers[self.key(name)] = found
            self.summary.employers_created += 1
        return found

    def workplace_id(self, employer_id: int, name: str) -> int:
        """The employer's workplace called `name`, created if unknown."""
        found = self.workplaces.get((employer_id, self.key(name)))
        if found is None:
            found = self.db_session.execute(
                insert(Workplace).values(employer_id=employer_id, name=name).returning(Workplace.id)
            ).scalar_one()
            self.workplaces[(employer_id, self.key(name))] = found
            self.summary.workplaces_created += 1
        return found


class _SeenNumbers:
    """Membership numbers met so far: one bit per possible 7-digit number (1.25 MB, flat)."""

    def __init__(self) -> None:
        self._bits = bytearray(10_000_000 // 8 + 1)

    def add(self, number: str) -> bool:
        """Mark `number`; False when it was already marked."""
        n = int(number)
        byte, bit = divmod(n, 8)
        if self._bits[byte] & (1 << bit):
            return False
        self._bits[byte] |= 1 << bit
        return True


def table_of(model: type[Base]) -> Table:
    """The model's table, for Core bulk statements that skip per-object ORM bookkeeping."""
    return cast(Table, model.__table__)


def parse_member_row(record_: Record, *, today: date) -> MemberRow:
    """Validate one record of members.csv into column values, or raise ImportFailed."""
    row = RowReader(record_)
    number = row.normalised(
        "membership_number", normalise_membership_number, max_length=20, required=True
    )
    assert number is not None
    values: dict[str, Any] = {
        "title": row.text("title", max_length=20),
        "first_name": row.required_text("first_name", max_length=100),
        "last_name": row.required_text("last_name", max_length=100),
        "date_of_birth": row.required_date("date_of_birth"),
        "email": row.normalised("email", normalise_email_cached, max_length=254, required=False),
        "phone": row.normalised("phone", normalise_phone, max_length=30, required=False),
        "address_line1": row.required_text("address_line1", max_length=200),
        "address_line2": row.text("address_line2", max_length=200),
        "town": row.required_text("town", max_length=100),
        "postcode": row.normalised("postcode", normalise_postcode, max_length=10, required=True),
        "job_title": row.text("job_title", max_length=100),
        "grade": row.text("grade", max_length=50),
        "category": row.choice("category", Category),
        "status": row.choice("status", Status),
        "payment_method": row.choice("payment_method", PaymentMethod),
        "payment_frequency": row.choice("payment_frequency", Frequency),
        "subscription_amount": row.money("subscription_amount"),
        "joined_on": row.required_date("joined_on"),
        "renewal_date": row.date_value("renewal_date", required=False),
        "marketing_consent": row.yes_no("marketing_consent"),
    }
    arrears = row.money("arrears", empty_means_zero=True)
    employer_name = row.text("employer", max_length=200)
    workplace_name = row.text("workplace", max_length=200)
    if employer_name and ";" in employer_name:
        # Ballot files list employers separated by ";", so a name cannot contain one.
        raise row.fail("employer", "must not contain ';'")
    if workplace_name and not employer_name:
        raise row.fail("workplace", "a workplace needs an employer")
    if values["date_of_birth"] >= today:
        raise row.fail("date_of_birth", "must be in the past")
    if values["joined_on"] <= values["date_of_birth"]:
        raise row.fail("joined_on", "must be after date_of_birth")
    return MemberRow(
        line=record_.line,
        membership_number=number,
        values=values,
        employer_name=employer_name,
        workplace_name=workplace_name,
        arrears=arrears,
    )


def _batches(rows: Iterator[MemberRow], size: int) -> Iterator[list[MemberRow]]:
    while batch := list(islice(rows, size)):
        yield batch


def _first_line_of(stream: BinaryIO, number: str) -> int | None:
    """The line where `number` first appears (only read again to explain a duplicate)."""
    try:
        stream.seek(0)
    except (OSError, ValueError):
        return None
    for rec in read_records(stream, columns=MEMBER_COLUMNS):
        try:
            if normalise_membership_number(rec.values["membership_number"]) == number:
                return rec.line
        except InvalidValue:
            continue
    return None


def _validated_rows(stream: BinaryIO, *, today: date) -> Iterator[MemberRow]:
    seen = _SeenNumbers()
    for rec in read_records(stream, columns=MEMBER_COLUMNS):
        member_row = parse_member_row(rec, today=today)
        if not seen.add(member_row.membership_number):
            first = _first_line_of(stream, member_row.membership_number)
            where = f"line {first}" if first is not None else "an earlier line"
            raise ImportFailed(
                f"membership number {member_row.membership_number} is also on {where}",
                line=rec.line,
                column="membership_number",
            )
        yield member_row


def import_members(
    *,
    db_session: Session,
    stream: BinaryIO,
    source_name: str,
    today: date | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportSummary:
    """Upsert every member in a members.csv stream; the caller commits or rolls back."""
    as_of = today or today_utc()
    summary = ImportSummary()
    directory = EmployerDirectory(db_session, summary).load()
    for batch in _batches(_validated_rows(stream, today=as_of), batch_size):
        _apply_batch(
            db_session=db_session, batch=batch, directory=directory, summary=summary, today=as_of
        )
    if summary.changed_anything:
        record(
            db_session=db_session,
            actor=IMPORT_ACTOR,
            action="members.imported",
            channel="cli",
            detail=summary.audit_detail(source_name),
        )
        db_session.flush()
    return summary


def _resolve_employment(row: MemberRow, directory: EmployerDirectory) -> None:
    employer_id = directory.employer_id(row.employer_name) if row.employer_name else None
    workplace_id = (
        directory.workplace_id(employer_id, row.workplace_name)
        if employer_id is not None and row.workplace_name
        else None
    )
    row.values["employer_id"] = employer_id
    row.values["workplace_id"] = workplace_id


def unsettled_failed_totals(
    *, db_session: Session, member_ids: Iterable[int]
) -> dict[int, Decimal]:
    """Sum of failed, unsettled collections per member (the arrears since the CRM export)."""
    ids = list(member_ids)
    if not ids:
        return {}
    rows = db_session.execute(
        select(Collection.member_id, func.sum(Collection.amount))
        .where(
            Collection.member_id.in_(ids),
            Collection.status == CollectionStatus.failed,
            Collection.settled_on.is_(None),
        )
        .group_by(Collection.member_id)
    )
    return {member_id: Decimal(total or 0) for member_id, total in rows}


def _apply_batch(
    *,
    db_session: Session,
    batch: list[MemberRow],
    directory: EmployerDirectory,
    summary: ImportSummary,
    today: date,
) -> None:
    for row in batch:
        _resolve_employment(row, directory)

    columns = [getattr(Member, name) for name in _MEMBER_FIELDS]
    existing = {
        r.membership_number: r
        for r in db_session.execute(
            select(
                Member.id, Member.membership_number, Member.arrears_brought_forward, *columns
            ).where(Member.membership_number.in_([row.membership_number for row in batch]))
        )
    }
    failed_totals = unsettled_failed_totals(
        db_session=db_session, member_ids=[r.id for r in existing.values()]
    )

    new_rows: list[MemberRow] = []
    changed: list[dict[str, Any]] = []
    status_changes: list[tuple[int, Status]] = []
    employment_changes: list[tuple[int, int | None, int | None]] = []
    for row in batch:
        current = existing.get(row.membership_number)
        if current is None:
            new_rows.append(row)
            continue
        brought_forward = row.arrears - failed_totals.get(current.id, Decimal("0"))
        stored = current[3:]
        same = all(a == row.values[b] for a, b in zip(stored, _MEMBER_FIELDS, strict=True))
        if same and Decimal(current.arrears_brought_forward) == brought_forward:
            summary.unchanged += 1
            continue
        summary.updated += 1
        changed.append(
            {
                "b_id": current.id,
                "b_arrears_brought_forward": brought_forward,
                **{f"b_{name}": row.values[name] for name in _MEMBER_FIELDS},
            }
        )
        if current.status != row.values["status"]:
            status_changes.append((current.id, row.values["status"]))
        employment = (row.values["employer_id"], row.values["workplace_id"])
        if (current.employer_id, current.workplace_id) != employment:
            employment_changes.append((current.id, *employment))

    if changed:
        table = table_of(Member)
        db_session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                {
                    **{
                        name: bindparam(f"b_{name}")
                        for name in (*_MEMBER_FIELDS, "arrears_brought_forward")
                    },
                    # Staff holding the old version get a 409 rather than overwriting the import.
                    "version": table.c.version + 1,
                    "updated_at": utcnow(),
                }
            ),
            changed,
        )
        _record_periods(
            db_session=db_session,
            today=today,
            status_changes=status_changes,
            employment_changes=employment_changes,
        )

    if new_rows:
        members = table_of(Member)
        now = utcnow()
        created = db_session.execute(
            insert(members).returning(members.c.id, members.c.membership_number),
            [
                {
                    "membership_number": row.membership_number,
                    "arrears_brought_forward": row.arrears,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    **row.values,
                }
                for row in new_rows
            ],
        )
        ids = {number: member_id for member_id, number in created}
        summary.created += len(new_rows)
        # A new member's history starts the day they joined, so ballots registered before
        # the import still see them as they were.
        db_session.execute(
            insert(table_of(StatusPeriod)),
            [
                {
                    "member_id": ids[r.membership_number],
                    "status": r.values["status"],
                    "effective_from": r.values["joined_on"],
                }
                for r in new_rows
            ],
        )
        db_session.execute(
            insert(table_of(EmploymentPeriod)),
            [
                {
                    "member_id": ids[r.membership_number],
                    "employer_id": r.values["employer_id"],
                    "workplace_id": r.values["workplace_id"],
                    "effective_from": r.values["joined_on"],
                }
                for r in new_rows
            ],
        )


def _record_periods(
    *,
    db_session: Session,
    today: date,
    status_changes: list[tuple[int, Status]],
    employment_changes: list[tuple[int, int | None, int | None]],
) -> None:
    """History rows for changed status or employment, effective today.

    A second change on the same day replaces that day's row instead of adding a rival one.
    """
    if status_changes:
        dated_today = set(
            db_session.scalars(
                select(StatusPeriod.member_id).where(
                    StatusPeriod.member_id.in_([m for m, _ in status_changes]),
                    StatusPeriod.effective_from == today,
                )
            )
        )
        fresh = [
            {"member_id": m, "status": s, "effective_from": today}
            for m, s in status_changes
            if m not in dated_today
        ]
        redo = [{"b_member_id": m, "b_status": s} for m, s in status_changes if m in dated_today]
        if fresh:
            db_session.execute(insert(table_of(StatusPeriod)), fresh)
        if redo:
            table = table_of(StatusPeriod)
            db_session.execute(
                update(table)
                .where(
                    table.c.member_id == bindparam("b_member_id"), table.c.effective_from == today
                )
                .values(status=bindparam("b_status")),
                redo,
            )
    if employment_changes:
        dated_today = set(
            db_session.scalars(
                select(EmploymentPeriod.member_id).where(
                    EmploymentPeriod.member_id.in_([m for m, _, _ in employment_changes]),
                    EmploymentPeriod.effective_from == today,
                )
            )
        )
        fresh = [
            {"member_id": m, "employer_id": e, "workplace_id": w, "effective_from": today}
            for m, e, w in employment_changes
            if m not in dated_today
        ]
        redo = [
            {"b_member_id": m, "b_employer_id": e, "b_workplace_id": w}
            for m, e, w in employment_changes
            if m in dated_today
        ]
        if fresh:
            db_session.execute(insert(table_of(EmploymentPeriod)), fresh)
        if redo:
            table = table_of(EmploymentPeriod)
            db_session.execute(
                update(table)
                .where(
                    table.c.member_id == bindparam("b_member_id"), table.c.effective_from == today
                )
                .values(
                    employer_id=bindparam("b_employer_id"), workplace_id=bindparam("b_workplace_id")
                ),
                redo,
            )
