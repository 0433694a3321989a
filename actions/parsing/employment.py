"""The employer (and workplace) a member names, in a request or in one answer.

"I've started working for Bristol City Council" names the employer the employment form is
about to ask for; "Bristol City Council, at the Civic Centre" answers its first two questions
at once. This only finds the words: whether they are a register name is for the register to
say (actions.register_names), so a phrase that names no employer ("working for a new trust",
"working for myself") is refused here, and anything else is checked there before it is taken.
"""

from __future__ import annotations

import re

# Words after which a request names the new employer.
_EMPLOYED_BY = re.compile(
    r"\b(?:work(?:ing|s|ed)?|job|started|starting|start|employed|moved|moving|transferred|"
    r"contract)\s+(?:now\s+)?(?:for|with|by|at|to)\s+(?P<employer>.+)$"
    r"|\bemployer\s+(?:is\s+(?:now\s+)?|now\s+(?:is\s+)?)(?P<named>.+)$"
    r"|\b(?:joined|joining)\s+(?P<joined>.+)$",
    re.IGNORECASE,
)
# Where the employer's name stops: the end of its sentence, or what is said about it next
# ("... as a librarian", "... since Monday", "... and need to update my details").
_ENDS = re.compile(
    r"[.;!?](?:\s|$)|\s+(?:as(?: an?)?|since|from|starting|last|next|this|on|in(?! the)|"
    r"and|but|so|because|cos|now|please|pls|thanks|thank you|can|could|would|will|do|does|"
    r"how|what|is|are|was|were|i|i'?m|i'?ve|my)\b",
    re.IGNORECASE,
)
# Words that say there is a new employer without naming it.
_NOT_A_NAME = re.compile(
    r"^(?:an?|another|some|my|our|your|their|myself|me|someone|somebody|somewhere|"
    r"the same|the new|different|new|them|it|this|that|here|there)\b",
    re.IGNORECASE,
)
# Where an answer naming both stops being the employer: "Bristol City Council at the Civic
# Centre", "Bristol City Council, Civic Centre", "Bristol City Council - Civic Centre".
_BETWEEN = re.compile(
    r"\s+(?:based\s+|working\s+)?at\s+(?:the\s+)?|\s*[,;]\s*(?:(?:based\s+)?at\s+(?:the\s+)?)?"
    r"|\s+-+\s+|\s+in\s+the\s+",
    re.IGNORECASE,
)


def _tidy(name: str) -> str:
    return " ".join(name.split()).strip(" ,.-!")


def stated_employer(text: str) -> str | None:
    """The employer a request names ("I've started working for Bristol City Council"), with
    any workplace said after it; None when the request names none."""
    found = _EMPLOYED_BY.search(" ".join((text or "").split()))
    if not found:
        return None
    said = found["employer"] or found["named"] or found["joined"]
    named = _tidy(_ENDS.split(said, maxsplit=1)[0])
    if not named or _NOT_A_NAME.match(named) or len(named) > 200:
        return None
    return named


def employer_and_workplace(text: str) -> list[tuple[str, str]]:
    """Every way `text` may be an employer followed by a workplace, the split nearest the start
    first; none when there is nothing on one side."""
    said = " ".join((text or "").split())
    splits = []
    for between in _BETWEEN.finditer(said):
        employer, workplace = _tidy(said[: between.start()]), _tidy(said[between.end():])
        if employer and workplace:
            splits.append((employer, workplace))
    return splits
