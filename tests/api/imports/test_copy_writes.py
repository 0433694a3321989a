"""New members written by COPY on PostgreSQL read back exactly as the INSERT path writes them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import exc, func, select, text
from sqlalchemy.orm import Session

from api.imports.bulk import table_of
from api.imports.member_copy import ANALYSE_AFTER_ROWS, copies_rows, copy_into
from api.members.models import EmploymentPeriod, Member, Status, StatusPeriod
from tests.api import factories
from tests.api.imports.helpers import member_row, members_csv
from tests.api.imports.test_members_import import run_import


def test_awkward_text_and_empty_values_read_back_as_given(db: Session) -> None:
    # A backslash, COPY's NULL spelling, an apostrophe and accents: COPY's text format would
    # read the first two otherwise, so they must be escaped on the way in.
    run_import(
        db,
        members_csv(
            [
                member_row(
                    1000001,
                    first_name="Zoë",
                    last_name="O'Brien-Ærøe",
                    address_line1="Flat 2, Mill's Yard",
                    job_title="Health \\ Safety Rep",
                    grade="\\N",
                    renewal_date="2027-06-01",
                    marketing_consent="no",
                    subscription_amount="7.05",
                ),
                member_row(
                    1000002, title="", email="", phone="", employer="", workplace="", grade=""
                ),
            ]
        ),
    )

    zoe = db.scalar(select(Member).where(Member.membership_number == "1000001"))
    assert zoe is not None
    assert (zoe.first_name, zoe.last_name) == ("Zoë", "O'Brien-Ærøe")
    assert zoe.address_line1 == "Flat 2, Mill's Yard"
    assert (zoe.job_title, zoe.grade) == ("Health \\ Safety Rep", "\\N")
    assert zoe.renewal_date == date(2027, 6, 1)
    assert zoe.marketing_consent is False
    assert zoe.subscription_amount == Decimal("7.05")
    assert zoe.status is Status.active and zoe.version == 1
    assert zoe.created_at is not None and zoe.created_at == zoe.updated_at
    bare = db.scalar(select(Member).where(Member.membership_number == "1000002"))
    assert bare is not None
    assert (bare.title, bare.email, bare.phone, bare.grade) == (None, None, None, None)
    assert bare.employer_id is None
    jobs = db.scalars(select(EmploymentPeriod).where(EmploymentPeriod.member_id == bare.id)).all()
    assert [(j.employer_id, j.workplace_id) for j in jobs] == [(None, None)]


def test_members_added_after_an_import_get_ids_of_their_own(db: Session) -> None:
    # The import takes its ids from the members' sequence, so the next ordinary INSERT (a
    # member joining) does not collide with one of them. Numbers apart from the factory's.
    run_import(db, members_csv([member_row(2000001 + i) for i in range(5)]))

    joiner = factories.member(db)

    imported = db.scalars(select(Member.id).where(Member.id != joiner.id)).all()
    assert len(imported) == 5 and joiner.id not in imported
    assert db.scalar(select(func.count()).select_from(StatusPeriod)) == 6


def test_a_row_the_database_refuses_raises_its_integrity_error(db: Session) -> None:
    if not copies_rows(db):
        pytest.skip("COPY is PostgreSQL's; SQLite keeps the INSERT path")
    factories.member(db)
    before = db.scalar(select(func.count()).select_from(StatusPeriod))

    with pytest.raises(exc.IntegrityError):
        copy_into(
            db,
            table_of(StatusPeriod),
            [{"member_id": 987654321, "status": Status.active, "effective_from": date(2026, 1, 1)}],
        )
    db.rollback()

    assert db.scalar(select(func.count()).select_from(StatusPeriod)) == before


def test_a_python_side_default_left_out_is_refused_before_copying(db: Session) -> None:
    if not copies_rows(db):
        pytest.skip("COPY is PostgreSQL's; SQLite keeps the INSERT path")
    with pytest.raises(ValueError, match="version"):
        copy_into(db, table_of(Member), [{"membership_number": "1000001"}])


def _members_reltuples(db: Session) -> float:
    return db.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'members'"))


def test_a_large_import_leaves_postgresql_with_fresh_statistics(db: Session) -> None:
    if not copies_rows(db):
        pytest.skip("PostgreSQL's planner statistics")
    count = ANALYSE_AFTER_ROWS + 200
    small = [member_row(2000001 + i, email=f"small{i}@example.org") for i in range(5)]
    before = _members_reltuples(db)

    run_import(db, members_csv(small))
    assert _members_reltuples(db) == before  # a handful of rows changes no plan

    large = [member_row(1000001 + i, email=f"m{i}@example.org") for i in range(count)]
    run_import(db, members_csv(large))
    # Analysed in the import's own transaction, new rows counted: the planner now knows the
    # table's size instead of guessing.
    assert _members_reltuples(db) == count + len(small)
