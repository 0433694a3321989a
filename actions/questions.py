"""The questions forms ask, one action per slot (`action_ask_<form>_<slot>`).

Asked from actions rather than domain responses so that every response in the domain is
used by a rule or story (`rasa data validate` stays free of warnings), and so a question can
depend on what the member already said.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

Button = dict[str, str]

# (form, slot) -> (question, buttons)
QUESTIONS: dict[tuple[str, str], tuple[str, list[Button]]] = {
    ("identity_form", "membership_number"): (
        "What's your membership number? It's the seven digits on your membership card"
        " and our letters.",
        [],
    ),
    ("identity_form", "date_of_birth"): (
        "What's your date of birth? (for example 14/03/1985)",
        [],
    ),
    ("identity_form", "postcode"): (
        "And the postcode we have for your home address?",
        [],
    ),
    ("address_form", "new_address_line1"): (
        "What's the first line of your new address? (house number and street)",
        [],
    ),
    ("address_form", "new_town"): (
        "Which town or city?",
        [],
    ),
    ("address_form", "new_postcode"): (
        "And the new postcode?",
        [],
    ),
    ("contact_form", "new_contact"): (
        "What's the new email address or phone number?",
        [],
    ),
    ("employment_form", "new_employer"): (
        "Who is your new employer?",
        [],
    ),
    ("employment_form", "new_workplace"): (
        "Which workplace (site, hospital, school or office) do you work at?",
        [],
    ),
    ("employment_form", "new_job_title"): (
        "What's your job title? (say 'skip' if it hasn't changed)",
        [],
    ),
    ("employment_form", "new_grade"): (
        "And your grade or band? (say 'skip' if it hasn't changed)",
        [],
    ),
    ("personal_details_form", "detail_kind"): (
        "Which detail needs correcting?",
        [
            {"title": "Name", "payload": "name"},
            {"title": "Title", "payload": "title"},
            {"title": "Date of birth", "payload": "date of birth"},
        ],
    ),
    ("personal_details_form", "new_detail_value"): (
        "What should it say?",
        [],
    ),
    ("circumstances_form", "circumstance"): (
        "What's changing?",
        [
            {"title": "Retiring", "payload": "retirement"},
            {"title": "Parental leave", "payload": "parental leave"},
            {"title": "Unemployed", "payload": "unemployment"},
            {"title": "Career break", "payload": "career break"},
            {"title": "Going part time", "payload": "part time"},
            {"title": "Becoming a student", "payload": "student"},
        ],
    ),
    ("circumstances_form", "circumstance_date"): (
        "From what date? (for example 01/03/2027)",
        [],
    ),
    ("payment_method_form", "payment_method_choice"): (
        "How would you like to pay?",
        [
            {"title": "Direct Debit (new or changed bank details)", "payload": "direct debit"},
            {"title": "Deduction from my pay (check-off)", "payload": "payroll"},
        ],
    ),
    ("refund_form", "refund_payment"): (
        "Which payment should be refunded? Tell me its date or amount.",
        [],
    ),
    ("refund_form", "refund_reason"): (
        "Why should it be refunded? (for example: charged twice, paid after leaving)",
        [],
    ),
    ("charge_form", "charge_details"): (
        "What was the amount, or the date it left your account?",
        [],
    ),
    ("cancel_form", "cancel_reason"): (
        "I'm sorry to hear you're thinking of leaving. May I ask why?",
        [],
    ),
    ("data_protection_form", "dp_request_kind"): (
        "What would you like to do?",
        [
            {"title": "Stop marketing messages", "payload": "opt out of marketing"},
            {"title": "Get a copy of my data", "payload": "copy of my data"},
            {"title": "Delete my data", "payload": "delete my data"},
            {"title": "Something else about my data", "payload": "other data question"},
        ],
    ),
    ("complaint_form", "complaint_text"): (
        "I'm sorry something has gone wrong. Please tell me what happened, in your own words.",
        [],
    ),
    ("rating_form", "rating"): (
        "Before you go: how well did I help today, from 1 (poor) to 5 (excellent)?",
        [
            {"title": "1", "payload": "1"},
            {"title": "2", "payload": "2"},
            {"title": "3", "payload": "3"},
            {"title": "4", "payload": "4"},
            {"title": "5", "payload": "5"},
        ],
    ),
    ("rating_form", "rating_comment"): (
        "Thanks. Anything you'd like to add? (or say 'no')",
        [],
    ),
}


class AskQuestion(Action, metaclass=ABCMeta):
    """Asks one form question; subclasses below are made from QUESTIONS."""

    form: str = ""
    slot: str = ""

    # Abstract, so the action server registers the subclasses only.
    @abstractmethod
    def name(self) -> str:
        """action_ask_<form>_<slot>."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text, buttons = QUESTIONS[(self.form, self.slot)]
        dispatcher.utter_message(text=text, buttons=buttons or None)
        return []


def _question_action(form: str, slot: str) -> type[AskQuestion]:
    def name(self: AskQuestion) -> str:
        return f"action_ask_{self.form}_{self.slot}"

    return type(f"Ask_{form}_{slot}", (AskQuestion,), {"form": form, "slot": slot, "name": name})


QUESTION_ACTIONS: list[Any] = [_question_action(form, slot) for form, slot in QUESTIONS]
