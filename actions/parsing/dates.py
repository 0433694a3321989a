"""Dates as members type them, read day-first as in the UK.

python-dateutil does the reading; the checks around it are ours, because a fuzzy reader finds a
"date" in almost anything: "LS1 4AB" would be the 1st of April. A date counts only when the
member gave a day, a month and a year.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from dateutil import parser

from actions.parsing.places import without_postcodes

# Two defaults that differ in every part: a part dateutil filled from the default (because the
# member never typed it) comes out different under each, so the date is incomplete.
_DEFAULTS = (datetime(1904, 1, 1), datetime(1908, 2, 2))
_YEAR_FIRST = re.compile(r"^\s*\d{4}[-/. ]\d{1,2}[-/. ]\d{1,2}\b")
_COMPACT = re.compile(r"(?<!\d)(\d{2})(\d{2})(\d{4})(?!\d)")
_FOUR_DIGIT_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")
# A run of five or more digits is a membership or phone number, never part of a date.
_LONG_NUMBER = re.compile(r"\d{5,}")


def _century(two_digit: int, *, today: date) -> int:
    # "85" is 1985 and "05" is 2005: a two-digit year is the latest one not in the future.
    return 2000 + two_digit if 2000 + two_digit <= today.year else 1900 + two_digit


def parse_date(text: str, *, today: date | None = None) -> date | None:
    """A date as members write it: 14/03/1985, 14-3-85, 14 March 85, March 14th 1985, 1985-03-14.

    Day-first, as in the UK. Returns None when no whole, real date can be read.
    """
    today = today or date.today()
    value = _COMPACT.sub(r"\1/\2/\3", without_postcodes(text or ""))
    value = _LONG_NUMBER.sub(" ", value).strip()
    if not any(ch.isdigit() for ch in value):
        return None
    year_first = bool(_YEAR_FIRST.match(value))
    readings = set()
    for default in _DEFAULTS:
        try:
            readings.add(
                parser.parse(
                    value,
                    dayfirst=not year_first,
                    yearfirst=year_first,
                    fuzzy=True,
                    default=default,
                ).date()
            )
        except (ValueError, OverflowError):
            return None
    if len(readings) != 1:
        return None
    found = readings.pop()
    if not _FOUR_DIGIT_YEAR.search(value):
        found = found.replace(year=_century(found.year % 100, today=today))
    return found


def date_of_birth(text: str, *, today: date | None = None) -> date | None:
    """A date of birth: a whole date (as parse_date reads it) between 1900 and today."""
    today = today or date.today()
    born = parse_date(text, today=today)
    return born if born and date(1900, 1, 1) <= born <= today else None
