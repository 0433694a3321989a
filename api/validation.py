"""Normalising and validating the values members type: postcodes, phones, emails, dates.

Each function returns the canonical form or raises InvalidValue naming the field.
"""

from __future__ import annotations

import re
from datetime import date

from email_validator import EmailNotValidError, validate_email

from api.errors import InvalidValue

# The UK postcode shape (outward code, then digit + two letters), which covers every
# current postcode including London's "SW1A 1AA" forms and the special "GIR 0AA".
_POSTCODE = re.compile(r"^(GIR0AA|[A-Z]{1,2}[0-9][0-9A-Z]?[0-9][ABD-HJLNP-UW-Z]{2})$")
_MEMBERSHIP_NUMBER = re.compile(r"^[0-9]{7}$")


def normalise_postcode(raw: str, *, field: str = "postcode") -> str:
    """'sw1a1aa' -> 'SW1A 1AA'."""
    compact = re.sub(r"\s+", "", raw or "").upper()
    if not _POSTCODE.match(compact):
        raise InvalidValue("That doesn't look like a UK postcode.", field=field)
    return f"{compact[:-3]} {compact[-3:]}"


def normalise_membership_number(raw: str, *, field: str = "membership_number") -> str:
    """Membership numbers are exactly seven digits; spaces members type are dropped."""
    compact = re.sub(r"[\s-]+", "", raw or "")
    if not _MEMBERSHIP_NUMBER.match(compact):
        raise InvalidValue("A membership number is seven digits.", field=field)
    return compact


def normalise_phone(raw: str, *, field: str = "phone") -> str:
    """A UK phone number in national form: '+44 7700 900123' -> '07700900123'."""
    compact = re.sub(r"[\s\-().]+", "", raw or "")
    if compact.startswith("+44"):
        compact = "0" + compact[3:].lstrip("0")
    elif compact.startswith("0044"):
        compact = "0" + compact[4:].lstrip("0")
    if not re.fullmatch(r"0[1-9][0-9]{8,9}", compact):
        raise InvalidValue("That doesn't look like a UK phone number.", field=field)
    return compact


def normalise_email(raw: str, *, field: str = "email") -> str:
    """A deliverable-looking address, domain lower-cased. No DNS look-up is made."""
    try:
        result = validate_email((raw or "").strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidValue("That doesn't look like an email address.", field=field) from exc
    return result.normalized


def parse_iso_date(raw: str, *, field: str) -> date:
    """YYYY-MM-DD, the form the import files and the API use."""
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError as exc:
        raise InvalidValue(f"{field} must be a date written YYYY-MM-DD.", field=field) from exc


def clean_text(
    raw: str | None, *, field: str, max_length: int, required: bool = False
) -> str | None:
    """Trimmed text with control characters refused and a maximum length."""
    value = (raw or "").strip()
    if not value:
        if required:
            raise InvalidValue(f"{field} is required.", field=field)
        return None
    if len(value) > max_length:
        raise InvalidValue(f"{field} is longer than {max_length} characters.", field=field)
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value):
        raise InvalidValue(f"{field} contains control characters.", field=field)
    return value
