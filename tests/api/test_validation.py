"""The shared value rules: what a hurried member types, normalised or refused."""

from __future__ import annotations

import pytest

from api.errors import InvalidValue
from api.validation import (
    clean_line,
    clean_place,
    clean_text,
    normalise_phone,
    normalise_postcode,
)


@pytest.mark.parametrize("typed", ["QQ1 1AA", "XX1 1AA", "V1 1AA", "ZZ9 9ZZ", "BSX1 4JQ"])
def test_a_postcode_outside_the_uk_postcode_areas_is_refused(typed: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        normalise_postcode(typed)
    assert refused.value.field == "postcode"
    assert "BS1 4JQ" in refused.value.message


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("07700 900999", "+447700900999"), ("+44 (0)113 496 0000", "+441134960000"),
     ("0044 20 7946 0018", "+442079460018"), ("+33 6 12 34 56 78", "+33612345678"),
     ("0113-496-0000", "+441134960000")],
)
def test_phone_numbers_are_stored_in_e164(typed: str, stored: str) -> None:
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize("typed", ["0111 111 1111", "01000 000000", "09999 999999",
                                   "01134 96000"])
def test_phone_numbers_of_the_right_length_that_are_not_in_use_are_refused(typed: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        normalise_phone(typed)
    assert refused.value.field == "phone"


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
