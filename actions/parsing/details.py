"""The new name, title or date of birth a member states with their request.

"I got married and my surname is now Clarke" carries the value; "my surname has changed" does
not, and neither does "my surname is wrong". Only a value after words that give one ("is now",
"changed to", "should be") is taken, so a complaint about the record is never stored as a name.
"I'm now Mrs Gallagher" names no detail, but a title followed by a name after "I'm (now)" gives
both at once: the title and the name are then one change, read back with the title split off.
"""

from __future__ import annotations

import re

from nameparser import HumanName
from nameparser.config import CONSTANTS

# Longest first, so "date of birth" wins over "birth" and "first name" over "name".
DETAIL_WORDS = {
    "date of birth": "date_of_birth",
    "birthday": "date_of_birth",
    "dob": "date_of_birth",
    "first name": "name",
    "surname": "name",
    "last name": "name",
    "family name": "name",
    "maiden name": "name",
    "name": "name",
    "title": "title",
}
_GIVING = (
    r"(?:is\s+now|now|(?:has\s+)?changed\s+(?:back\s+)?to|change(?:d)?\s+it\s+(?:back\s+)?to|"
    r"back\s+to|to|should\s+(?:be|say|read)"
    r"|is\s+actually|is\s+spelt|is\s+spelled|became|becomes|will\s+be)"
)
TITLES = ("Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof", "Rev", "Sir", "Dame", "Lord", "Lady")
_WORDS = "|".join(re.escape(w) for w in sorted(DETAIL_WORDS, key=len, reverse=True))
_STATED = re.compile(rf"\b(?P<kind>{_WORDS})\b\s+{_GIVING}\s+(?P<value>.+)$", re.IGNORECASE)
_NOT_A_VALUE = re.compile(
    r"^(?:wrong|incorrect|different|changed|misspelt|misspelled|spelt wrong|not right|a mess)\b",
    re.IGNORECASE,
)


def detail_kind(text: str) -> str | None:
    """Which detail the text is about: 'name', 'title' or 'date_of_birth'."""
    lowered = (text or "").lower()
    for word in sorted(DETAIL_WORDS, key=len, reverse=True):
        if re.search(rf"\b{re.escape(word)}\b", lowered):
            return DETAIL_WORDS[word]
    return None


def stated_detail(text: str) -> tuple[str, str] | None:
    """(kind, what the member gave as the new value) when the request carries one."""
    m = _STATED.search(" ".join((text or "").split()))
    if not m:
        return None
    # The value ends with its sentence: "my surname is now Nakamura. My number is ..."
    value = re.split(r"[.;!?,](?:\s|$)", m["value"], maxsplit=1)[0]
    value = re.sub(
        r"[\s.!]+(?:thanks?|thank you|please|cheers)?[\s.!]*$", "", value, flags=re.I
    )
    if not value or _NOT_A_VALUE.match(value):
        return None
    return DETAIL_WORDS[m["kind"].lower()], value


_TITLE = "|".join(TITLES)
# "I'm now Mrs Gallagher", "it's Dr Sarah Ahmed now", "call me Ms Okafor from now on": a title
# and the name after it, said as who the member now is.
_NOW_CALLED = re.compile(
    r"\b(?:i'?m|i am|im|it'?s|it is|call me|i'?ll be|i will be|i'?ve become|i became|"
    r"(?:i'?m|i am|im) (?:now )?called|known as|now)\s+(?:now\s+)?"
    rf"(?P<title>{_TITLE})\.?\s+(?P<name>[a-z][a-z'-]*(?:\s+[a-z][a-z'-]*){{0,3}})",
    re.IGNORECASE,
)
# Words that end the name: "Mrs Gallagher now", "Mr Jones since I got married".
_AFTER_THE_NAME = frozenset({
    "now", "please", "pls", "thanks", "thank", "cheers", "since", "after", "from", "as", "and",
    "because", "cos", "coz", "so", "but", "not", "instead", "i", "im", "i'm", "we", "my", "on",
    "following", "by", "the", "if", "when", "then", "again",
})


def split_title(name: str) -> tuple[str | None, str]:
    """("Mrs", "Gallagher") from "mrs. Gallagher": a leading title, written as we keep it."""
    words = (name or "").split()
    if len(words) >= 2:
        title = next((t for t in TITLES if t.lower() == words[0].strip(".").lower()), None)
        if title:
            return title, " ".join(words[1:])
    return None, " ".join(words)


def stated_title_and_name(text: str) -> str | None:
    """"Mrs Gallagher" from "I'm now Mrs Gallagher": who the member says they now are."""
    m = _NOW_CALLED.search(" ".join((text or "").split()))
    if not m:
        return None
    name: list[str] = []
    for word in m["name"].split():
        if word.lower() in _AFTER_THE_NAME:
            break
        name.append(word)
    if not name:
        return None
    title = next(t for t in TITLES if t.lower() == m["title"].lower())
    return " ".join([title, *name])


def _capitalised(name: str) -> str:
    parsed = HumanName(name)
    parsed.capitalize(force=True)
    written = str(parsed)
    # Only the case may change, never the words.
    return written if written.lower().split() == name.lower().split() else name


def as_on_a_record(name: str) -> str:
    """A name typed in lower (or all in upper) case, written as a record holds names.

    Members type fast: "paul brennan", "Paul brennan", "o'brien", "SIOBHAN KELLY". The casing
    rules are nameparser's ("mcdonald" is "McDonald", "o'brien" "O'Brien"), and only the case
    ever changes. A name typed with care keeps its care: "MacDonald" as typed, and a
    surname's particle typed in lower case beside capitals ("Ana de Souza") stays so.
    """
    if name == name.lower() or name == name.upper():
        return _capitalised(name)
    return " ".join(word if not word.islower() or word in CONSTANTS.prefixes
                    else _capitalised(word) for word in name.split())
