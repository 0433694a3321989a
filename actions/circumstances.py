"""Changes of circumstances that change the rate: retiring, parental leave, part time...

Members answer "What's changing?" in their own words or by typing a button's label, often
with the date in the same message ("I'm retiring on 31 December"); actions.choices reads both.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import MemberAction, MemberForm
from actions.changes import apply_change
from actions.choices import CIRCUMSTANCES, chosen, starting_date
from actions.escalation import hand_over_if_form_gave_up
from actions.formatting import with_reference
from actions.opening import opening_message
from actions.payments import member_path

FORM_SLOTS = ("circumstance", "circumstance_date")


class ValidateCircumstancesForm(MemberForm):
    def name(self) -> str:
        return "validate_circumstances_form"

    async def extract_circumstance(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # "I'm going on maternity leave from 1 February": what is changing, and often when,
        # are in the request itself; only what it did not say is asked.
        said = opening_message(tracker, "circumstances_form", FORM_SLOTS)
        circumstance = chosen(said, CIRCUMSTANCES) if said else None
        if not said or not circumstance:
            return {}
        starts = starting_date(said)
        return {"circumstance": circumstance,
                **({"circumstance_date": starts.isoformat()} if starts else {})}

    async def validate_circumstance(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "")
        if text in CIRCUMSTANCES:  # already read, from the request (extract_circumstance)
            return self.valid(circumstance=text)
        if circumstance := chosen(text, CIRCUMSTANCES):
            # "part time from January" answers the next question as well.
            starts = starting_date(text)
            return self.valid(
                circumstance=circumstance,
                **({"circumstance_date": starts.isoformat()} if starts else {}),
            )
        return self.invalid(
            dispatcher,
            tracker,
            "circumstance",
            "Is it retirement, parental leave, unemployment, a career break, "
            "going part time, or becoming a student?",
        )

    async def validate_circumstance_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        on = starting_date(str(value or ""))
        if not on:
            return self.invalid(
                dispatcher,
                tracker,
                "circumstance_date",
                "I couldn't read that as a date. Try it like 01/03/2027, or 'from January'.",
            )
        return self.valid(circumstance_date=on.isoformat())


class SubmitCircumstances(MemberAction):
    def name(self) -> str:
        return "action_submit_circumstances"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = [
            SlotSet("circumstance", None),
            SlotSet("circumstance_date", None),
        ]
        if handed_over := await hand_over_if_form_gave_up(
            dispatcher, tracker, reason="change of circumstances not completed", clearing=events
        ):
            return handed_over
        outcome = await apply_change(
            dispatcher,
            tracker,
            method="POST",
            path=member_path(tracker, "/circumstances"),
            body={
                "circumstance": tracker.get_slot("circumstance"),
                "effective_from": tracker.get_slot("circumstance_date"),
            },
            done="your change of circumstances",
        )
        if outcome:
            # The records API's message already says the new category, rate and date.
            text = with_reference(outcome["message"], outcome["reference"])
            if outcome.get("refund_note"):
                text += f"\n{outcome['refund_note']}"
            dispatcher.utter_message(text=text)
            events.append(SlotSet("last_reference", outcome["reference"]))
        return events
