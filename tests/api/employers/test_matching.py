"""The employer matcher, on the misspellings members really type."""

from __future__ import annotations

import pytest

from api.employers.matching import Choice, is_same_name, match_employment, normalise_name

KNOWN = {
    "Northshire NHS Trust": ["General Hospital", "St James's Hospital", "Community Services"],
    "Southshire NHS Trust": ["Royal Infirmary", "St James's Hospital"],
    "Leeds City Council": ["Civic Hall", "Merrion House"],
    "Northshire County Council": ["County Hall"],
    "University of Leeds": ["Main Campus"],
}


def test_case_punctuation_and_possessives_do_not_matter() -> None:
    assert normalise_name("St. James's Hospital") == ("st", "james", "hospital")
    assert is_same_name("saint james hospital", "St James's Hospital")
    assert is_same_name("st james’ hospital", "St James's Hospital")
    assert not is_same_name("st james hosp", "St James's Hospital")


@pytest.mark.parametrize(
    ("employer", "workplace", "expected_employer", "expected_workplace"),
    [
        ("NORTHSHIRE NHS TRUST", "general hospital", "Northshire NHS Trust", "General Hospital"),
        (
            "Northshire N.H.S. Trust",
            "St James Hospital",
            "Northshire NHS Trust",
            "St James's Hospital",
        ),
        ("north shire nhs trust", None, "Northshire NHS Trust", None),
        ("university of leeds", "main campus", "University of Leeds", "Main Campus"),
    ],
)
def test_the_same_name_written_differently_is_exact(
    employer: str, workplace: str | None, expected_employer: str, expected_workplace: str | None
) -> None:
    found = match_employment(employer=employer, workplace=workplace, known=KNOWN)

    assert (found.status, found.employer, found.workplace) == (
        "exact",
        expected_employer,
        expected_workplace,
    )


@pytest.mark.parametrize(
    ("employer", "workplace", "expected_employer", "expected_workplace"),
    [
        ("northshire nhs", None, "Northshire NHS Trust", None),  # a word left off
        ("Nothshire NHS trust", "genral hosp", "Northshire NHS Trust", "General Hospital"),
        ("northshrie nhs trust", "st james hosp", "Northshire NHS Trust", "St James's Hospital"),
        ("leeds council", "civic hall", "Leeds City Council", "Civic Hall"),
        ("Leeds City Council", "merion house", "Leeds City Council", "Merrion House"),
        ("leeds uni", None, "University of Leeds", None),
        (None, "royal infirmery", "Southshire NHS Trust", "Royal Infirmary"),
    ],
)
def test_small_misspellings_give_one_likely_match(
    employer: str | None,
    workplace: str | None,
    expected_employer: str,
    expected_workplace: str | None,
) -> None:
    found = match_employment(employer=employer, workplace=workplace, known=KNOWN)

    assert (found.status, found.employer, found.workplace) == (
        "likely",
        expected_employer,
        expected_workplace,
    )


def test_an_ambiguous_name_offers_choices_instead_of_guessing() -> None:
    found = match_employment(employer="northshire", workplace=None, known=KNOWN)

    assert found.status == "choices"
    assert found.employer is None
    assert [c.employer for c in found.choices][:2] == [
        "Northshire NHS Trust",
        "Northshire County Council",
    ]
    assert len(found.choices) <= 3


def test_a_workplace_two_employers_share_asks_which_employer() -> None:
    found = match_employment(employer=None, workplace="st james hosp", known=KNOWN)

    assert found.status == "choices"
    assert set(found.choices) == {
        Choice("Northshire NHS Trust", "St James's Hospital"),
        Choice("Southshire NHS Trust", "St James's Hospital"),
    }


def test_a_known_employer_with_a_misspelt_workplace_is_only_as_sure_as_the_workplace() -> None:
    found = match_employment(employer="Northshire NHS Trust", workplace="genral hosp", known=KNOWN)

    assert found.status == "likely"
    assert found.workplace == "General Hospital"


@pytest.mark.parametrize("employer", ["Tesco", "shire", "", "   "])
def test_names_we_do_not_have_match_nothing(employer: str) -> None:
    found = match_employment(employer=employer, workplace=None, known=KNOWN)

    assert found.status == "none"
    assert found.choices == ()


def test_an_unknown_workplace_at_a_known_employer_matches_nothing() -> None:
    found = match_employment(employer="Northshire NHS Trust", workplace="kitchen", known=KNOWN)

    assert found.status == "none"
    assert found.workplace is None
