"""Normalising and validating the values members type: postcodes, phones, emails, dates, text.

Every route and import that stores one of these goes through this module, so a value the
webchat refuses is refused by the console and the import files too. Each function returns
the canonical form or raises InvalidValue naming the field; the message is safe to show a
member and never repeats what they typed. Reading stored values never calls these: records
written before a rule existed must still load.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic_core import PydanticCustomError

from api.errors import InvalidValue

T = TypeVar("T")

# Royal Mail's postcode format: outward code, then a digit and two letters from the 20 used
# in units. The third and fourth characters follow the letter rules of each outward form.
_POSTCODE = re.compile(
    r"^(?:GIR0AA|"
    r"(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?"
    r"|[A-PR-UWYZ][0-9][A-HJKPSTUW]|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])"
    r"[0-9][ABD-HJLNP-UW-Z]{2})$"
)
# The postcode areas in use (the ONS Postcode Directory's, plus BFPO's BF and the
# non-geographic BX). They change less than once a decade; a new one is a one-line edit.
POSTCODE_AREAS = frozenset(
    {
        "AB", "AL", "B", "BA", "BB", "BD", "BF", "BH", "BL", "BN", "BR", "BS", "BT", "BX", "CA",
        "CB", "CF", "CH", "CM", "CO", "CR", "CT", "CV", "CW", "DA", "DD", "DE", "DG", "DH", "DL",
        "DN", "DT", "DY", "E", "EC", "EH", "EN", "EX", "FK", "FY", "G", "GL", "GU", "GY", "HA",
        "HD", "HG", "HP", "HR", "HS", "HU", "HX", "IG", "IM", "IP", "IV", "JE", "KA", "KT", "KW",
        "KY", "L", "LA", "LD", "LE", "LL", "LN", "LS", "LU", "M", "ME", "MK", "ML", "N", "NE",
        "NG", "NN", "NP", "NR", "NW", "OL", "OX", "PA", "PE", "PH", "PL", "PO", "PR", "RG", "RH",
        "RM", "S", "SA", "SE", "SG", "SK", "SL", "SM", "SN", "SO", "SP", "SR", "SS", "ST", "SW",
        "SY", "TA", "TD", "TF", "TN", "TQ", "TR", "TS", "TW", "UB", "W", "WA", "WC", "WD", "WF",
        "WN", "WR", "WS", "WV", "YO", "ZE",
    }
)
_MEMBERSHIP_NUMBER = re.compile(r"^[0-9]{7}$")

# Bidi overrides and isolates reorder what a reviewer sees; zero-width characters hide
# inside names so that two records look the same and differ. Neither belongs in a record.
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Anything clean_text or clean_line might refuse: a quick test lets bulk callers skip them.
SUSPECT_CHARACTERS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060\u2066-\u2069\ufeff]"
)
_LINE_BREAK = re.compile(r"[\t\n\r\u2028\u2029]")

# Replies to a question, not an answer to "which town?": a form that took "yes" as the town
# would store it. Compared after lower-casing and dropping punctuation.
CONVERSATION_WORDS = frozenset(
    {
        "yes", "y", "yeah", "yep", "yup", "yes please", "no", "n", "nope", "nah", "no thanks",
        "ok", "okay", "sure", "correct", "right", "wrong", "cancel", "stop", "quit", "exit",
        "help", "back", "skip", "undo", "restart", "start again", "menu", "agent", "human",
        "hi", "hello", "thanks", "thank you", "none", "na", "n a", "nothing", "same",
        "same as before", "idk", "dunno", "dont know", "not sure",
    }
)
_PLACE_NOUNS = {
    "address_line1": "the first line of an address",
    "address_line2": "a line of an address",
    "town": "a town or city",
    "employer": "an employer's name",
    "workplace": "a workplace",
}


def checked(normalise: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a normaliser inside a pydantic validator, its message becoming the 422's detail."""
    try:
        return normalise(*args, **kwargs)
    except InvalidValue as exc:
        raise PydanticCustomError("invalid_value", exc.message) from None


def normalise_postcode(raw: str, *, field: str = "postcode") -> str:
    """'bs14jq' -> 'BS1 4JQ'; a UK postcode in Royal Mail's format, or InvalidValue."""
    compact = re.sub(r"\s+", "", raw or "").upper()
    area = re.match(r"[A-Z]*", compact)
    if not _POSTCODE.match(compact) or (
        compact != "GIR0AA" and area is not None and area.group() not in POSTCODE_AREAS
    ):
        raise InvalidValue(
            "That doesn't look like a full UK postcode (for example BS1 4JQ).", field=field
        )
    return f"{compact[:-3]} {compact[-3:]}"


def normalise_membership_number(raw: str, *, field: str = "membership_number") -> str:
    """Membership numbers are exactly seven digits; spaces members type are dropped."""
    compact = re.sub(r"[\s-]+", "", raw or "")
    if not _MEMBERSHIP_NUMBER.match(compact):
        raise InvalidValue("A membership number is seven digits.", field=field)
    return compact


def _is_drama_number(number: phonenumbers.PhoneNumber) -> bool:
    # Ofcom keeps 07700 900000-900999 for fiction and examples; libphonenumber calls them
    # unallocated, but they are the numbers our demo data and documentation use.
    return number.country_code == 44 and 7700900000 <= number.national_number <= 7700900999


def normalise_phone(raw: str, *, field: str = "phone") -> str:
    """A phone number in E.164: '07700 900999' -> '+447700900999'; national means UK."""
    text = (raw or "").strip()
    try:
        number = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not (phonenumbers.is_valid_number(number) or _is_drama_number(number)):
        raise InvalidValue(
            "That doesn't look like a whole phone number: give it with the area code, or"
            " with + and the country code if it isn't a UK number.",
            field=field,
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str, *, field: str = "email") -> str:
    """A deliverable-looking address, domain lower-cased. No DNS look-up is made."""
    try:
        result = validate_email((raw or "").strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidValue(
            "That doesn't look like an email address (for example name@example.org).",
            field=field,
        ) from exc
    return result.normalized


def usable_email(raw: str) -> bool:
    """True when an email could be sent to `raw` (normalise_email accepts it)."""
    try:
        normalise_email(raw)
    except InvalidValue:
        return False
    return True


def parse_iso_date(raw: str, *, field: str) -> date:
    """YYYY-MM-DD, the form the import files and the API use."""
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError as exc:
        raise InvalidValue(f"{field} must be a date written YYYY-MM-DD.", field=field) from exc


CARD_MASK = "[card number removed]"
# A run of 13-19 digits, in groups split by a space, dash or dot, as card numbers are typed.
_CARD_CANDIDATE = re.compile(r"(?<![\d])\d(?:[ \-.]?\d){12,18}(?![\d])")


def luhn_valid(digits: str) -> bool:
    """True when `digits` passes the Luhn check every payment card number passes."""
    total = 0
    for index, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def mask_card_numbers(text: str) -> str:
    """`text` with every payment card number in it replaced by CARD_MASK.

    PCI DSS: a card number must never be stored. The member channels mask what members type
    (bot/safety.py); this catches what staff type into a note and what an integration sends,
    in every free-text field the records API stores. Membership numbers, phone numbers and
    references are too short, and a long number that fails the Luhn check is kept.
    """
    def masked(found: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", found.group())
        return CARD_MASK if 13 <= len(digits) <= 19 and luhn_valid(digits) else found.group()

    return _CARD_CANDIDATE.sub(masked, text)


# Unicode's control characters (general category Cc: C0, DEL and C1) are fixed by its
# stability policy, so the table is built once from the character database. A lone surrogate
# is not text at all: PostgreSQL and UTF-8 refuse it, so it becomes the replacement character.
_CONTROL_CHARACTERS = [c for c in range(0x100) if unicodedata.category(chr(c)) == "Cc"]
_SURROGATES = {c: "\ufffd" for c in range(0xD800, 0xE000)}
_OUTSIDE_TEXT = {**_SURROGATES, **{c: None for c in _CONTROL_CHARACTERS}}
_OUTSIDE_LINE = {**_OUTSIDE_TEXT, **{ord(c): " " for c in "\t\n\r"}}
_OUTSIDE_TEXT.update({ord("\t"): "\t", ord("\n"): "\n", ord("\r"): "\n"})


def without_control_characters(value: Any, *, keep_line_breaks: bool = True) -> Any:
    """`value` with control characters removed from every string in it (dicts and lists
    walked): for text from outside, such as an email's headers, that must be recorded rather
    than refused. Line breaks (as a line feed) and tabs are kept, or with
    `keep_line_breaks=False` (a header, which must stay on one line) turned into spaces; lone
    surrogates become U+FFFD."""
    table = _OUTSIDE_TEXT if keep_line_breaks else _OUTSIDE_LINE
    if isinstance(value, str):
        return value.replace("\r\n", "\n").translate(table)
    if isinstance(value, dict):
        return {
            without_control_characters(k, keep_line_breaks=keep_line_breaks):
            without_control_characters(v, keep_line_breaks=keep_line_breaks)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [without_control_characters(item, keep_line_breaks=keep_line_breaks)
                for item in value]
    return value


def clean_text(
    raw: str | None, *, field: str, max_length: int, required: bool = False
) -> str | None:
    """Trimmed text, NFC-normalised, card numbers masked; control, bidi and zero-width
    characters are refused."""
    value = unicodedata.normalize("NFC", (raw or "").strip())
    if not value:
        if required:
            raise InvalidValue(f"{field} is required.", field=field)
        return None
    if len(value) > max_length:
        raise InvalidValue(f"{field} is longer than {max_length} characters.", field=field)
    if _CONTROL.search(value):
        raise InvalidValue(f"{field} contains control characters.", field=field)
    if _INVISIBLE.search(value):
        raise InvalidValue(
            f"{field} contains invisible formatting characters (type it again without them).",
            field=field,
        )
    return mask_card_numbers(value)


def clean_line(
    raw: str | None, *, field: str, max_length: int, required: bool = False
) -> str | None:
    """clean_text for one-line values such as names: line breaks and tabs are refused too."""
    value = clean_text(raw, field=field, max_length=max_length, required=required)
    if value is not None and _LINE_BREAK.search(value):
        raise InvalidValue(f"{field} must be on one line.", field=field)
    return value


def is_conversation_word(value: str) -> bool:
    """True for 'yes', 'No.', 'cancel', 'help!' and the like: answers, not values."""
    words = re.sub(r"[^a-z0-9]+", " ", value.lower().replace("'", "")).strip()
    return words in CONVERSATION_WORDS


def clean_place(
    raw: str | None, *, field: str, max_length: int, required: bool = False
) -> str | None:
    """An address line, town, employer or workplace: a one-line name, never a reply word."""
    clean = clean_text if may_span_lines(field) else clean_line
    value = clean(raw, field=field, max_length=max_length, required=required)
    return None if value is None else check_place(value, field=field)


def may_span_lines(field: str) -> bool:
    """Address lines may hold a line break ("Flat 2<newline>The Old Mill", as CRMs export a
    block address); names, towns and employers may not."""
    return field.startswith("address_line")


def check_place(value: str, *, field: str) -> str:
    """The place-name rule alone, for callers that have already cleaned the text."""
    if is_conversation_word(value) or not any(c.isalnum() for c in value):
        noun = _PLACE_NOUNS.get(field, field.replace("_", " "))
        raise InvalidValue(f"That doesn't look like {noun}.", field=field)
    return value
