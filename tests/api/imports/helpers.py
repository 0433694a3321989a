"""Building members.csv and ballots.csv content for import tests."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from api.imports.ballots_csv import BALLOT_COLUMNS
from api.imports.member_rows import MEMBER_COLUMNS


def member_row(number: int | str = 1000001, **overrides: Any) -> dict[str, str]:
    """A valid members.csv row, overridable column by column."""
    row = {
        "membership_number": str(number),
        "title": "Ms",
        "first_name": "Priya",
        "last_name": "Shah",
        "date_of_birth": "1985-03-14",
        "email": f"member{number}@Example.ORG",
        "phone": "+44 7700 900123",
        "address_line1": "14 Park Row",
        "address_line2": "",
        "town": "Leeds",
        "postcode": "ls14ab",
        "employer": "Leeds Teaching Hospitals NHS Trust",
        "workplace": "Leeds General Infirmary",
        "job_title": "Staff Nurse",
        "grade": "Band 5",
        "category": "full",
        "status": "active",
        "payment_method": "direct_debit",
        "payment_frequency": "monthly",
        "subscription_amount": "24.5",
        "arrears": "0",
        "joined_on": "2012-09-01",
        "renewal_date": "",
        "marketing_consent": "yes",
    }
    row.update({k: str(v) for k, v in overrides.items()})
    return row


def ballot_row(code: str = "IA-2026-JD", **overrides: Any) -> dict[str, str]:
    """A valid ballots.csv row."""
    row = {
        "ballot_code": code,
        "title": "Junior doctors' pay",
        "question": "Are you prepared to take part in strike action?",
        "employers": "Leeds Teaching Hospitals NHS Trust; North Bristol NHS Trust",
        "register_date": "2026-10-01",
        "opens_on": "2026-10-15",
        "closes_on": "2026-11-15",
        "method": "postal",
    }
    row.update({k: str(v) for k, v in overrides.items()})
    return row


def csv_text(rows: Iterable[dict[str, str]], columns: Iterable[str] = MEMBER_COLUMNS) -> str:
    """A CSV file's text with a header row, RFC 4180 quoting and CRLF line ends."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def members_csv(rows: Iterable[dict[str, str]]) -> bytes:
    """members.csv as UTF-8 bytes."""
    return csv_text(rows).encode("utf-8")


def ballots_csv(rows: Iterable[dict[str, str]]) -> bytes:
    """ballots.csv as UTF-8 bytes."""
    return csv_text(rows, BALLOT_COLUMNS).encode("utf-8")
