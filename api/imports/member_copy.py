"""New members written with PostgreSQL's COPY: the import's bulk of rows on a first load.

A multi-row INSERT ... RETURNING has the server parse and plan every statement and send the
ids back, and has SQLAlchemy render each row's parameters; COPY streams the rows as text
into the table in one command. The ids come first, from the members' own sequence, so the
status and employment history rows can name their member and follow by COPY as well.

Everything runs on the session's connection, inside the caller's one transaction: a row the
database refuses (a constraint, a value out of range) raises the same SQLAlchemy error an
INSERT would, and the caller rolls the whole file back. SQLite keeps the INSERT path.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, exc, func, select, text
from sqlalchemy.orm import Session

from api.imports.bulk import table_of
from api.members.models import EmploymentPeriod, Member, StatusPeriod

# Past this many members written, an import refreshes the planner's statistics itself.
ANALYSE_AFTER_ROWS = 1000

# COPY's text format: tab between columns, \N for NULL, and these escaped inside a value.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copies_rows(db_session: Session) -> bool:
    """Whether this session's database takes new members by COPY (PostgreSQL on psycopg2)."""
    bind = db_session.get_bind()
    return bind.dialect.name == "postgresql" and bind.dialect.driver == "psycopg2"


def _copy_text(value: Any) -> str:
    """One value as COPY's text format spells it, as the column types would bind it."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, enum.Enum):
        # enum_column stores the member's name, as SQLAlchemy's Enum type binds it.
        return value.name.translate(_ESCAPES)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value).translate(_ESCAPES)


def copy_into(db_session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """COPY `rows` (each with the same keys, all columns of `table`) into `table`."""
    if not rows:
        return
    columns = list(rows[0])
    unknown = [name for name in columns if name not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column {', '.join(unknown)}")
    # COPY applies the database's defaults only: a Python-side one left out would go unset.
    defaulted = [c.name for c in table.c if c.default is not None and c.name not in columns]
    if defaulted:
        raise ValueError(f"{table.name}: give {', '.join(defaulted)} (defaults set in Python)")
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_copy_text(row[name]) for name in columns))
        buffer.write("\n")
    buffer.seek(0)
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    connection = db_session.connection()
    dialect = connection.dialect
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.copy_expert(statement, buffer)
    except dialect.dbapi.Error as error:  # type: ignore[union-attr]
        # The same exception class (IntegrityError, DataError ...) an INSERT would raise.
        raise exc.DBAPIError.instance(
            statement, None, error, dialect.dbapi.Error  # type: ignore[union-attr]
        ) from error
    finally:
        cursor.close()


def first_history(members: Iterable[Mapping[str, Any]]
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The first status and employment period rows of new members (each with its `id`).

    A new member's history starts the day they joined, so ballots registered before the
    import still see them as they were. Shared by the COPY and INSERT ways of writing them.
    """
    statuses, employments = [], []
    for m in members:
        statuses.append(
            {"member_id": m["id"], "status": m["status"], "effective_from": m["joined_on"]}
        )
        employments.append(
            {
                "member_id": m["id"],
                "employer_id": m["employer_id"],
                "workplace_id": m["workplace_id"],
                "effective_from": m["joined_on"],
            }
        )
    return statuses, employments


def new_member_ids(db_session: Session, count: int) -> list[int]:
    """`count` ids taken from the members' sequence, in order, for rows about to be copied."""
    members = table_of(Member)
    sequence = func.pg_get_serial_sequence(members.name, members.c.id.name)
    numbers = func.generate_series(1, count).table_valued("n")
    return list(db_session.scalars(select(func.nextval(sequence)).select_from(numbers)))


def copy_new_members(db_session: Session, members: Iterable[dict[str, Any]]) -> dict[str, int]:
    """COPY new members with their first status and employment periods; id by number.

    Each member is a dict of every column the INSERT path gives (no Python-side default is
    applied by COPY): the membership number, the row's values, version and timestamps.
    """
    new = list(members)
    ids = new_member_ids(db_session, len(new))
    for member_id, member in zip(ids, new, strict=True):
        member["id"] = member_id
    copy_into(db_session, table_of(Member), new)
    statuses, employments = first_history(new)
    copy_into(db_session, table_of(StatusPeriod), statuses)
    copy_into(db_session, table_of(EmploymentPeriod), employments)
    return {m["membership_number"]: m["id"] for m in new}


def analyse_after_bulk_load(db_session: Session, rows_written: int) -> None:
    """Refresh PostgreSQL's planner statistics on the members' tables after a large import.

    Until autovacuum gets round to it (never, on a server where it is off), the planner
    guesses at freshly loaded tables: on 100,000 new members the ballot eligibility check took
    6.3 ms alone against 3.7 ms once analysed (bench/api_bench.py). PostgreSQL's manual says to
    ANALYZE after a bulk load. It runs in the import's transaction, which it can, and sees that
    transaction's own new rows. SQLite's planner needs no such help at these sizes.
    """
    if db_session.get_bind().dialect.name != "postgresql" or rows_written < ANALYSE_AFTER_ROWS:
        return
    tables = ", ".join(table_of(model).name for model in (Member, StatusPeriod, EmploymentPeriod))
    db_session.execute(text(f"ANALYZE {tables}"))
