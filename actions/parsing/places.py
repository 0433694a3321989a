"""UK postcodes: found in what a member typed, checked against Royal Mail's format, normalised.

Our own pattern rather than a package: the postcode packages on PyPI either check only the
loose shape (any two letters, so "ZZ1 1ZZ" passes) or check membership of a bundled ONS
snapshot, which refuses new-build postcodes and some of our own demo ones. This checks what
Royal Mail fixes: the outward code's four forms with the letters each position may hold, a
postcode area in use, and an inward code of a digit and two of the twenty unit letters. It
accepts exactly what the records API accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OUTWARD_FORMS = (
    r"[A-PR-UWYZ][0-9][0-9]?",  # A9, A99
    r"[A-PR-UWYZ][A-HK-Y][0-9][0-9]?",  # AA9, AA99
    r"[A-PR-UWYZ][0-9][A-HJKPSTUW]",  # A9A
    r"[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]",  # AA9A
)
_OUTWARD = re.compile("|".join(f"(?:{form})" for form in _OUTWARD_FORMS))
_INWARD = re.compile(r"[0-9][ABD-HJLNP-UW-Z]{2}")
# Postcode areas in use (the ONS Postcode Directory's, with BFPO's BF and non-geographic BX).
AREAS = frozenset(
    [
        "AB", "AL", "B", "BA", "BB", "BD", "BF", "BH", "BL", "BN", "BR", "BS", "BT", "BX", "CA",
        "CB", "CF", "CH", "CM", "CO", "CR", "CT", "CV", "CW", "DA", "DD", "DE", "DG", "DH", "DL",
        "DN", "DT", "DY", "E", "EC", "EH", "EN", "EX", "FK", "FY", "G", "GL", "GU", "GY", "HA",
        "HD", "HG", "HP", "HR", "HS", "HU", "HX", "IG", "IM", "IP", "IV", "JE", "KA", "KT", "KW",
        "KY", "L", "LA", "LD", "LE", "LL", "LN", "LS", "LU", "M", "ME", "MK", "ML", "N", "NE", "NG",
        "NN", "NP", "NR", "NW", "OL", "OX", "PA", "PE", "PH", "PL", "PO", "PR", "RG", "RH", "RM",
        "S", "SA", "SE", "SG", "SK", "SL", "SM", "SN", "SO", "SP", "SR", "SS", "ST", "SW", "SY",
        "TA", "TD", "TF", "TN", "TQ", "TR", "TS", "TW", "UB", "W", "WA", "WC", "WD", "WF", "WN",
        "WR", "WS", "WV", "YO", "ZE",
    ]
)
# Anything shaped like a postcode, spaced or not; "O" is taken for a zero where the inward
# code's digit belongs, the slip members make most.
_CANDIDATE = re.compile(
    r"(?<![A-Z0-9])([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9O][A-Z]{2})(?![A-Z0-9])", re.I
)


@dataclass(frozen=True)
class FoundPostcode:
    """A postcode found in a message: its normalised form and where it was typed."""

    postcode: str
    start: int
    end: int


def normalise_postcode(raw: str) -> str | None:
    """'bs14jq' -> 'BS1 4JQ' when it is a UK postcode in Royal Mail's format, else None."""
    compact = re.sub(r"\s+", "", raw or "").upper()
    if compact == "GIR0AA":
        return "GIR 0AA"
    outward, inward = compact[:-3], compact[-3:]
    if inward[:1] == "O":
        inward = "0" + inward[1:]
    area = re.match(r"[A-Z]*", outward)
    if (
        not _OUTWARD.fullmatch(outward)
        or not _INWARD.fullmatch(inward)
        or area is None
        or area.group() not in AREAS
    ):
        return None
    return f"{outward} {inward}"


def find_postcodes(text: str) -> list[FoundPostcode]:
    """Every UK postcode in `text`, in the order typed."""
    found = []
    for m in _CANDIDATE.finditer(text or ""):
        if code := normalise_postcode(m[1] + m[2]):
            found.append(FoundPostcode(code, m.start(), m.end()))
    return found


def postcode(text: str) -> str | None:
    """The UK postcode in `text` (the last, when there are several), normalised to 'LS1 4AB'."""
    found = find_postcodes(text)
    return found[-1].postcode if found else None


def without_postcodes(text: str) -> str:
    """`text` with its postcodes blanked out, so nothing else mistakes them for its own."""
    for found in reversed(find_postcodes(text)):
        text = f"{text[: found.start]} {text[found.end :]}"
    return text
