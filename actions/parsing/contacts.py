"""Phone numbers and email addresses in what a member typed.

Phones go through `phonenumbers` (Google's libphonenumber) and are stored in E.164
('+447700900999'), the form the records API keeps; members are shown them the national way
('07700 900999'). Email addresses go through `email-validator` for their syntax only: no DNS
look-up, so a conversation never waits on the network.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

# Something with an @ in it; email-validator decides whether it is an address.
_EMAIL_LIKE = re.compile(r"[^\s<>(),;:\"]+@[^\s<>(),;:\"]+")


def _is_drama_number(number: phonenumbers.PhoneNumber) -> bool:
    # Ofcom keeps 07700 900000-900999 for drama and examples. libphonenumber calls them
    # unallocated; our demo data, documentation and tests use them, as the records API allows.
    return number.country_code == 44 and 7700900000 <= number.national_number <= 7700900999


def phone(text: str) -> str | None:
    """The phone number in `text`, in E.164 ('+447700900999'); a number without +44 is UK."""
    for match in phonenumbers.PhoneNumberMatcher(
        text or "", "GB", leniency=phonenumbers.Leniency.POSSIBLE
    ):
        number = match.number
        if phonenumbers.is_valid_number(number) or _is_drama_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def phone_for_display(e164: str) -> str:
    """'+447700900999' -> '07700 900999' (UK numbers the national way, others international)."""
    try:
        number = phonenumbers.parse(e164, "GB")
    except phonenumbers.NumberParseException:
        return e164
    if _is_drama_number(number):
        digits = f"0{number.national_number}"
        return f"{digits[:5]} {digits[5:]}"
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 44
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def email(text: str) -> str | None:
    """The email address in `text`, with its domain lower-cased, if it is a valid address."""
    for candidate in _EMAIL_LIKE.findall(text or ""):
        try:
            checked = validate_email(candidate.rstrip(".!?"), check_deliverability=False)
        except EmailNotValidError:
            continue
        return str(checked.normalized)
    return None
