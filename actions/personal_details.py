"""Corrections to a member's name, title or date of birth.

The API holds these for the records team to check before they are applied (a date of birth
may need a document), so the member is told that rather than "done".
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from actions.base import MemberAction, MemberForm
from actions.changes import apply_change
from actions.conversation import verified_number
from actions.escalation import hand_over_if_form_gave_up
from actions.opening import opening_message

FORM_SLOTS = ("detail_kind", "new_detail_value")
DETAIL_KINDS = ("name", "title", "date_of_birth")
TITLES = parsing.TITLES


class ValidatePersonalDetailsForm(MemberForm):
    def name(self) -> str:
        return "validate_personal_details_form"

    async def extract_detail_kind(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # "My surname is now Clarke": which detail, and often its new value, are in the request.
        said = opening_message(tracker, "personal_details_form", FORM_SLOTS)
        if not said:
            return {}
        if stated := parsing.stated_detail(said):
            return {"detail_kind": stated[0], "new_detail_value": stated[1]}
        # "I'm now Mrs Gallagher": a name with its title (split apart when it is sent).
        if named := parsing.stated_title_and_name(said):
            return {"detail_kind": "name", "new_detail_value": named}
        # Which detail, from the request as NLU read it: "want my old surnme back".
        kind = parsing.detail_kind(
            opening_message(tracker, "personal_details_form", FORM_SLOTS, as_read=True) or said)
        return {"detail_kind": kind} if kind else {}

    async def validate_detail_kind(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "")
        if kind := (text if text in DETAIL_KINDS else parsing.detail_kind(text)):
            return self.valid(detail_kind=kind)
        return self.invalid(
            dispatcher, tracker, "detail_kind", "Is it your name, your title or your date of birth?"
        )

    async def validate_new_detail_value(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        kind = tracker.get_slot("detail_kind")
        text = parsing.tidy_text(value, max_length=200) or ""
        if kind == "date_of_birth":
            born = parsing.date_of_birth(text)
            if not born:
                return self.invalid(
                    dispatcher,
                    tracker,
                    "new_detail_value",
                    "I couldn't read that as a date of birth. Try it like 14/03/1985.",
                )
            return self.valid(new_detail_value=born.isoformat())
        if kind == "title":
            title = next((t for t in TITLES if t.lower() == text.strip(". ").lower()), None)
            with_title, name = parsing.split_title(text)
            if not title and with_title and self._is_name(name):
                # "Mrs Gallagher" for the title: the surname changes with it, so both are kept.
                return self.valid(detail_kind="name", new_detail_value=text)
            if not title:
                return self.invalid(
                    dispatcher,
                    tracker,
                    "new_detail_value",
                    f"Which title? For example {', '.join(TITLES[:6])}.",
                )
            return self.valid(new_detail_value=title)
        if not self._is_name(text):
            return self.invalid(
                dispatcher,
                tracker,
                "new_detail_value",
                "Please type the name as it should appear, for example "
                "'Priya Shah' or just the new surname.",
            )
        return self.valid(new_detail_value=text)

    @staticmethod
    def _is_name(text: str) -> bool:
        """A name as it should appear; "yes" or "name" answers "what should it say?" with none."""
        words = text.split()
        return (
            1 <= len(words) <= 5
            and all(w.replace("-", "").replace("'", "").replace(".", "").isalpha() for w in words)
            and not parsing.is_conversation_reply(text)
            and not parsing.detail_kind(text)
        )


def name_change(name: str) -> dict[str, str]:
    """The fields a new name changes: "Mrs Gallagher" is a title and a surname, "Priya Shah" a
    first name and a surname, "Gallagher" the surname alone."""
    title, rest = parsing.split_title(name)
    words = parsing.as_on_a_record(rest).split()
    body = {"title": title} if title else {}
    if len(words) == 1:
        return {**body, "last_name": words[0]}
    return {**body, "first_name": " ".join(words[:-1]), "last_name": words[-1]}


class SubmitPersonalDetails(MemberAction):
    def name(self) -> str:
        return "action_submit_personal_details"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if handed_over := await hand_over_if_form_gave_up(
            dispatcher, tracker, reason="personal details not completed"
        ):
            return handed_over
        kind, value = tracker.get_slot("detail_kind"), tracker.get_slot("new_detail_value")
        body: dict[str, Any]
        if kind == "date_of_birth":
            body = {"date_of_birth": value}
        elif kind == "title":
            body = {"title": value}
        else:
            body = name_change(str(value))
        outcome = await apply_change(
            dispatcher,
            tracker,
            method="POST",
            path=f"/members/{verified_number(tracker)}/personal-details",
            body=body,
            done="your correction",
        )
        events: list[EventType] = [SlotSet("detail_kind", None), SlotSet("new_detail_value", None)]
        if outcome:
            evidence = (
                " Our records team may ask for a document showing your date of birth."
                if kind == "date_of_birth"
                else ""
            )
            dispatcher.utter_message(
                text=f"Thanks. Corrections to names and dates of birth are checked by our records "
                f"team before they're applied, so I've sent it to them.{evidence} "
                f"Your reference is {outcome['reference']}."
            )
            events.append(SlotSet("last_reference", outcome["reference"]))
        return events
