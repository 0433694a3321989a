"""Reading members.csv: the columns, and each record validated into a MemberRow.

Validation finishes before anything is written: a bad value or a membership number that is
on two lines raises ImportFailed with its line, and the caller rolls the whole file back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, BinaryIO

from api.errors import InvalidValue
from api.imports.reader import ImportFailed, Record, RowReader, normalise_email_cached, read_records
from api.members.models import Category, Frequency, PaymentMethod, Status
from api.validation import normalise_membership_number, normalise_phone, normalise_postcode

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


@dataclass
class MemberRow:
    """One validated row: member column values plus the names and arrears to resolve."""

    line: int
    membership_number: str
    values: dict[str, Any]
    employer_name: str | None
    workplace_name: str | None
    arrears: Decimal


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


def validated_rows(stream: BinaryIO, *, today: date) -> Iterator[MemberRow]:
    """Every record of the stream as a MemberRow; ImportFailed at the first bad one."""
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
