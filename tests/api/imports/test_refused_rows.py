"""A members.csv with hurried bad values: refused whole, every bad row named by its line."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.imports.members_csv import import_members
from api.imports.reader import ImportFailed
from api.members.models import Member
from tests.api.imports.helpers import member_row, members_csv


def _refused(db: Session, data: bytes) -> str:
    with pytest.raises(ImportFailed) as caught:
        import_members(db_session=db, stream=io.BytesIO(data), source_name="members.csv")
    db.rollback()
    assert db.scalar(select(func.count(Member.id))) == 0
    return str(caught.value)


def test_every_bad_row_is_listed_with_its_line_and_nothing_is_imported(db: Session) -> None:
    rows = [
        member_row(1000001),
        member_row(1000002, town="yes"),
        member_row(1000003, postcode="bs1"),
        member_row(1000004),
        member_row(1000005, phone="0770090"),
        member_row(1000006, email="bob@"),
        member_row(1000007, first_name="Pri\u200bya"),
        member_row(1000008, employer="no"),
        member_row(1000001),
    ]

    message = _refused(db, members_csv(rows))

    assert re.findall(r"line (\d+): (\w+):", message) == [
        ("3", "town"), ("4", "postcode"), ("6", "phone"), ("7", "email"), ("8", "first_name"),
        ("9", "employer"), ("10", "membership_number"),
    ]
    assert "1000001 is also on line 2" in message


def test_a_file_of_good_rows_is_stored_normalised(db: Session) -> None:
    rows = [member_row(1000001, phone="07700 900999", postcode="bs14jq", town="Bristol")]

    import_members(db_session=db, stream=io.BytesIO(members_csv(rows)), source_name="m.csv")

    member = db.scalar(select(Member).where(Member.membership_number == "1000001"))
    assert member is not None and (member.phone, member.postcode) == ("+447700900999", "BS1 4JQ")


def test_a_long_run_of_bad_rows_is_counted_after_the_first_hundred(db: Session) -> None:
    rows = [member_row(1000001 + n, town="cancel") for n in range(130)]

    message = _refused(db, members_csv(rows))

    assert message.startswith("line 2: town:")
    assert message.count("town:") == 100 and message.endswith("and 30 more bad rows")
