"""The identity check: membership number, date of birth and postcode, checked by the API.

The identity slots are filled only while the identity form asks for them (see the slot
conditions in bot/domain/forms.yml). Who the member is comes only from the API's answer: a
member-scoped token that can read and write that one record, kept in a slot no message can set.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from actions.api_client import RecordsApi
from actions.base import MemberAction, MemberForm
from actions.conversation import channel_of
from actions.escalation import hand_over_if_form_gave_up
from actions.goals import GOALS_BY_INTENT
from bot.records import RecordsApiRefused

MAX_FAILURES_PER_CONVERSATION = 3
GENERIC_FAILURE = (
    "Sorry, I couldn't match those details to a membership. Please check them and try again."
)


def verified_events(answer: dict[str, Any]) -> list[EventType]:
    """Slots that record a successful check (and drop the factors typed to pass it)."""
    return [
        SlotSet("identity_status", "verified"),
        SlotSet("member_token", answer["token"]),
        SlotSet("verified_number", answer["membership_number"]),
        SlotSet("member_first_name", answer.get("first_name")),
        SlotSet("identity_level", answer.get("identity_level", "identity_checked")),
        SlotSet("identity_failures", 0),
        SlotSet("membership_number", None),
        SlotSet("date_of_birth", None),
        SlotSet("postcode", None),
    ]


class StartIdentityCheck(MemberAction):
    def name(self) -> str:
        return "action_start_identity_check"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        dispatcher.utter_message(
            text="I can help with that. First I need to check who you are, so I only ever "
            "discuss your own membership."
        )
        goal = intent if intent in GOALS_BY_INTENT else None
        return [SlotSet("goal", goal), SlotSet("form_failures", 0), SlotSet("form_outcome", None)]


class ValidateIdentityForm(MemberForm):
    def name(self) -> str:
        return "validate_identity_form"

    async def validate_membership_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        number = parsing.membership_number(str(value or ""))
        if not number:
            return self.invalid(
                dispatcher,
                tracker,
                "membership_number",
                "A membership number is seven digits, like 1234567.",
            )
        return self.valid(membership_number=number)

    async def validate_date_of_birth(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        born = parsing.date_of_birth(str(value or ""))
        if not born:
            return self.invalid(
                dispatcher,
                tracker,
                "date_of_birth",
                "I couldn't read that as a date. Try it like 14/03/1985.",
            )
        return self.valid(date_of_birth=born.isoformat())

    async def validate_postcode(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        code = parsing.postcode(str(value or ""))
        if not code:
            return self.invalid(
                dispatcher,
                tracker,
                "postcode",
                "That doesn't look like a UK postcode. Try it like LS1 4AB.",
            )
        return self.valid(postcode=code)


class VerifyIdentity(MemberAction):
    def name(self) -> str:
        return "action_verify_identity"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if handed_over := await hand_over_if_form_gave_up(
            dispatcher, tracker, reason="identity check abandoned"
        ):
            return handed_over
        api = RecordsApi.as_service(channel=channel_of(tracker))
        try:
            answer = await api.post(
                "/identity/check",
                {
                    "membership_number": tracker.get_slot("membership_number"),
                    "date_of_birth": tracker.get_slot("date_of_birth"),
                    "postcode": tracker.get_slot("postcode"),
                },
            )
        except RecordsApiRefused as exc:
            return self._failed(dispatcher, tracker, locked=exc.status == 423, detail=exc.detail)
        name = answer.get("first_name")
        dispatcher.utter_message(text=f"Thanks{', ' + name if name else ''}. You're verified.")
        return verified_events(answer)

    def _failed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, *, locked: bool, detail: str
    ) -> list[EventType]:
        failures = int(tracker.get_slot("identity_failures") or 0) + 1
        clear = [
            SlotSet("membership_number", None),
            SlotSet("date_of_birth", None),
            SlotSet("postcode", None),
            SlotSet("identity_failures", failures),
        ]
        if locked:
            # Told honestly, with the time: the API locks the number after three failures.
            dispatcher.utter_message(text=detail)
            return [*clear, SlotSet("identity_status", "locked")]
        if failures >= MAX_FAILURES_PER_CONVERSATION:
            dispatcher.utter_message(text=GENERIC_FAILURE)
            dispatcher.utter_message(response="utter_identity_locked")
            return [*clear, SlotSet("identity_status", "locked")]
        dispatcher.utter_message(text=GENERIC_FAILURE)
        return [*clear, SlotSet("identity_status", "failed")]
