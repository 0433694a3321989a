"""Reading an import file safely: streamed, strict UTF-8, bounded lines, exact header.

Nothing here holds more than one record in memory, so a file of a million rows costs the
same memory as a file of ten.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import lru_cache
from typing import BinaryIO, TypeVar

from api.errors import InvalidValue
from api.validation import (
    SUSPECT_CHARACTERS,
    check_place,
    clean_line,
    clean_text,
    may_span_lines,
    normalise_email,
    parse_iso_date,
)

# A member row is a few hundred characters; anything far larger is a broken export or an
# attack, and is refused before it is buffered.
MAX_RECORD_CHARS = 10_000
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_MONEY = re.compile(r"^[0-9]{1,8}(\.[0-9]{1,2})?$")

E = TypeVar("E", bound=Enum)


class ImportFailed(Exception):
    """The file cannot be imported; `str()` is the message for the operator."""

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None) -> None:
        parts = [f"line {line}" if line is not None else None, column, message]
        super().__init__(": ".join(p for p in parts if p))
        self.line = line
        self.column = column


@dataclass
class _LineSource:
    """Feeds decoded lines to the csv module, counting physical lines and record size."""

    stream: BinaryIO
    line_number: int = 0
    record_chars: int = 0

    def __iter__(self) -> Iterator[str]:
        while True:
            # Bounded, so one endless line cannot be read into memory whole.
            raw = self.stream.readline(MAX_RECORD_CHARS * 4 + 1)
            if not raw:
                return
            self.line_number += 1
            if len(raw) > MAX_RECORD_CHARS * 4:
                raise ImportFailed(
                    f"the record is longer than {MAX_RECORD_CHARS} characters",
                    line=self.line_number,
                )
            if self.line_number == 1:
                if raw.startswith(_UTF16_BOMS):
                    raise ImportFailed(
                        "the file is UTF-16; save it as UTF-8 (CSV UTF-8) and import again",
                        line=1,
                    )
                if raw.startswith(_UTF8_BOM):
                    raw = raw[len(_UTF8_BOM) :]
            if b"\x00" in raw:
                raise ImportFailed(
                    "contains NUL bytes (is the file UTF-16?); save it as UTF-8 and import again",
                    line=self.line_number,
                )
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ImportFailed(
                    "is not valid UTF-8 (was the file saved as Latin-1 or Windows-1252?); "
                    "save it as UTF-8 and import again",
                    line=self.line_number,
                ) from None
            self.record_chars += len(text)
            if self.record_chars > MAX_RECORD_CHARS:
                raise ImportFailed(
                    f"the record is longer than {MAX_RECORD_CHARS} characters",
                    line=self.line_number,
                )
            yield text


@dataclass(frozen=True)
class Record:
    """One data row of the file, by column name, with the line it starts on."""

    line: int
    values: dict[str, str]


def read_records(stream: BinaryIO, *, columns: tuple[str, ...]) -> Iterator[Record]:
    """Yield the file's data rows, after checking the header names exactly `columns`."""
    source = _LineSource(stream)
    reader = csv.reader(source, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise ImportFailed("the file is empty; it needs a header row and data rows")
        names = [name.strip() for name in header]
        _check_header(names, columns)
        start = source.line_number + 1
        source.record_chars = 0
        for row in reader:
            line, start = start, source.line_number + 1
            source.record_chars = 0
            if not row or row == [""]:
                continue
            if len(row) != len(names):
                raise ImportFailed(f"expected {len(names)} values, found {len(row)}", line=line)
            yield Record(line=line, values=dict(zip(names, row, strict=True)))
    except csv.Error as exc:
        raise ImportFailed(f"the CSV is malformed ({exc})", line=source.line_number) from None


def _check_header(names: list[str], columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in names]
    unknown = [n for n in names if n not in columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    problems = []
    if missing:
        problems.append("missing columns: " + ", ".join(missing))
    if unknown:
        problems.append("unknown columns: " + ", ".join(repr(n) for n in unknown))
    if duplicated:
        problems.append("repeated columns: " + ", ".join(duplicated))
    if problems:
        raise ImportFailed("; ".join(problems), line=1)


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A plain dot-atom local part, which email_validator returns unchanged.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_MAILBOX_NAMES = frozenset(
    {
        "info",
        "marketing",
        "sales",
        "support",
        "abuse",
        "noc",
        "security",
        "postmaster",
        "hostmaster",
        "usenet",
        "news",
        "webmaster",
        "www",
        "uucp",
        "ftp",
    }
)


@lru_cache(maxsize=4096)
def _normalised_domain(domain: str) -> str | None:
    try:
        return normalise_email("x@" + domain).rpartition("@")[2]
    except InvalidValue:
        return None


def normalise_email_cached(raw: str, *, field: str = "email") -> str:
    """api.validation.normalise_email, with the slow domain check done once per domain.

    Members of one employer share a handful of domains; checking each domain once is what
    lets a large import run at thousands of rows a second. Anything unusual takes the full path.
    """
    value = raw.strip()
    local, at, domain = value.rpartition("@")
    if (
        at
        and len(local) <= 64
        and len(value) <= 254
        and _PLAIN_LOCAL.fullmatch(local)
        and local.lower() not in _MAILBOX_NAMES
    ):
        normalised_domain = _normalised_domain(domain)
        if normalised_domain is not None:
            return f"{local}@{normalised_domain}"
    return normalise_email(raw, field=field)


class RowReader:
    """Typed access to one record's values; every failure names the line and column."""

    def __init__(self, record: Record) -> None:
        self.record = record
        self.values = record.values
        # Characters the shared text rules refuse are rare: checked once per record, then the
        # full rules run per column only when there are some.
        self._suspect = any(SUSPECT_CHARACTERS.search(v) for v in record.values.values())

    def fail(self, column: str, message: str) -> ImportFailed:
        """An ImportFailed for `column` on this record's line."""
        # The shared validators start some messages with the field's name; the column is
        # already named once in "line N: column: reason".
        if message.startswith(column + " "):
            message = message[len(column) + 1 :]
        return ImportFailed(message.rstrip("."), line=self.record.line, column=column)

    def text(
        self, column: str, *, max_length: int, required: bool = False, one_line: bool = True
    ) -> str | None:
        """Trimmed text, None when empty (api.validation's clean_line, or clean_text when it
        may run over several lines)."""
        if self._suspect:
            clean = clean_line if one_line else clean_text
            try:
                return clean(
                    self.values[column], field=column, max_length=max_length, required=required
                )
            except InvalidValue as exc:
                raise self.fail(column, exc.message) from None
        value = self.values[column].strip()
        if not value.isascii():
            value = unicodedata.normalize("NFC", value)
        if not value:
            if required:
                raise self.fail(column, "is required")
            return None
        if len(value) > max_length:
            raise self.fail(column, f"is longer than {max_length} characters")
        return value

    def place(self, column: str, *, max_length: int, required: bool = False) -> str | None:
        """An address line, town, employer or workplace: never a reply word like 'yes'."""
        one_line = not may_span_lines(column)
        return self.normalised(
            column, check_place, max_length=max_length, required=required, one_line=one_line
        )

    def required_text(self, column: str, *, max_length: int, one_line: bool = True) -> str:
        """Trimmed text that must be present."""
        value = self.text(column, max_length=max_length, required=True, one_line=one_line)
        assert value is not None
        return value

    def normalised(
        self,
        column: str,
        normalise: Callable[..., str],
        *,
        max_length: int,
        required: bool,
        one_line: bool = True,
    ) -> str | None:
        """A value put through one of api.validation's normalisers; None when empty."""
        raw = self.text(column, max_length=max_length, required=required, one_line=one_line)
        if raw is None:
            return None
        try:
            return normalise(raw, field=column)
        except InvalidValue as exc:
            raise self.fail(column, exc.message) from None

    def date_value(self, column: str, *, required: bool = True) -> date | None:
        """A YYYY-MM-DD date."""
        raw = self.text(column, max_length=10, required=required)
        if raw is None:
            return None
        if not _ISO_DATE.fullmatch(raw):
            raise self.fail(column, "must be a date written YYYY-MM-DD")
        try:
            return parse_iso_date(raw, field=column)
        except InvalidValue:
            raise self.fail(column, "is not a real date (YYYY-MM-DD)") from None

    def required_date(self, column: str) -> date:
        """A YYYY-MM-DD date that must be present."""
        value = self.date_value(column, required=True)
        assert value is not None
        return value

    def choice(self, column: str, enum_type: type[E]) -> E:
        """One of an enumeration's values, case-insensitive."""
        raw = self.required_text(column, max_length=40).lower()
        try:
            return enum_type(raw)
        except ValueError:
            allowed = ", ".join(str(e.value) for e in enum_type)
            raise self.fail(column, f"must be one of {allowed}") from None

    def money(self, column: str, *, empty_means_zero: bool = False) -> Decimal:
        """A non-negative amount in pounds with at most two decimal places."""
        raw = self.text(column, max_length=20, required=not empty_means_zero)
        if raw is None:
            return Decimal("0.00")
        if not _MONEY.match(raw):
            raise self.fail(
                column, "must be an amount in pounds like 24.50 (no £ sign, at most 2 decimals)"
            )
        try:
            return Decimal(raw).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise self.fail(column, "must be an amount in pounds like 24.50") from None

    def yes_no(self, column: str) -> bool:
        """yes or no."""
        raw = self.required_text(column, max_length=10).lower()
        if raw not in ("yes", "no"):
            raise self.fail(column, "must be yes or no")
        return raw == "yes"


def money_text(amount: Decimal) -> str:
    """An amount as the files write it: two decimal places, no sign for zero."""
    return f"{amount.quantize(Decimal('0.01')):f}"
