"""Reading what hurried members type: addresses, postcodes, phones, emails, dates, names."""

from __future__ import annotations

from datetime import date

import pytest

from actions import parsing
from actions.parsing import AddressParts
from actions.parsing.addresses import read_address

TODAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("typed", "asked", "parts"),
    [
        ("5 Queen Square, Bristol BS1 4JQ", "line1", ("5 Queen Square", "Bristol", "BS1 4JQ")),
        ("5 queen sq bristol", "line1", ("5 Queen Sq", "Bristol", None)),
        ("5 queen sq bristol bs14jq", "line1", ("5 Queen Sq", "Bristol", "BS1 4JQ")),
        ("flat 2, 10 high st, leeds ls1 4ab", "line1", ("Flat 2, 10 High St", "Leeds", "LS1 4AB")),
        ("22 park lane leeds ls2 9jt", "line1", ("22 Park Lane", "Leeds", "LS2 9JT")),
        ("5 st johns road leeds", "line1", ("5 St Johns Road", "Leeds", None)),
        ("its 5 mill lane york yo1 7hh thanks", "line1", ("5 Mill Lane", "York", "YO1 7HH")),
        (
            "Rose Cottage, Mill Lane, York, YO1 7HH",
            "line1",
            ("Rose Cottage, Mill Lane", "York", "YO1 7HH"),
        ),
        (
            "1 canal st\nstoke-on-trent\nst4 2aa",
            "line1",
            ("1 Canal St", "Stoke-on-Trent", "ST4 2AA"),
        ),
        # Typed with capitals, kept as typed; no town after the street, so none is guessed.
        ("9 Quay Street", "line1", ("9 Quay Street", None, None)),
        ("5 McDonald Rd", "line1", ("5 McDonald Rd", None, None)),
        ("Nottingham", "town", (None, "Nottingham", None)),
        ("newcastle upon tyne", "town", (None, "Newcastle upon Tyne", None)),
        ("leeds ls2 9jt", "postcode", (None, "Leeds", "LS2 9JT")),
        ("bs1 4jq", "postcode", (None, None, "BS1 4JQ")),
        ("BS2 OAA", "postcode", (None, None, "BS2 0AA")),
        (
            "I've moved to 5 Queen Square, Bristol bs14jq",
            None,
            ("5 Queen Square", "Bristol", "BS1 4JQ"),
        ),
        ("my new address is 22 park lane, leeds", None, ("22 Park Lane", "Leeds", None)),
        (
            "we moved house to 3 station road wakefield WF1 2AB",
            None,
            ("3 Station Road", "Wakefield", "WF1 2AB"),
        ),
    ],
)
def test_a_whole_address_is_split_into_its_parts(
    typed: str, asked: str | None, parts: tuple[str | None, ...]
) -> None:
    assert parsing.read_address(typed, asked=asked) == AddressParts(*parts)


@pytest.mark.parametrize(
    ("typed", "asked"),
    [
        ("yes", "town"),
        ("Yes!", "line1"),
        ("no", "town"),
        ("ok", "town"),
        ("dunno", "line1"),
        ("", "town"),
        ("   ", "line1"),
        ("I want to change my address", "town"),
        ("change address", "line1"),
        ("12", "town"),
        # The request alone holds no address: nothing is taken from it.
        ("I've moved house", None),
        ("I need to change my address", None),
        ("I've moved, can you update it", None),
    ],
)
def test_replies_and_requests_are_never_taken_as_an_address(typed: str, asked: str | None) -> None:
    assert parsing.read_address(typed, asked=asked) == AddressParts()


@pytest.mark.parametrize(
    ("typed", "postcode"),
    [
        ("bs14jq", "BS1 4JQ"),
        ("bs1 4jq", "BS1 4JQ"),
        (" BS1   4JQ ", "BS1 4JQ"),
        ("ec1a1bb", "EC1A 1BB"),
        ("w1a 0ax", "W1A 0AX"),
        ("m14 5tq", "M14 5TQ"),
        ("sw1a 2aa", "SW1A 2AA"),
        ("cr2 6xh", "CR2 6XH"),
        ("dn55 1pt", "DN55 1PT"),
        ("my postcode is ls1 4ab thanks", "LS1 4AB"),
    ],
)
def test_postcodes_are_found_and_normalised(typed: str, postcode: str) -> None:
    assert parsing.postcode(typed) == postcode


@pytest.mark.parametrize(
    "typed",
    [
        "ZZ1 1ZZ",  # no such area
        "QQ1 1AA",  # Q never starts a postcode
        "LS1 4AC",  # C is not a unit letter
        "LS1 4IA",  # nor I
        "LS1",  # outward code only
        "BS1 4J",  # inward code cut short
        "1000001",
        "14/03/1985",
        "yes",
    ],
)
def test_things_shaped_almost_like_postcodes_are_refused(typed: str) -> None:
    assert parsing.postcode(typed) is None


@pytest.mark.parametrize(
    ("typed", "stored", "shown"),
    [
        ("07700 900999", "+447700900999", "07700 900999"),
        ("07700900999", "+447700900999", "07700 900999"),
        ("my new phone number is 07700 900999", "+447700900999", "07700 900999"),
        ("+44 7700 900777", "+447700900777", "07700 900777"),
        ("+44 (0)7700 900777", "+447700900777", "07700 900777"),
        ("0044 113 496 0000", "+441134960000", "0113 496 0000"),
        ("call me on 0113-496-0000 thanks", "+441134960000", "0113 496 0000"),
        ("my mobile is 07911 123 456!", "+447911123456", "07911 123456"),
        ("+33 1 42 68 53 00", "+33142685300", "+33 1 42 68 53 00"),
    ],
)
def test_phone_numbers_are_stored_in_e164_and_shown_the_national_way(
    typed: str, stored: str, shown: str
) -> None:
    assert parsing.phone(typed) == stored
    assert parsing.phone_for_display(stored) == shown


@pytest.mark.parametrize("typed", ["079111234", "1000001", "14/03/1985", "0800", "call me maybe"])
def test_a_number_too_short_or_not_a_phone_is_refused(typed: str) -> None:
    assert parsing.phone(typed) is None


@pytest.mark.parametrize(
    ("typed", "address"),
    [
        ("Tom.Fletcher@Example.org ", "Tom.Fletcher@example.org"),
        ("email me at jo@EXAMPLE.co.uk.", "jo@example.co.uk"),
        ("new email: priya.shah+union@gmail.com thanks", "priya.shah+union@gmail.com"),
    ],
)
def test_email_addresses_are_read_with_their_domain_lower_cased(typed: str, address: str) -> None:
    assert parsing.email(typed) == address


@pytest.mark.parametrize("typed", ["bad@@example.org", "jo@localhost", "jo@example", "no email"])
def test_things_that_are_not_email_addresses_are_refused(typed: str) -> None:
    assert parsing.email(typed) is None


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("14/03/1985", date(1985, 3, 14)),
        ("14-3-85", date(1985, 3, 14)),
        ("14.03.1985", date(1985, 3, 14)),
        ("14 March 85", date(1985, 3, 14)),
        ("14th of march 1985", date(1985, 3, 14)),
        ("March 14th 1985", date(1985, 3, 14)),
        ("14 mar 85", date(1985, 3, 14)),
        ("1985-03-14", date(1985, 3, 14)),
        ("1985/3/14", date(1985, 3, 14)),
        ("14031985", date(1985, 3, 14)),
        ("05/05/95", date(1995, 5, 5)),
        ("03/02/2001", date(2001, 2, 3)),  # day first, as in the UK
        ("born on 5th may 95 thanks", date(1995, 5, 5)),
        ("14/03/05", date(2005, 3, 14)),
        ("14/03/30", date(1930, 3, 14)),  # a two-digit year is never in the future
    ],
)
def test_dates_are_read_day_first_in_every_common_british_form(typed: str, day: date) -> None:
    assert parsing.parse_date(typed, today=TODAY) == day


@pytest.mark.parametrize(
    "typed", ["LS1 4AB", "1000001", "14 March", "March 1985", "31/02/1985", "yes", "14/13/1985"]
)
def test_a_postcode_a_number_or_half_a_date_is_never_a_date(typed: str) -> None:
    assert parsing.parse_date(typed, today=TODAY) is None


@pytest.mark.parametrize(
    ("typed", "stated"),
    [
        ("I got married and my surname is now Clarke", ("name", "Clarke")),
        ("my name should be Jordan Whitfield please", ("name", "Jordan Whitfield")),
        ("change my title to Dr", ("title", "Dr")),
        ("my date of birth should be 14/03/1985", ("date_of_birth", "14/03/1985")),
        ("I got married and my surname has changed", None),
        ("my surname is wrong", None),
        ("I want to update my name", None),
    ],
)
def test_a_new_name_or_title_is_read_from_the_request_only_when_it_is_given(
    typed: str, stated: tuple[str, str] | None
) -> None:
    assert parsing.stated_detail(typed) == stated


@pytest.mark.parametrize(
    ("typed", "born"),
    [("14/03/1985", date(1985, 3, 14)), ("01/01/2030", None), ("12/12/1899", None)],
)
def test_a_date_of_birth_is_never_in_the_future_nor_before_1900(
    typed: str, born: date | None
) -> None:
    assert parsing.date_of_birth(typed, today=TODAY) == born


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi, I'm member 1000002, born 02/11/1979, postcode M14 5TQ. Why did my direct debit "
         "fail?", {"membership_number": "1000002", "date_of_birth": "1979-11-02",
                   "postcode": "M14 5TQ"}),
        ("1000002 02/11/1979 m145tq", {"membership_number": "1000002",
                                       "date_of_birth": "1979-11-02", "postcode": "M14 5TQ"}),
        ("100 0002, dob 2nd nov 79", {"membership_number": "1000002",
                                      "date_of_birth": "1979-11-02"}),
        # The new address's postcode, with no membership number: not the check's.
        ("I've moved to 5 Queen Square, Bristol BS1 4JQ", {}),
        ("my new postcode is BS1 4JQ", {}),
        ("my new phone number is 07700 900999", {}),
        ("what is this £29.90 payment on 12/11/2026", {}),
        # A start date is not a date of birth, even beside a membership number.
        ("1000002 retiring on 31/12/2026", {"membership_number": "1000002"}),
        ("sorry, I meant 1000004", {"membership_number": "1000004"}),
    ],
)
def test_the_identity_checks_answers_are_found_only_where_they_are_stated(
    text: str, expected: dict[str, str]
) -> None:
    assert parsing.identity_factors(text, today=date(2026, 12, 3)).as_slots() == expected


def test_the_request_keeps_its_own_values_once_the_identity_answers_are_taken_out() -> None:
    text = "member no 1000028 dob 11/01/1999 pc ne5 5nq - moved to 5 queen sq bristol bs14jq"

    left = parsing.without_identity(text)

    assert parsing.read_address(left).postcode == "BS1 4JQ"
    assert "1000028" not in left and "NE5" not in left.upper()


@pytest.mark.parametrize(
    ("said", "line1", "town", "postcode"),
    [
        ("can you update my address to 9 mill lane york yo1 7hh", "9 Mill Lane", "York",
         "YO1 7HH"),
        ("change of address please, its 5 mill lane, york, yo1 7hh", "5 Mill Lane", "York",
         "YO1 7HH"),
        ("please change my address, Flat 2, 7 High Street, Cardiff CF10 1EP",
         "Flat 2, 7 High Street", "Cardiff", "CF10 1EP"),
    ],
)
def test_the_requests_own_words_never_become_part_of_the_address(
    said: str, line1: str, town: str, postcode: str
) -> None:
    assert read_address(said) == AddressParts(line1=line1, town=town, postcode=postcode)


@pytest.mark.parametrize(
    ("said", "value"),
    [
        ("please change my last name back to Doherty", "Doherty"),
        ("I got married so my surname is now Nakamura. My membership number is 1000195.",
         "Nakamura"),
        ("my surname changed back to Okoye, thanks", "Okoye"),
    ],
)
def test_a_stated_name_ends_with_its_sentence(said: str, value: str) -> None:
    assert parsing.stated_detail(said) == ("name", value)


@pytest.mark.parametrize(
    ("said", "reason"),
    [
        ("i want to resign, i've left the profession", "i've left the profession"),
        ("cancel my membership because its too expensive", "its too expensive"),
        ("i want to leave the union - moving abroad", "moving abroad"),
        ("please cancel my membership", None),
        ("cancel it please, thanks", None),
    ],
)
def test_the_reason_said_with_a_resignation_is_kept(said: str, reason: str | None) -> None:
    from actions.membership import reason_in_request

    assert reason_in_request(said) == reason


@pytest.mark.parametrize(
    ("said", "named"),
    [
        ("I'm now Mrs Gallagher", "Mrs Gallagher"),
        ("got married last month so im mrs o'neill now", "Mrs o'neill"),
        ("it's Dr Sarah Ahmed now, please update it", "Dr Sarah Ahmed"),
        ("I am now Ms. Okafor-Reid since the divorce", "Ms Okafor-Reid"),
        # A title with no name after it, or a name with no title, is not both at once.
        ("I'm now a Dr", None),
        ("I'm Gallagher now", None),
        ("my surname is wrong", None),
    ],
)
def test_a_title_and_a_name_said_together_are_read_as_one_new_name(
    said: str, named: str | None
) -> None:
    assert parsing.stated_title_and_name(said) == named


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("Mrs Gallagher", ("Mrs", "Gallagher")),
        ("dr. Sarah Ahmed", ("Dr", "Sarah Ahmed")),
        ("Gallagher", (None, "Gallagher")),
        # "Mrs" alone is a title, not a title and a name.
        ("Mrs", (None, "Mrs")),
    ],
)
def test_a_title_is_split_off_the_front_of_a_name(
    name: str, split: tuple[str | None, str]
) -> None:
    assert parsing.split_title(name) == split


@pytest.mark.parametrize(
    ("said", "employer"),
    [
        ("ive started working for bristol city council", "bristol city council"),
        ("got a new job with Leeds City Council as a librarian", "Leeds City Council"),
        ("I now work for North Bristol NHS Trust at Southmead Hospital.",
         "North Bristol NHS Trust at Southmead Hospital"),
        ("my employer is now Kent County Council, thanks", "Kent County Council"),
        ("i joined the University of Leeds last week", "the University of Leeds"),
        # Said to be new, but not named: the form asks.
        ("i moved to a new employer", None),
        ("I have changed employer", None),
        ("working for myself now", None),
        ("started a new job", None),
    ],
)
def test_the_employer_named_in_a_request_is_read_up_to_what_is_said_after_it(
    said: str, employer: str | None
) -> None:
    assert parsing.stated_employer(said) == employer


@pytest.mark.parametrize(
    ("answer", "splits"),
    [
        ("Bristol City Council at Bristol Civic Centre",
         [("Bristol City Council", "Bristol Civic Centre")]),
        ("bristol city council, at the central library",
         [("bristol city council", "central library")]),
        ("Leeds City Council - Highways Depot", [("Leeds City Council", "Highways Depot")]),
        ("Leeds Teaching Hospitals NHS Trust", []),
    ],
)
def test_an_answer_may_be_an_employer_then_a_workplace(
    answer: str, splits: list[tuple[str, str]]
) -> None:
    assert parsing.employer_and_workplace(answer) == splits


@pytest.mark.parametrize(("typed", "written"), [
    ("paul brennan", "Paul Brennan"),
    ("Paul brennan", "Paul Brennan"),
    ("o'brien", "O'Brien"),
    ("mcdonald", "McDonald"),
    ("smith-jones", "Smith-Jones"),
    ("SIOBHAN KELLY", "Siobhan Kelly"),
    # Typed with care: kept as typed.
    ("MacDonald", "MacDonald"),
    ("Ana de Souza", "Ana de Souza"),
    ("Ludwig van beethoven", "Ludwig van Beethoven"),
])
def test_a_name_typed_in_lower_case_is_written_as_a_record_holds_names(
        typed: str, written: str) -> None:
    from actions.parsing import as_on_a_record

    assert as_on_a_record(typed) == written


def test_a_new_name_is_sent_as_a_record_holds_it() -> None:
    from actions.personal_details import name_change

    assert name_change("Paul brennan") == {"first_name": "Paul", "last_name": "Brennan"}
    assert name_change("mrs gallagher") == {"title": "Mrs", "last_name": "Gallagher"}
