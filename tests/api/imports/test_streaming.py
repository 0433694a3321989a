"""A large file is streamed: memory stays flat however many rows it has."""

from __future__ import annotations

import csv
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.imports.member_rows import MEMBER_COLUMNS
from api.imports.members_csv import import_members
from api.members.models import Member
from tests.api.imports.helpers import member_row

ROWS = 200_000


@pytest.mark.slow
def test_200k_row_file_imports_in_bounded_memory(db: Session, tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=MEMBER_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        for i in range(ROWS):
            writer.writerow(member_row(1000001 + i, workplace=f"Site {i % 40}"))

    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            summary = import_members(db_session=db, stream=stream, source_name=path.name)
        db.commit()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert summary.created == ROWS
    assert db.scalar(select(func.count(Member.id))) == ROWS
    assert peak < 50 * 1024 * 1024, f"peak {peak / 1024 / 1024:.1f} MB"
