"""Changes to a member's record: address, contact details, employment, personal details."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from actions.base import MemberAction, MemberForm
from actions.conversation import member_api, verified_number
from actions.pending import keep

SKIP_WORDS = {"skip", "same", "no change", "unchanged", "n/a", "na", "none", "no"}
ADDRESS_SLOTS = ("new_address_line1", "new_town", "new_postcode")
EMPLOYMENT_SLOTS = ("new_employer", "new_workplace", "new_job_title", "new_grade")


def _clear(*names: str) -> list[EventType]:
    return [SlotSet(name, None) for name in names]


def _text(value: Any, *, max_length: int) -> str | None:
    text = " ".join(str(value or "").split())
    return text if 0 < len(text) <= max_length else None


async def apply_change(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    *,
    method: str,
    path: str,
    body: dict[str, Any],
    done: str,
) -> dict[str, Any] | None:
    """Send a change to the API as the member; keep it for replay if the API is down."""
    from actions.api_client import ApiUnavailable

    api = member_api(tracker)
    try:
        return await api.request(method, path, json=body)  # type: ignore[no-any-return]
    except ApiUnavailable:
        body = {**body, "identity_level": tracker.get_slot("identity_level") or "identity_checked"}
        keep(method=method, path=path, body=body, channel=api.channel)
        dispatcher.utter_message(
            text=f"Our records system isn't answering right now. I've saved your request and "
            f"it will be applied as soon as it's back: {done}. Nothing is lost."
        )
        return None


# --- address -------------------------------------------------------------------------------


class ValidateAddressForm(MemberForm):
    def name(self) -> str:
        return "validate_address_form"

    async def validate_new_address_line1(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        line = _text(value, max_length=200)
        if not line or not any(ch.isalpha() for ch in line):
            return self.invalid(
                dispatcher,
                tracker,
                "new_address_line1",
                "Please give the house number or name and the street.",
            )
        # A member who types the whole address at once gets the postcode picked out too.
        extra: dict[str, Any] = {}
        if code := parsing.postcode(line):
            extra["new_postcode"] = code
        return self.valid(new_address_line1=line, **extra)

    async def validate_new_town(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        town = _text(value, max_length=100)
        if not town or not any(ch.isalpha() for ch in town):
            return self.invalid(dispatcher, tracker, "new_town", "Which town or city is that in?")
        return self.valid(new_town=town)

    async def validate_new_postcode(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        code = parsing.postcode(str(value or ""))
        if not code:
            return self.invalid(
                dispatcher,
                tracker,
                "new_postcode",
                "That doesn't look like a UK postcode. Try it like LS1 4AB.",
            )
        return self.valid(new_postcode=code)


class ConfirmAddress(MemberAction):
    def name(self) -> str:
        return "action_confirm_address"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("form_outcome"):
            from actions.escalation import escalate

            return [
                SlotSet("form_outcome", None),
                *await escalate(dispatcher, tracker, reason="address change not completed"),
            ]
        line1, town, code = (tracker.get_slot(s) for s in ADDRESS_SLOTS)
        dispatcher.utter_message(
            text=(
                f"Your new address would be:\n{line1}\n{town}\n{code}\nShall I update your record?"
            ),
            buttons=[
                {"title": "Yes, update it", "payload": "yes"},
                {"title": "No", "payload": "no"},
            ],
        )
        return []


class SubmitAddress(MemberAction):
    def name(self) -> str:
        return "action_submit_address"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
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
            return [*_clear(*ADDRESS_SLOTS), SlotSet("last_reference", outcome["reference"])]
        return list(_clear(*ADDRESS_SLOTS))


# --- email or phone ------------------------------------------------------------------------


class ValidateContactForm(MemberForm):
    def name(self) -> str:
        return "validate_contact_form"

    async def validate_new_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "")
        if address := parsing.email(text):
            return self.valid(new_contact=address, new_email=address, new_phone=None)
        if number := parsing.phone(text):
            return self.valid(new_contact=number, new_phone=number, new_email=None)
        return self.invalid(
            dispatcher,
            tracker,
            "new_contact",
            "I couldn't read an email address or a UK phone number there. Could you type it again?",
        )


class ConfirmContact(MemberAction):
    def name(self) -> str:
        return "action_confirm_contact"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("form_outcome"):
            from actions.escalation import escalate

            return [
                SlotSet("form_outcome", None),
                *await escalate(dispatcher, tracker, reason="contact change not completed"),
            ]
        kind = "email address" if tracker.get_slot("new_email") else "phone number"
        dispatcher.utter_message(
            text=f"Your new {kind} would be {tracker.get_slot('new_contact')}. Shall I update it?",
            buttons=[{"title": "Yes", "payload": "yes"}, {"title": "No", "payload": "no"}],
        )
        return []


class SubmitContact(MemberAction):
    def name(self) -> str:
        return "action_submit_contact"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
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
                *_clear("new_contact", "new_email", "new_phone"),
                SlotSet("last_reference", outcome["reference"]),
            ]
        return list(_clear("new_contact", "new_email", "new_phone"))


# --- employment ----------------------------------------------------------------------------


def _choice_buttons(choices: list[dict[str, Any]], key: str) -> list[dict[str, str]]:
    names: list[str] = []
    for choice in choices:
        name = choice.get(key)
        if name and name not in names:
            names.append(name)
    return [{"title": name, "payload": name} for name in names[:5]]


class ValidateEmploymentForm(MemberForm):
    def name(self) -> str:
        return "validate_employment_form"

    async def validate_new_employer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        typed = _text(value, max_length=200)
        if not typed:
            return self.invalid(dispatcher, tracker, "new_employer", "Who is your employer?")
        match = await member_api(tracker).get("/employers/match", employer=typed)
        if match["status"] in ("exact", "likely") and match.get("employer"):
            if match["status"] == "likely":
                dispatcher.utter_message(text=f"I've taken that as {match['employer']}.")
            return self.valid(new_employer=match["employer"])
        if match["status"] == "choices" and match.get("choices"):
            dispatcher.utter_message(
                text="Did you mean one of these?",
                buttons=_choice_buttons(match["choices"], "employer"),
            )
            return {"new_employer": None}
        return self.invalid(
            dispatcher,
            tracker,
            "new_employer",
            "I can't find that employer in our list. Could you give its full "
            "name, as it appears on your payslip?",
        )

    async def validate_new_workplace(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        typed = _text(value, max_length=200)
        employer = tracker.get_slot("new_employer")
        if not typed:
            return self.invalid(dispatcher, tracker, "new_workplace", "Which workplace is it?")
        match = await member_api(tracker).get(
            "/employers/match", employer=employer, workplace=typed
        )
        if match["status"] in ("exact", "likely") and match.get("workplace"):
            return self.valid(new_workplace=match["workplace"])
        if match.get("choices"):
            buttons = _choice_buttons(
                [c for c in match["choices"] if c.get("employer") == employer], "workplace"
            )
            if buttons:
                dispatcher.utter_message(text=f"Which {employer} workplace is it?", buttons=buttons)
                return {"new_workplace": None}
        return self.invalid(
            dispatcher,
            tracker,
            "new_workplace",
            f"I can't find that workplace for {employer}. Could you give its full name?",
        )

    async def validate_new_job_title(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = _text(value, max_length=100)
        if not text:
            return self.invalid(dispatcher, tracker, "new_job_title", "What's your job title?")
        return self.valid(new_job_title="-" if text.lower() in SKIP_WORDS else text)

    async def validate_new_grade(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = _text(value, max_length=50)
        if not text:
            return self.invalid(dispatcher, tracker, "new_grade", "What's your grade or band?")
        return self.valid(new_grade="-" if text.lower() in SKIP_WORDS else text)


class ConfirmEmployment(MemberAction):
    def name(self) -> str:
        return "action_confirm_employment"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("form_outcome"):
            from actions.escalation import escalate

            return [
                SlotSet("form_outcome", None),
                *await escalate(dispatcher, tracker, reason="employment change not completed"),
            ]
        employer, workplace, title, grade = (tracker.get_slot(s) for s in EMPLOYMENT_SLOTS)
        extra = "".join(
            f"\n{label}: {v}"
            for label, v in (("Job title", title), ("Grade", grade))
            if v and v != "-"
        )
        dispatcher.utter_message(
            text=(
                f"So you now work for {employer} at {workplace}.{extra}\n"
                "Shall I update your record?"
            ),
            buttons=[{"title": "Yes", "payload": "yes"}, {"title": "No", "payload": "no"}],
        )
        return []


class SubmitEmployment(MemberAction):
    def name(self) -> str:
        return "action_submit_employment"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        employer, workplace, title, grade = (tracker.get_slot(s) for s in EMPLOYMENT_SLOTS)
        body: dict[str, Any] = {"employer": employer, "workplace": workplace}
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
                text=f"{outcome['message']} Your reference is {outcome['reference']}."
            )
            return [*_clear(*EMPLOYMENT_SLOTS), SlotSet("last_reference", outcome["reference"])]
        return list(_clear(*EMPLOYMENT_SLOTS))


# --- name, title, date of birth ------------------------------------------------------------

DETAIL_KINDS = {
    "name": "name",
    "surname": "name",
    "first name": "name",
    "title": "title",
    "date of birth": "date_of_birth",
    "dob": "date_of_birth",
    "birthday": "date_of_birth",
}
TITLES = ("Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof", "Rev", "Sir", "Dame", "Lord", "Lady")


class ValidatePersonalDetailsForm(MemberForm):
    def name(self) -> str:
        return "validate_personal_details_form"

    async def validate_detail_kind(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").lower()
        for word, kind in sorted(DETAIL_KINDS.items(), key=lambda kv: -len(kv[0])):
            if word in text:
                return self.valid(detail_kind=kind)
        return self.invalid(
            dispatcher, tracker, "detail_kind", "Is it your name, your title or your date of birth?"
        )

    async def validate_new_detail_value(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        kind = tracker.get_slot("detail_kind")
        text = _text(value, max_length=200) or ""
        if kind == "date_of_birth":
            born = parsing.parse_date(text)
            if not born:
                return self.invalid(
                    dispatcher,
                    tracker,
                    "new_detail_value",
                    "I couldn't read that as a date. Try it like 14/03/1985.",
                )
            return self.valid(new_detail_value=born.isoformat())
        if kind == "title":
            title = next((t for t in TITLES if t.lower() == text.strip(". ").lower()), None)
            if not title:
                return self.invalid(
                    dispatcher,
                    tracker,
                    "new_detail_value",
                    f"Which title? For example {', '.join(TITLES[:6])}.",
                )
            return self.valid(new_detail_value=title)
        words = text.split()
        if not 1 <= len(words) <= 5 or not all(
            w.replace("-", "").replace("'", "").isalpha() for w in words
        ):
            return self.invalid(
                dispatcher,
                tracker,
                "new_detail_value",
                "Please type the name as it should appear, for example "
                "'Priya Shah' or just the new surname.",
            )
        return self.valid(new_detail_value=text)


class SubmitPersonalDetails(MemberAction):
    def name(self) -> str:
        return "action_submit_personal_details"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("form_outcome"):
            from actions.escalation import escalate

            return [
                SlotSet("form_outcome", None),
                *await escalate(dispatcher, tracker, reason="personal details not completed"),
            ]
        kind, value = tracker.get_slot("detail_kind"), tracker.get_slot("new_detail_value")
        body: dict[str, Any]
        if kind == "date_of_birth":
            body = {"date_of_birth": value}
        elif kind == "title":
            body = {"title": value}
        else:
            words = str(value).split()
            body = (
                {"last_name": words[-1]}
                if len(words) == 1
                else {"first_name": " ".join(words[:-1]), "last_name": words[-1]}
            )
        outcome = await apply_change(
            dispatcher,
            tracker,
            method="POST",
            path=f"/members/{verified_number(tracker)}/personal-details",
            body=body,
            done="your correction",
        )
        events = list(_clear("detail_kind", "new_detail_value"))
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
