"""Writing validated members.csv rows: new members inserted, changed ones updated in bulk.

A row already matching the database is counted as unchanged and not touched (no version bump,
no history, no audit), so importing the same file twice changes nothing. Status and
employment changes get history rows dated the day of the import.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from api.imports.bulk import EmployerDirectory, ImportSummary, table_of
from api.imports.member_copy import copies_rows, copy_new_members, first_history
from api.imports.member_rows import MemberRow
from api.members.models import EmploymentPeriod, Member, Status, StatusPeriod
from api.payments.models import Collection, CollectionStatus
from api.timekeeping import utcnow

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


def apply_batch(
    *,
    db_session: Session,
    batch: list[MemberRow],
    directory: EmployerDirectory,
    summary: ImportSummary,
    today: date,
) -> None:
    """Write one batch of validated rows, creating employers and workplaces as they appear."""
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
        now = utcnow()
        new_members = [
            {
                "membership_number": row.membership_number,
                "arrears_brought_forward": row.arrears,
                "version": 1,
                "created_at": now,
                "updated_at": now,
                **row.values,
            }
            for row in new_rows
        ]
        if copies_rows(db_session):
            copy_new_members(db_session, new_members)
        else:
            _insert_new_members(db_session, new_members)
        summary.created += len(new_rows)


def _insert_new_members(db_session: Session, new_members: list[dict[str, Any]]) -> None:
    """INSERT new members with their first status and employment periods (SQLite's way)."""
    members = table_of(Member)
    created = db_session.execute(
        insert(members).returning(members.c.id, members.c.membership_number), new_members
    )
    ids = {number: member_id for member_id, number in created}
    statuses, employments = first_history(
        {**m, "id": ids[m["membership_number"]]} for m in new_members
    )
    db_session.execute(insert(table_of(StatusPeriod)), statuses)
    db_session.execute(insert(table_of(EmploymentPeriod)), employments)


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
