"""The shared value rules: what a hurried member types, normalised or refused."""

from __future__ import annotations

import pytest

from api.errors import InvalidValue
from api.validation import (
    clean_line,
    clean_place,
    clean_text,
    normalise_email,
    normalise_phone,
    normalise_postcode,
)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("bs14jq", "BS1 4JQ"), (" ls2 9jt ", "LS2 9JT"), ("sw1a1aa", "SW1A 1AA"),
     ("ec1a 1bb", "EC1A 1BB"), ("gir0aa", "GIR 0AA"), ("m1  1ae", "M1 1AE")],
)
def test_postcodes_are_stored_in_royal_mail_form(typed: str, stored: str) -> None:
    assert normalise_postcode(typed) == stored


@pytest.mark.parametrize("typed", ["bs1", "yes", "", "LS1 4A", "QQ1 1AA", "XX1 1AA", "BS1 4JC",
                                   "12345", "BS1 4JQ X"])
def test_what_is_not_a_whole_uk_postcode_is_refused(typed: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        normalise_postcode(typed)
    assert refused.value.field == "postcode"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("07700 900999", "+447700900999"), ("+44 (0)113 496 0000", "+441134960000"),
     ("0044 20 7946 0018", "+442079460018"), ("+33 6 12 34 56 78", "+33612345678"),
     ("0113-496-0000", "+441134960000")],
)
def test_phone_numbers_are_stored_in_e164(typed: str, stored: str) -> None:
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize("typed", ["0770090", "12345", "yes", "+44 7700", "07700 900999 1",
                                   "+999 123456"])
def test_phone_numbers_that_cannot_be_dialled_are_refused(typed: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        normalise_phone(typed)
    assert refused.value.field == "phone"


@pytest.mark.parametrize("typed", ["bob@", "bob", "bob@example", "@example.org", "bob @x.org"])
def test_email_addresses_are_checked_by_syntax(typed: str) -> None:
    with pytest.raises(InvalidValue):
        normalise_email(typed)


@pytest.mark.parametrize(
    "hidden", ["\u200b", "\u200c", "\u200d", "\ufeff", "\u202a", "\u202e", "\u2066", "\u2069"]
)
def test_invisible_and_bidi_characters_are_refused_in_free_text(hidden: str) -> None:
    for clean in (clean_text, clean_line, clean_place):
        with pytest.raises(InvalidValue) as refused:
            clean(f"Sa{hidden}m", field="first_name", max_length=100)
        assert refused.value.field == "first_name"


def test_a_name_is_one_line_but_a_note_may_have_several() -> None:
    assert clean_text("line one\nline two", field="note", max_length=100) == "line one\nline two"
    with pytest.raises(InvalidValue):
        clean_line("Sam\nTaylor", field="last_name", max_length=100)
    with pytest.raises(InvalidValue):
        clean_text("Sam\x07", field="note", max_length=100)


@pytest.mark.parametrize("typed", ["yes", "No.", "CANCEL", "help!", "ok", "Nope", "n/a", "?"])
def test_reply_words_are_not_towns_or_address_lines(typed: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        clean_place(typed, field="town", max_length=100)
    assert refused.value.field == "town"


@pytest.mark.parametrize("typed", ["Leeds", "Hope", "Yes Tor Cottage", "No. 5 The Mews", "Ayr"])
def test_real_places_that_start_like_reply_words_are_kept(typed: str) -> None:
    assert clean_place(typed, field="town", max_length=100) == typed
