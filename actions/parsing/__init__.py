"""Reading the values members type in chat: numbers, dates, postcodes, addresses, contacts.

The assistant does its own reading rather than trusting an entity extractor, so a value is
understood the same way whatever the NLU model thought of the sentence around it. Where a
well-kept package knows the format (phonenumbers, email-validator, python-dateutil) it does
the reading, behind checks of our own; each module says which. Nothing here touches the
network or the records API.
"""

from __future__ import annotations

from actions.parsing.addresses import AddressParts, is_address_line, is_town, read_address
from actions.parsing.answers import is_conversation_reply, mentions_a_request, tidy_text
from actions.parsing.contacts import email, phone, phone_for_display
from actions.parsing.dates import date_of_birth, parse_date
from actions.parsing.details import (
    TITLES,
    as_on_a_record,
    detail_kind,
    split_title,
    stated_detail,
    stated_title_and_name,
)
from actions.parsing.employment import employer_and_workplace, stated_employer
from actions.parsing.identity import Factors, identity_factors, without_identity
from actions.parsing.numbers import amount, membership_number
from actions.parsing.places import normalise_postcode, postcode

__all__ = [
    "TITLES",
    "AddressParts",
    "Factors",
    "amount",
    "as_on_a_record",
    "date_of_birth",
    "detail_kind",
    "email",
    "employer_and_workplace",
    "identity_factors",
    "is_address_line",
    "is_conversation_reply",
    "is_town",
    "membership_number",
    "mentions_a_request",
    "normalise_postcode",
    "parse_date",
    "phone",
    "phone_for_display",
    "postcode",
    "read_address",
    "split_title",
    "stated_detail",
    "stated_employer",
    "stated_title_and_name",
    "tidy_text",
    "without_identity",
]
