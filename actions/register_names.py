"""Employer and workplace names checked against the register, never swapped without a yes.

Employment decides ballot constituencies: "Leeds Teaching Hospitals NHS Trust" silently taken
as "Harrogate Teaching Hospitals NHS Trust" would move a member from one ballot to another. So
a name the register holds as written is taken; a close one is offered back ("Did you mean
...?") with the member's own words as the other choice; a name the register does not know at
all is recorded as new, for the data team to check before it counts for any ballot (the
records API holds it back: api/employers/service.py).

The member answers the offer by button or in words: "yes", the offered name, "no", "no, it's
new", or another name, which is looked up afresh.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker

from actions.answers import Reading, read_answer

# The button that keeps the member's own words: "No, it's Leeds Teaching Hospitals NHS Trust".
_KEEP_PREFIX = "No, it's "
_KEEP = re.compile(r"^\s*no\W*(?:it'?s|it is)\s+(?P<name>.+)$", re.IGNORECASE)
_NONE_OF_THESE = re.compile(r"\b(none of (?:these|them|those)|(?:it'?s|it is) (?:a )?new"
                            r"(?: one)?\W*$|not listed|not on (?:the|your) list|neither)",
                            re.IGNORECASE)


@dataclass(frozen=True)
class Offer:
    """What the last "Did you mean ...?" offered: register names, and the member's own."""

    names: tuple[str, ...]
    typed: str | None


def offer_buttons(names: list[str], typed: str) -> list[dict[str, str]]:
    """The register's names, then the member's own words as a new name."""
    buttons = [{"title": name, "payload": name} for name in names[:5]]
    return [*buttons, {"title": f"{_KEEP_PREFIX}{typed}", "payload": f"{_KEEP_PREFIX}{typed}"}]


def last_offer(tracker: Tracker) -> Offer | None:
    """The offer the assistant made in its reply to the member's previous message, if any."""
    messages_back = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            messages_back += 1
            if messages_back > 1:
                return None
            continue
        if event.get("event") != "bot":
            continue
        buttons = (event.get("data") or {}).get("buttons") or []
        titles = [str(button.get("title") or "") for button in buttons]
        typed = next((t[len(_KEEP_PREFIX):] for t in titles if t.startswith(_KEEP_PREFIX)), None)
        if typed is not None:
            return Offer(tuple(t for t in titles if not t.startswith(_KEEP_PREFIX)), typed)
    return None


@dataclass(frozen=True)
class Answer:
    """The member's answer to an offer: a register name, their own new name, or a new try."""

    register_name: str | None = None
    new_name: str | None = None
    look_up: str | None = None


def read_offer_answer(text: str, intent: str | None, offer: Offer) -> Answer:
    """What the member chose, given what was offered."""
    said = " ".join((text or "").split())
    for name in offer.names:
        if said.casefold() == name.casefold():
            return Answer(register_name=name)
    # "no, it's new" keeps what they typed; "no, it's Harrogate and District" names it again.
    if _NONE_OF_THESE.search(said) and offer.typed:
        return Answer(new_name=offer.typed)
    if kept := _KEEP.match(said):
        return Answer(new_name=kept["name"].strip(" .!"))
    reading = read_answer(said, intent)
    if reading is Reading.YES and len(offer.names) == 1:
        return Answer(register_name=offer.names[0])
    if reading is Reading.NO and offer.typed:
        return Answer(new_name=offer.typed)
    return Answer(look_up=said)


def new_name_notice(name: str) -> str:
    """What the member is told when their own name is kept as new to the register."""
    return (f"Thanks. {name} isn't on our list yet, so I'll record it as new; our data team "
            "will check it before it counts for any ballot.")


def names_of(choices: list[dict[str, Any]], key: str) -> list[str]:
    """The distinct register names among the API's choices, in its order."""
    names: list[str] = []
    for choice in choices:
        name = choice.get(key)
        if name and name not in names:
            names.append(name)
    return names
