"""Validating in other processes: the same rows, in the same order, and the same refusals."""

from __future__ import annotations

import io
from datetime import date

import pytest

from api.imports.member_rows import validated_rows
from api.imports.reader import ImportFailed
from tests.api.imports.helpers import member_row, members_csv

TODAY = date(2026, 12, 4)


def _validated(data: bytes, *, workers: int) -> list[tuple[int, str, dict]]:
    rows = validated_rows(io.BytesIO(data), today=TODAY, workers=workers, chunk_size=3)
    return [(r.line, r.membership_number, r.values) for r in rows]


def _refusal(data: bytes, *, workers: int) -> str:
    with pytest.raises(ImportFailed) as caught:
        _validated(data, workers=workers)
    return str(caught.value)


def test_rows_validated_in_other_processes_match_those_validated_here() -> None:
    data = members_csv([member_row(1000001 + n, phone=f"07700 900{n:03d}") for n in range(11)])

    in_process = _validated(data, workers=0)

    assert len(in_process) == 11
    assert _validated(data, workers=2) == in_process


def test_bad_rows_and_duplicates_are_refused_alike_in_other_processes() -> None:
    rows = [member_row(1000001 + n) for n in range(10)]
    rows[4] = member_row(1000005, postcode="bs1")
    rows[8] = member_row(1000002)
    data = members_csv(rows)

    in_process = _refusal(data, workers=0)

    assert "line 6: postcode" in in_process and "1000002 is also on line 3" in in_process
    assert _refusal(data, workers=1) == in_process
