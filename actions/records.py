"""Changes to a member's record: address, contact details, employment.

Corrections to a name, title or date of birth are in actions.personal_details."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from actions.answers import is_question, is_skip
from actions.base import MemberAction, MemberForm
from actions.changes import apply_change
from actions.confirming import DONE, ask_to_confirm, unless_confirmed
from actions.conversation import member_api, verified_number
from actions.escalation import hand_over_if_form_gave_up
from actions.formatting import with_reference
from actions.opening import opening_message
from actions.register_names import (
    last_offer,
    names_of,
    new_name_notice,
    offer_buttons,
    read_offer_answer,
)

ADDRESS_SLOTS = ("new_address_line1", "new_town", "new_postcode")
EMPLOYMENT_SLOTS = ("new_employer", "new_workplace", "new_job_title", "new_grade")


def _clear(*names: str) -> list[EventType]:
    return [SlotSet(name, None) for name in names]


# --- address -------------------------------------------------------------------------------


# What to ask again when an answer to each address question can't be used.
_ADDRESS_QUESTIONS = {
    "new_address_line1": "Please give the house number or name and the street, "
    "for example 5 Queen Square.",
    "new_town": "I need the name of the town or city, for example Bristol.",
    "new_postcode": "That doesn't look like a UK postcode. Try it like LS1 4AB.",
}


def _address_slots(parts: parsing.AddressParts) -> dict[str, Any]:
    found = zip(ADDRESS_SLOTS, (parts.line1, parts.town, parts.postcode), strict=True)
    return {slot: value for slot, value in found if value}


class ValidateAddressForm(MemberForm):
    """Any answer may hold the whole address; every part it holds is kept, nothing is guessed."""

    def name(self) -> str:
        return "validate_address_form"

    async def extract_new_address_line1(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # "I've moved to 5 Queen Square, Bristol BS1 4JQ": the form asks only what is missing.
        said = opening_message(tracker, "address_form", ADDRESS_SLOTS)
        return _address_slots(parsing.read_address(said)) if said else {}

    def _answer(
        self,
        value: Any,
        asked: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> dict[str, Any]:
        slot = ADDRESS_SLOTS[("line1", "town", "postcode").index(asked)]
        found = _address_slots(parsing.read_address(str(value or ""), asked=asked))
        if slot in found:
            return self.valid(**found)
        if found:
            # Other parts of the address, but not the one asked for: kept, and it is asked again.
            return {**found, slot: None}
        return self.invalid(dispatcher, tracker, slot, _ADDRESS_QUESTIONS[slot])

    async def validate_new_address_line1(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._answer(value, "line1", dispatcher, tracker)

    async def validate_new_town(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._answer(value, "town", dispatcher, tracker)

    async def validate_new_postcode(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._answer(value, "postcode", dispatcher, tracker)


class ConfirmAddress(MemberAction):
    def name(self) -> str:
        return "action_confirm_address"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if handed_over := await hand_over_if_form_gave_up(
            dispatcher, tracker, reason="address change not completed"
        ):
            return handed_over
        return ask_to_confirm(dispatcher, tracker, "change_address")


class SubmitAddress(MemberAction):
    def name(self) -> str:
        return "action_submit_address"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if answered := await unless_confirmed(dispatcher, tracker, "change_address"):
            return answered
        line1, town, code = (tracker.get_slot(s) for s in ADDRESS_SLOTS)
        outcome = await apply_change(
            dispatcher,
            tracker,
            method="PUT",
            path=f"/members/{verified_number(tracker)}/address",
            body={"address_line1": line1, "town": town, "postcode": code},
            done="your address change",
        )
        if outcome:
            dispatcher.utter_message(
                text=f"Done: your address is now {line1}, {town}, {code}. "
                f"Your reference is {outcome['reference']}."
            )
            return [*_clear(*ADDRESS_SLOTS, *DONE), SlotSet("last_reference", outcome["reference"])]
        return list(_clear(*ADDRESS_SLOTS, *DONE))


# --- email or phone ------------------------------------------------------------------------


class ValidateContactForm(MemberForm):
    def name(self) -> str:
        return "validate_contact_form"

    async def extract_new_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # "My new number is 07700 900999": nothing left to ask but whether to save it.
        said = opening_message(tracker, "contact_form", ("new_contact",))
        if said and (parsing.email(said) or parsing.phone(said)):
            return {"new_contact": said}
        return {}

    async def validate_new_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "")
        if address := parsing.email(text):
            return self.valid(new_contact=address, new_email=address, new_phone=None)
        if number := parsing.phone(text):
            # Stored in E.164, as the records API keeps it; read back the way it is written.
            shown = parsing.phone_for_display(number)
            return self.valid(new_contact=shown, new_phone=number, new_email=None)
        return self.invalid(
            dispatcher,
            tracker,
            "new_contact",
            "I couldn't read an email address or a whole phone number there (with its area "
            "code, or + and the country code). Could you type it again?",
        )


class ConfirmContact(MemberAction):
    def name(self) -> str:
        return "action_confirm_contact"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if handed_over := await hand_over_if_form_gave_up(
            dispatcher, tracker, reason="contact change not completed"
        ):
            return handed_over
        return ask_to_confirm(dispatcher, tracker, "change_contact_details")


class SubmitContact(MemberAction):
    def name(self) -> str:
        return "action_submit_contact"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if answered := await unless_confirmed(dispatcher, tracker, "change_contact_details"):
            return answered
        body = {
            k: v
            for k, v in (
                ("email", tracker.get_slot("new_email")),
                ("phone", tracker.get_slot("new_phone")),
            )
            if v
        }
        outcome = await apply_change(
            dispatcher,
            tracker,
            method="PUT",
            path=f"/members/{verified_number(tracker)}/contact",
            body=body,
            done="your new contact details",
        )
        if outcome:
            what = "email address" if "email" in body else "phone number"
            dispatcher.utter_message(
                text=f"Done: I've updated your {what}. Your reference is {outcome['reference']}."
            )
            return [
                *_clear("new_contact", "new_email", "new_phone", *DONE),
                SlotSet("last_reference", outcome["reference"]),
            ]
        return list(_clear("new_contact", "new_email", "new_phone", *DONE))


# --- employment ----------------------------------------------------------------------------


def _not_a_value(dispatcher: CollectingDispatcher, slot: str) -> dict[str, Any]:
    """A question typed where a value was asked for is never stored as the value (it once
    became a new "workplace" for the data team). The question is asked again; it is not
    counted as a wrong answer."""
    dispatcher.utter_message(
        text="Good question: I'll be able to answer it once we've finished this change, so "
        "please ask me again then."
    )
    return {slot: None}


class ValidateEmploymentForm(MemberForm):
    def name(self) -> str:
        return "validate_employment_form"

    async def extract_new_employer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # "I've started working for Bristol City Council": checked against the register like
        # an answer, so it is taken, or offered back, rather than asked for again.
        said = opening_message(tracker, "employment_form", EMPLOYMENT_SLOTS)
        named = parsing.stated_employer(said) if said else None
        return {"new_employer": named} if named else {}

    async def _register_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str
    ) -> dict[str, Any]:
        """The employer or workplace answer, checked against the register (register_names)."""
        kind = "employer" if slot == "new_employer" else "workplace"
        employer = tracker.get_slot("new_employer")
        question = "Who is your employer?" if kind == "employer" else "Which workplace is it?"
        typed = parsing.tidy_text(value, max_length=200)
        if not typed or parsing.is_conversation_reply(typed) and not last_offer(tracker):
            return self.invalid(dispatcher, tracker, slot, question)
        if is_question(typed):
            return _not_a_value(dispatcher, slot)
        if offer := last_offer(tracker):
            intent = (tracker.latest_message.get("intent") or {}).get("name")
            answer = read_offer_answer(typed, intent, offer)
            if answer.register_name:
                return self.valid(**{slot: answer.register_name})
            if answer.new_name:
                dispatcher.utter_message(text=new_name_notice(answer.new_name))
                return self.valid(**{slot: answer.new_name})
            typed = answer.look_up or typed
        query = {"employer": typed} if kind == "employer" else {
            "employer": employer, "workplace": typed}
        match = await member_api(tracker).get("/employers/match", **query)
        if kind == "employer" and match["status"] != "exact":
            if both := await self._employer_and_workplace(typed, dispatcher, tracker):
                return both
            if match["status"] == "none" and not tracker.get_slot("requested_slot"):
                # Named in the request, not asked for ("working for an agency"): words the
                # register does not know are asked for, never recorded as a new employer.
                return {slot: None}
        name = self._taken_or_offered(match, kind, typed, employer, dispatcher)
        return self.valid(**{slot: name}) if name else {slot: None}

    async def _employer_and_workplace(
        self, typed: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any] | None:
        """ "Bristol City Council, at the Civic Centre": both answers at once, when what comes
        before the workplace is, as written, an employer the register holds."""
        api = member_api(tracker)
        for employer, workplace in parsing.employer_and_workplace(typed):
            found = await api.get("/employers/match", employer=employer)
            if found["status"] != "exact":
                continue
            at = await api.get("/employers/match", employer=found["employer"], workplace=workplace)
            place = self._taken_or_offered(at, "workplace", workplace, found["employer"],
                                           dispatcher)
            # An offered workplace is answered next, as if the form had asked for it.
            return self.valid(new_employer=found["employer"], new_workplace=place)
        return None

    @staticmethod
    def _taken_or_offered(
        match: dict[str, Any],
        kind: str,
        typed: str,
        employer: str | None,
        dispatcher: CollectingDispatcher,
    ) -> str | None:
        """The register's name as written; None after offering close ones; else `typed`, new."""
        exact = match.get(kind) if match["status"] == "exact" else None
        if exact:
            return str(exact)
        candidates = names_of(
            [c for c in match.get("choices") or []
             if kind == "employer" or c.get("employer") == employer], kind)
        if match["status"] == "likely" and match.get(kind):
            candidates = [match[kind], *(n for n in candidates if n != match[kind])]
        if candidates:
            asked = (f"Did you mean {candidates[0]}?" if len(candidates) == 1
                     else "Did you mean one of these?")
            dispatcher.utter_message(text=asked, buttons=offer_buttons(candidates, typed))
            return None
        # Not in the register at all: recorded as new, held for review (never refused).
        dispatcher.utter_message(
            text=f"{typed} isn't on our list yet, so I'll record it as new; our data team will "
            "check it before it counts for any ballot."
        )
        return typed

    async def validate_new_employer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return await self._register_name(value, dispatcher, tracker, "new_employer")

    async def validate_new_workplace(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return await self._register_name(value, dispatcher, tracker, "new_workplace")

    async def validate_new_job_title(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = parsing.tidy_text(value, max_length=100)
        if not text:
            return self.invalid(dispatcher, tracker, "new_job_title", "What's your job title?")
        if is_question(text):
            return _not_a_value(dispatcher, "new_job_title")
        return self.valid(new_job_title="-" if is_skip(text) else text)

    async def validate_new_grade(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = parsing.tidy_text(value, max_length=50)
        if not text:
            return self.invalid(dispatcher, tracker, "new_grade", "What's your grade or band?")
        if is_question(text):
            return _not_a_value(dispatcher, "new_grade")
        return self.valid(new_grade="-" if is_skip(text) else text)


class ConfirmEmployment(MemberAction):
    def name(self) -> str:
        return "action_confirm_employment"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if handed_over := await hand_over_if_form_gave_up(
            dispatcher, tracker, reason="employment change not completed"
        ):
            return handed_over
        return ask_to_confirm(dispatcher, tracker, "change_employment")


class SubmitEmployment(MemberAction):
    def name(self) -> str:
        return "action_submit_employment"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if answered := await unless_confirmed(dispatcher, tracker, "change_employment"):
            return answered
        employer, workplace, title, grade = (tracker.get_slot(s) for s in EMPLOYMENT_SLOTS)
        body: dict[str, Any] = {"employer": employer, "workplace": workplace}
        # The form let through only register names as written, or names the member kept as
        # theirs after seeing the register's: those are new, whatever they resemble.
        found = await member_api(tracker).get(
            "/employers/match", employer=employer, workplace=workplace)
        if found.get("employer") != employer or found["status"] != "exact":
            body["new_employer"] = found.get("employer") != employer
            body["new_workplace"] = True
        if title and title != "-":
            body["job_title"] = title
        if grade and grade != "-":
            body["grade"] = grade
        outcome = await apply_change(
            dispatcher,
            tracker,
            method="PUT",
            path=f"/members/{verified_number(tracker)}/employment",
            body=body,
            done="your change of employment",
        )
        if outcome:
            # The API explains itself: applied, or waiting for review because of a ballot,
            # and whether check-off stops with the new employer.
            dispatcher.utter_message(
                text=with_reference(outcome["message"], outcome["reference"])
            )
            return [
                *_clear(*EMPLOYMENT_SLOTS, *DONE),
                SlotSet("last_reference", outcome["reference"]),
            ]
        return list(_clear(*EMPLOYMENT_SLOTS, *DONE))
