"""Reading members.csv: the columns, and each record validated into a MemberRow.

Validation finishes before anything is written: a bad value or a membership number that is
on two lines raises ImportFailed with its line, and the caller rolls the whole file back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, BinaryIO

from api.errors import InvalidValue
from api.imports.parallel import in_order
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


# How many bad rows one failed import names; the count of the rest follows them.
_BAD_ROWS_LISTED = 100


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
        "address_line1": row.place("address_line1", max_length=200, required=True),
        "address_line2": row.place("address_line2", max_length=200),
        "town": row.place("town", max_length=100, required=True),
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
    employer_name = row.place("employer", max_length=200)
    workplace_name = row.place("workplace", max_length=200)
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


def _first_lines_of(stream: BinaryIO, numbers: set[str]) -> dict[str, int]:
    """The line where each of `numbers` first appears (read again only to explain duplicates,
    once the whole file has been read)."""
    try:
        stream.seek(0)
    except (OSError, ValueError):
        return {}
    first: dict[str, int] = {}
    for rec in read_records(stream, columns=MEMBER_COLUMNS):
        try:
            number = normalise_membership_number(rec.values["membership_number"])
        except InvalidValue:
            continue
        if number in numbers and number not in first:
            first[number] = rec.line
    return first


def _duplicate(number: str, *, line: int, first: int | None) -> ImportFailed:
    where = f"line {first}" if first is not None else "an earlier line"
    return ImportFailed(
        f"membership number {number} is also on {where}", line=line, column="membership_number"
    )


def _every_bad_row(failures: list[ImportFailed], *, unlisted: int) -> ImportFailed:
    failures.sort(key=lambda f: f.line or 0)
    listed = failures[:_BAD_ROWS_LISTED]
    more = unlisted + len(failures) - len(listed)
    text = "; ".join(str(f) for f in listed) + (f"; and {more} more bad rows" if more else "")
    combined = ImportFailed(text)
    combined.line, combined.column = listed[0].line, listed[0].column
    return combined


def parse_member_rows(records: list[Record], today: date) -> list[MemberRow | ImportFailed]:
    """Each record validated, in order: its MemberRow, or the ImportFailed that refuses it.

    The unit of work a validation process is sent, so failures come back as values."""
    parsed: list[MemberRow | ImportFailed] = []
    for rec in records:
        try:
            parsed.append(parse_member_row(rec, today=today))
        except ImportFailed as exc:
            parsed.append(exc.with_traceback(None))
    return parsed


def _parsed(
    records: Iterable[Record], *, today: date, workers: int, chunk_size: int
) -> Iterator[MemberRow | ImportFailed]:
    if workers < 1:
        for rec in records:
            try:
                yield parse_member_row(rec, today=today)
            except ImportFailed as exc:
                yield exc.with_traceback(None)
        return
    for chunk in in_order(
        parse_member_rows, records, today, workers=workers, chunk_size=chunk_size
    ):
        yield from chunk


def validated_rows(
    stream: BinaryIO, *, today: date, workers: int = 0, chunk_size: int = 1000
) -> Iterator[MemberRow]:
    """Every good record of the stream as a MemberRow; at the end, ImportFailed listing every
    bad row by line, so one run tells the operator all there is to fix.

    With `workers`, files longer than one chunk of `chunk_size` records are validated in that
    many separate processes while this one writes; rows still come out in the file's order,
    and duplicates and failures are judged here exactly as without them."""
    seen = _SeenNumbers()
    failures: list[ImportFailed] = []
    duplicates: list[tuple[str, int]] = []
    unlisted = 0
    records = read_records(stream, columns=MEMBER_COLUMNS)
    for member_row in _parsed(records, today=today, workers=workers, chunk_size=chunk_size):
        if isinstance(member_row, ImportFailed):
            if len(failures) < _BAD_ROWS_LISTED:
                failures.append(member_row)
            else:
                unlisted += 1
            continue
        if not seen.add(member_row.membership_number):
            if len(duplicates) < _BAD_ROWS_LISTED:
                duplicates.append((member_row.membership_number, member_row.line))
            else:
                unlisted += 1
        elif not failures and not duplicates:
            # Nothing is passed on to be written once a row has failed: the file is refused.
            yield member_row
    if duplicates:
        first = _first_lines_of(stream, {number for number, _ in duplicates})
        failures.extend(_duplicate(n, line=line, first=first.get(n)) for n, line in duplicates)
    if failures:
        raise _every_bad_row(failures, unlisted=unlisted)
