"""A whole address typed in one message, split into the first line, the town and the postcode.

Members in a hurry type "5 queen sq bristol bs14jq" at the first question, or say it with their
request ("I've moved to 5 Queen Square, Bristol BS1 4JQ"). The postcode is found by its format;
commas, where there are any, separate the lines and the town; without commas the town is what
follows the street's own word ("Road", "Sq", "Lane"). Anything that cannot be placed with
confidence is left out, so the member is asked for it rather than having it guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from actions.parsing.answers import is_conversation_reply, mentions_a_request, tidy_text
from actions.parsing.places import find_postcodes

# Words that end a street's name. The last one in the message ends the street ("5 St Johns
# Road Leeds": Road, not St); words after it that can also end a street ("Park Lane View")
# still belong to it.
STREET_ENDINGS = frozenset(
    [
        "street", "st", "road", "rd", "lane", "ln", "avenue", "ave", "av", "square", "sq", "close",
        "cl", "drive", "dr", "way", "place", "pl", "crescent", "cres", "court", "ct", "gardens",
        "gdns", "grove", "gr", "terrace", "terr", "tce", "walk", "mews", "parade", "pde",
        "boulevard", "blvd",
    ]
)
STREET_TAILS = STREET_ENDINGS | frozenset(
    [
        "hill", "park", "green", "row", "rise", "view", "gate", "quay", "wharf", "yard", "bank",
        "vale", "north", "south", "east", "west",
    ]
)
# What members put before an address: "I've moved to", "my new address is", "it's".
_LEAD_IN = re.compile(
    r"^.*?\b(?:mov(?:ed|ing)|move)\b(?:\s+(?:house|home))?\s+(?:to|into|in)\b"
    r"|^.*?\baddress\b(?:\s+(?:is|will\s+be|now))*\s*(?::|\bis\b|\bnow\b)"
    r"|^.*?\b(?:live|living|be|am)\s+(?:now\s+)?at\b"
    r"|^\s*(?:it'?s|it\s+is|that'?s|at|to)\b",
    re.IGNORECASE,
)
# Where an address said inside a request starts: a house number or a flat ("can you update my
# address to 9 mill lane", "change of address please, its Flat 2, 5 Mill Lane").
_ADDRESS_START = re.compile(r"\b(?:(?:flat|apartment|apt|unit)\s+\w+|\d+[a-z]?)\b", re.I)
_FILLER_END = re.compile(r"[\s,.!]*\b(?:thanks?|thank\s+you|please|cheers|ta|now)\W*$", re.I)
# Small words that stay lower case in a place name: Stoke-on-Trent, Newcastle upon Tyne.
_SMALL_WORDS = {"on", "upon", "in", "under", "le", "la", "by", "the", "of", "and", "de"}
_TOWN_CHARACTERS = re.compile(r"[A-Za-z][A-Za-z .'&-]*")


@dataclass(frozen=True)
class AddressParts:
    """What could be read of an address; a part left as None is asked for."""

    line1: str | None = None
    town: str | None = None
    postcode: str | None = None


def _tidy_case(text: str) -> str:
    """'5 queen sq' -> '5 Queen Sq'; text typed in mixed case ('McDonald Rd') is left alone."""
    if text != text.lower() and text != text.upper():
        return text

    def word(piece: str, first: bool) -> str:
        if not first and piece.lower() in _SMALL_WORDS:
            return piece.lower()
        return piece[:1].upper() + piece[1:].lower()

    return " ".join(
        "-".join(word(part, i == 0 and j == 0) for j, part in enumerate(token.split("-")))
        for i, token in enumerate(text.split())
    )


def is_town(text: str) -> bool:
    """Could this be the name of a town or city (not 'yes', not a request, no digits)?"""
    town = tidy_text(text, max_length=60)
    return bool(
        town
        and _TOWN_CHARACTERS.fullmatch(town)
        and sum(ch.isalpha() for ch in town) >= 2
        and len(town.split()) <= 5
        and not is_conversation_reply(town)
        and not mentions_a_request(town)
    )


def is_address_line(text: str) -> bool:
    """Could this be the first line of an address (a number or a name, and a street)?"""
    line = tidy_text(text, max_length=200)
    return bool(
        line
        and sum(ch.isalpha() for ch in line) >= 2
        and not is_conversation_reply(line)
        and not (mentions_a_request(line) and not any(ch.isdigit() for ch in line))
    )


def _split_at_street(chunk: str) -> tuple[str, str | None]:
    """'5 queen sq bristol' -> ('5 queen sq', 'bristol'); no street word, no town."""
    words = chunk.split()
    endings = [i for i, w in enumerate(words) if w.lower().rstrip(".") in STREET_ENDINGS]
    if not endings or endings[-1] == 0:
        return chunk, None
    end = endings[-1]
    while end + 1 < len(words) - 1 and words[end + 1].lower() in STREET_TAILS:
        end += 1
    town = " ".join(words[end + 1 :])
    if not town or not is_town(town):
        return chunk, None
    return " ".join(words[: end + 1]), town


def read_address(text: str, *, asked: str | None = None) -> AddressParts:
    """The parts of an address in `text`.

    `asked` is the part the member was asked for ('line1', 'town' or 'postcode'), or None for
    the message that asked for the change, where only an address that is plainly there counts.
    """
    text = " ".join((text or "").replace("\n", ", ").split())
    found = find_postcodes(text)
    code = found[-1].postcode if found else None
    if found:
        text = text[: found[-1].start]
    lead_in = _LEAD_IN.match(text)
    if lead_in:
        text = text[lead_in.end() :]
    elif asked is None and (start := _ADDRESS_START.search(text)) and start.start() > 0:
        # The request's own words come before the address, in whatever form.
        lead_in = start
        text = text[start.start() :]
    text = _FILLER_END.sub("", text).strip(" ,.;:-")
    if asked is None and not (code or (lead_in and any(ch.isdigit() for ch in text))):
        return AddressParts(postcode=code)
    parts = [p.strip() for p in re.split(r"[,;]", text) if p.strip()]
    line1 = town = None
    if len(parts) >= 2 and is_town(parts[-1]):
        line1, town = ", ".join(parts[:-1]), parts[-1]
    elif (
        len(parts) == 1
        and asked in ("town", "postcode")
        and not any(ch.isdigit() for ch in parts[0])
    ):
        town = parts[0]
    elif parts:
        line1, town = _split_at_street(", ".join(parts))
    if town is not None and not is_town(town):
        town = None
    if line1 is not None and not is_address_line(line1):
        line1 = None
    return AddressParts(
        line1=_tidy_case(line1) if line1 else None,
        town=_tidy_case(town) if town else None,
        postcode=code,
    )
