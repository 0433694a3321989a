"""Changes that wait for the member's "yes": the question, corrections, and every other answer.

A change to an address, contact details, employment, or a resignation is read back and waits
for a yes. From that question until a clear answer, `pending_change` names the change (the
goal's intent), and whatever the member says lands in `action_answer_pending_change`: a
question gets the values again, a correction changes the value and asks again, a half-yes gets
a question that cannot be misread. So a pending change is never dropped by an answer nobody
expected. This module never makes the change: the goal's own submit action does, on a clear yes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import parsing
from actions.answers import Reading, read_answer
from actions.escalation import escalate

Values = dict[str, Any]

NOTHING_CHANGED = "OK, I haven't changed anything. Is there anything else I can help with?"
STOPPED = (
    "OK, I've stopped there and nothing has been changed. Is there anything else I can help with?"
)
# Two answers in a row that were neither yes nor no: a person is better placed to help.
MISSES_BEFORE_A_PERSON = 2
# The slots a confirmation keeps while it waits, cleared once the change is made or dropped.
DONE = ("pending_change", "confirmation_misses")
YES_NO = [{"title": "Yes", "payload": "yes"}, {"title": "No", "payload": "no"}]


@dataclass(frozen=True)
class Confirmation:
    """How one kind of change is read back and confirmed."""

    intent: str
    # The slots holding the change (cleared once it is made or dropped).
    slots: tuple[str, ...]
    question: Callable[[Values], str]
    # "update your address to ...": what a clarifying "Just to be sure: shall I ...?" asks.
    doing: Callable[[Values], str]
    buttons: list[dict[str, str]] = field(default_factory=lambda: YES_NO)
    # Values a member may correct at the question, read from their message.
    corrections: Callable[[str, Values], Values] = lambda text, values: {}
    hint: str = ""
    # Words that may ask for the change or for stopping it (see answers.read_answer).
    ambiguous_words: re.Pattern[str] | None = None


def _address_question(v: Values) -> str:
    return (
        f"Your new address would be:\n{v['new_address_line1']}\n{v['new_town']}\n"
        f"{v['new_postcode']}\nShall I update your record?"
    )


def _typed_value(match: re.Match[str] | None, *, max_length: int) -> str | None:
    if not match:
        return None
    value = parsing.tidy_text(match[1].strip(" ,.!"), max_length=max_length)
    if value and value.islower():
        value = value.title()  # "cardiff" typed in a hurry is Cardiff on an envelope
    return value


_UNTIL = r"(?=\s*(?:[,.!?]|$|\band\b|\bnot\b|\bbut\b|\bplease\b|\bthanks\b))"
_TOWN = re.compile(
    rf"\b(?:town|city)\s+(?:is|should be|should say|=|:)\s+([a-z][a-z' .-]*?){_UNTIL}", re.I
)
_LINE1 = re.compile(
    rf"\b(?:first line|address line(?: 1| one)?|line (?:1|one)|street|house number)"
    rf"\s+(?:is|should be|should say|=|:)\s+(.+?){_UNTIL}",
    re.I,
)


def _address_corrections(text: str, values: Values) -> Values:
    found: Values = {
        "new_postcode": parsing.postcode(text),
        "new_town": _typed_value(_TOWN.search(text), max_length=100),
        "new_address_line1": _typed_value(_LINE1.search(text), max_length=200),
    }
    return {k: v for k, v in found.items() if v and v != values.get(k)}


def _contact_kind(v: Values) -> str:
    return "email address" if v.get("new_email") else "phone number"


def _contact_corrections(text: str, values: Values) -> Values:
    if (address := parsing.email(text)) and address != values.get("new_contact"):
        return {"new_contact": address, "new_email": address, "new_phone": None}
    if (number := parsing.phone(text)) and number != values.get("new_contact"):
        return {"new_contact": number, "new_phone": number, "new_email": None}
    return {}


def _employment_question(v: Values) -> str:
    extra = "".join(
        f"\n{label}: {v[slot]}"
        for label, slot in (("Job title", "new_job_title"), ("Grade", "new_grade"))
        if v.get(slot) and v[slot] != "-"
    )
    return (
        f"So you now work for {v['new_employer']} at {v['new_workplace']}.{extra}\n"
        "Shall I update your record?"
    )


CONFIRMATIONS: dict[str, Confirmation] = {
    c.intent: c
    for c in (
        Confirmation(
            "change_address",
            ("new_address_line1", "new_town", "new_postcode"),
            _address_question,
            lambda v: (
                f"update your address to {v['new_address_line1']}, {v['new_town']}, "
                f"{v['new_postcode']}"
            ),
            buttons=[
                {"title": "Yes, update it", "payload": "yes"},
                {"title": "No", "payload": "no"},
            ],
            corrections=_address_corrections,
            hint="If something is wrong, tell me the right value, for example "
            "'the postcode is LS1 4AB' or 'the town is Leeds'.",
        ),
        Confirmation(
            "change_contact_details",
            ("new_contact", "new_email", "new_phone"),
            lambda v: (
                f"Your new {_contact_kind(v)} would be {v['new_contact']}. Shall I update it?"
            ),
            lambda v: f"change your {_contact_kind(v)} to {v['new_contact']}",
            corrections=_contact_corrections,
            hint="If it's not right, just type the right one.",
        ),
        Confirmation(
            "change_employment",
            ("new_employer", "new_workplace", "new_job_title", "new_grade"),
            _employment_question,
            lambda v: f"record that you work for {v['new_employer']} at {v['new_workplace']}",
        ),
        Confirmation(
            "cancel_membership",
            ("cancel_reason",),
            lambda v: (
                "Would you still like to resign your membership? Your Direct Debit "
                "would be cancelled and your cover would end."
            ),
            lambda v: "cancel your membership",
            buttons=[
                {"title": "Yes, resign", "payload": "yes"},
                {"title": "No, stay a member", "payload": "no"},
            ],
            # "please cancel it" may mean the membership or the resignation.
            ambiguous_words=re.compile(
                r"\b(cancel\w*|resign\w*|leave|leaving|quit|stop|end)\b", re.I
            ),
        ),
    )
}


def _values(tracker: Tracker, confirmation: Confirmation) -> Values:
    return {name: tracker.get_slot(name) for name in confirmation.slots}


def ask_to_confirm(
    dispatcher: CollectingDispatcher, tracker: Tracker, intent: str, values: Values | None = None
) -> list[EventType]:
    """Read the change back and ask for a yes; the change is pending until answered."""
    confirmation = CONFIRMATIONS[intent]
    values = values if values is not None else _values(tracker, confirmation)
    dispatcher.utter_message(text=confirmation.question(values), buttons=confirmation.buttons)
    return [SlotSet("pending_change", intent)]


def _ended(confirmation: Confirmation) -> list[EventType]:
    return [SlotSet(name, None) for name in (*DONE, *confirmation.slots)]


def reading_of(tracker: Tracker, intent: str) -> tuple[Reading, Values]:
    """What the member's latest message says about the pending change, and any corrections."""
    confirmation = CONFIRMATIONS[intent]
    text = str(tracker.latest_message.get("text") or "")
    corrected = confirmation.corrections(text, _values(tracker, confirmation))
    answer = read_answer(
        text,
        (tracker.latest_message.get("intent") or {}).get("name"),
        corrected=bool(corrected),
        ambiguous_words=confirmation.ambiguous_words,
    )
    return answer, corrected


def _what_changed(corrected: Values) -> str:
    names = {"new_postcode": "postcode", "new_town": "town", "new_address_line1": "first line"}
    told = [f"the {names[k]} to {v}" for k, v in corrected.items() if k in names]
    if "new_contact" in corrected:
        told.append(f"the {_contact_kind(corrected)} to {corrected['new_contact']}")
    return "I've changed " + " and ".join(told) + "."


async def reply_to_answer(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    intent: str,
    answer: Reading,
    corrected: Values,
) -> list[EventType]:
    """Everything but a clear yes: drop the change, correct it, or ask again."""
    confirmation = CONFIRMATIONS[intent]
    if answer in (Reading.NO, Reading.STOP):
        dispatcher.utter_message(text=NOTHING_CHANGED if answer is Reading.NO else STOPPED)
        return _ended(confirmation)
    values = _values(tracker, confirmation)
    if answer is Reading.CORRECTED:
        dispatcher.utter_message(text=_what_changed(corrected))
        values.update(corrected)
        events = ask_to_confirm(dispatcher, tracker, intent, values)
        return [
            *(SlotSet(k, v) for k, v in corrected.items()),
            *events,
            SlotSet("confirmation_misses", 0),
        ]
    misses = int(tracker.get_slot("confirmation_misses") or 0) + 1
    if misses >= MISSES_BEFORE_A_PERSON:
        dispatcher.utter_message(
            text="I'm sorry, I don't think I'm understanding you, and I don't want to get "
            "this wrong. Nothing has been changed; I'll pass you to someone in the team."
        )
        return [
            *_ended(confirmation)[:2],
            *await escalate(
                dispatcher,
                tracker,
                reason="answer at a confirmation not understood twice",
                intent=intent,
            ),
        ]
    if answer is Reading.MIXED:
        dispatcher.utter_message(
            text=f"Just to be sure: shall I {confirmation.doing(values)}? Yes or no.",
            buttons=YES_NO,
        )
    else:
        dispatcher.utter_message(text="I haven't changed anything yet. Here it is again:")
        ask_to_confirm(dispatcher, tracker, intent, values)
    if confirmation.hint:
        dispatcher.utter_message(text=confirmation.hint)
    return [SlotSet("confirmation_misses", misses)]


async def unless_confirmed(
    dispatcher: CollectingDispatcher, tracker: Tracker, intent: str
) -> list[EventType] | None:
    """None when the latest message is a clear yes to `intent`; otherwise the reply to it
    (never empty).

    A submit action runs on the intent `affirm`; "yes, but the postcode is BS1 4JP" is
    classified that way too, and must correct the change rather than make it.
    """
    answer, corrected = reading_of(tracker, intent)
    if answer is Reading.YES:
        return None
    return await reply_to_answer(dispatcher, tracker, intent, answer, corrected)
