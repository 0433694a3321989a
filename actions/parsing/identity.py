"""The identity check's three answers, found anywhere in a message with whatever else it says.

"hi, I'm member 1000002, born 02/11/1979, postcode M14 5TQ. Why did my direct debit fail?"
holds all three; the check should take them in one turn and ask for none of them again. Each
factor is taken only when the message says it is one, or cannot mean anything else:

- the membership number: the one seven-digit number;
- the date of birth: a whole date after "born", "dob", "date of birth" or "birthday", or the one
  date in a message that also gives a membership number, when it is 16 to 110 years ago;
- the postcode: one after "postcode" (not "new postcode"), or, beside a membership number, the
  first postcode of the message. A postcode with an address change and no membership number
  is the NEW address's, never taken for the check.

The spans found are returned too, so the request's own values (a new address, say) are read
from the rest of the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from actions.parsing.dates import date_of_birth
from actions.parsing.places import find_postcodes

_NUMBER = re.compile(r"(?<![\d£./-])(\d{7})(?![\d./-])")
# Typed in two groups ("100 0002", "1000-002"), when no plain one is there.
_SPACED_NUMBER = re.compile(r"(?<![\d£./-])(\d{3,4}[ -]\d{3,4})(?![\d./-])")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATES = re.compile(
    "|".join((
        r"(?<!\d)\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})(?!\d)",
        rf"(?<!\d)\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(?:\d{{4}}|\d{{2}})(?!\d)",
        rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:\d{{4}}|\d{{2}})(?!\d)",
        r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)",
    )),
    re.IGNORECASE,
)
_BIRTH_LABEL = re.compile(r"\b(?:born|dob|d\.o\.b\.?|date of birth|birth ?day|bday|b'day)\b",
                          re.IGNORECASE)
_POSTCODE_LABEL = re.compile(r"\b(?:post ?code|pc)\b", re.IGNORECASE)
_NEW = re.compile(r"\bnew\b", re.IGNORECASE)
# How far before a value its label may be ("born on the 2nd of ...", "postcode is ...").
_LABEL_REACH = 25
MIN_AGE, MAX_AGE = 16, 110


@dataclass
class Factors:
    """The identity factors found, ISO date of birth, and where each was typed."""

    membership_number: str | None = None
    date_of_birth: str | None = None
    postcode: str | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)

    def as_slots(self) -> dict[str, str]:
        return {
            name: value
            for name, value in (("membership_number", self.membership_number),
                                ("date_of_birth", self.date_of_birth),
                                ("postcode", self.postcode))
            if value
        }


def _labelled(text: str, start: int, label: re.Pattern[str]) -> bool:
    before = text[max(0, start - _LABEL_REACH):start]
    found = list(label.finditer(before))
    return bool(found) and not _NEW.search(before[max(0, found[-1].start() - 12):])


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def identity_factors(text: str, *, today: date | None = None) -> Factors:
    """The factors `text` states (see the module's docstring for when each counts)."""
    today = today or date.today()
    text = text or ""
    factors = Factors()
    numbers = list(_NUMBER.finditer(text)) or [
        m for m in _SPACED_NUMBER.finditer(text) if len(re.sub(r"\D", "", m[1])) == 7
    ]
    if len(numbers) == 1:
        factors.membership_number = re.sub(r"\D", "", numbers[0][1])
        factors.spans.append(numbers[0].span(1))
    dates = []
    for m in _DATES.finditer(text):
        born = date_of_birth(m.group(), today=today)
        if born is not None:
            dates.append((m, born))
    labelled = [(m, born) for m, born in dates if _labelled(text, m.start(), _BIRTH_LABEL)]
    plausible = [(m, born) for m, born in dates if MIN_AGE <= _age(born, today) <= MAX_AGE]
    chosen = labelled[:1] or (plausible if len(plausible) == 1 and factors.membership_number
                              else [])
    if chosen:
        factors.date_of_birth = chosen[0][1].isoformat()
        factors.spans.append(chosen[0][0].span())
    postcodes = find_postcodes(text)
    named = [p for p in postcodes if _labelled(text, p.start, _POSTCODE_LABEL)]
    code = named[:1] or (postcodes[:1] if factors.membership_number else [])
    if code:
        factors.postcode = code[0].postcode
        factors.spans.append((code[0].start, code[0].end))
    return factors


def without_identity(text: str) -> str:
    """`text` with the identity factors it states blanked out (the request's values remain)."""
    for start, end in sorted(identity_factors(text).spans, reverse=True):
        text = f"{text[:start]} {text[end:]}"
    return text
