"""Reading the values members type in chat: membership numbers, dates, postcodes, contacts.

The assistant does its own parsing rather than trusting an entity extractor, so a value is
understood the same way whatever the NLU model thought of the sentence around it.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_MONTH_WORDS = "|".join(sorted(_MONTHS, key=len, reverse=True))
_POSTCODE = re.compile(
    r"\b(GIR ?0AA|[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][ABD-HJLNP-UW-Z]{2})\b", re.IGNORECASE
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?:\+44\s?\(?0?\)?|0044\s?|0)(?:[\s-]?\d){9,10}\b")
_AMOUNT = re.compile(
    r"£\s?(\d{1,6}(?:[.,]\d{1,2})?)|(\d{1,6}(?:\.\d{1,2})?)\s?(?:quid|pounds?|gbp|p\b)",
    re.IGNORECASE,
)


def membership_number(text: str) -> str | None:
    """The seven-digit membership number in `text`, if there is exactly one."""
    found = re.findall(r"(?<!\d)(\d{7})(?!\d)", re.sub(r"(?<=\d)[ -](?=\d)", "", text or ""))
    return found[0] if len(found) == 1 else None


def _year(raw: str, *, today: date) -> int:
    year = int(raw)
    if len(raw) == 2:
        # "85" is 1985 and "05" is 2005: a two-digit year is the latest one not in the future.
        year += 2000 if 2000 + year <= today.year else 1900
    return year


def parse_date(text: str, *, today: date | None = None) -> date | None:
    """A date as members write it: 14/03/1985, 14-3-85, 14 March 85, March 14th 1985, 1985-03-14.

    Day-first, as in the UK. Returns None when no real date can be read.
    """
    today = today or date.today()
    value = (text or "").strip().lower()
    candidates: list[tuple[int, int, int]] = []
    if m := re.search(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", value):
        candidates.append((int(m[1]), int(m[2]), int(m[3])))
    if m := re.search(r"\b(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})\b", value):
        candidates.append((_year(m[3], today=today), int(m[2]), int(m[1])))
    if m := re.search(
        rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_WORDS})\.?,?\s+(\d{{4}}|\d{{2}})\b",
        value,
    ):
        candidates.append((_year(m[3], today=today), _MONTHS[m[2]], int(m[1])))
    if m := re.search(
        rf"\b({_MONTH_WORDS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}}|\d{{2}})\b", value
    ):
        candidates.append((_year(m[3], today=today), _MONTHS[m[1]], int(m[2])))
    for year, month, day in candidates:
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return None


def postcode(text: str) -> str | None:
    """A UK postcode in `text`, normalised to 'LS1 4AB'."""
    m = _POSTCODE.search(text or "")
    if not m:
        return None
    compact = m[1].replace(" ", "").upper()
    return f"{compact[:-3]} {compact[-3:]}"


def email(text: str) -> str | None:
    """The email address in `text`, if any."""
    m = _EMAIL.search(text or "")
    return m[0].rstrip(".") if m else None


def phone(text: str) -> str | None:
    """A UK phone number in `text`, in national form ('07700900123')."""
    m = _PHONE.search(text or "")
    if not m:
        return None
    digits = re.sub(r"\D", "", m[0])
    if digits.startswith("44"):
        digits = "0" + digits[2:].lstrip("0")
    return digits if re.fullmatch(r"0[1-9]\d{8,9}", digits) else None


def amount(text: str) -> Decimal | None:
    """An amount of money in `text` ('£24.50', '20 quid'), or a bare number like '24.50'."""
    m = _AMOUNT.search(text or "")
    raw = (m[1] or m[2]) if m else None
    if raw is None:
        bare = re.fullmatch(r"\s*(\d{1,6}(?:\.\d{2})?)\s*", text or "")
        raw = bare[1] if bare else None
    if raw is None:
        return None
    try:
        return Decimal(raw.replace(",", ".")).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def tidy_text(value: Any, *, max_length: int) -> str | None:
    """What the member typed with its spacing tidied, if it is not empty and not too long."""
    text = " ".join(str(value or "").split())
    return text if 0 < len(text) <= max_length else None
