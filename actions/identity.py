"""The identity check: membership number, date of birth and postcode, checked by the API.

The identity slots are filled only while the identity form asks for them (see the slot
conditions in bot/domain/forms.yml). Who the member is comes only from the API's answer: a
member-scoped token that can read and write that one record, kept in a slot no message can set.
"""

from __future__ import annotations

import re
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


# How far back, when the check starts, what the member already said may hold its answers
# ("my number is 1000002" before saying what they want).
MESSAGES_BEFORE_THE_CHECK = 5


def _stated_factors(tracker: Tracker) -> dict[str, Any]:
    """The identity factors the member has stated for this check, the latest winning.

    While the check is asking, the latest message (which may answer all three at once, or
    correct one given earlier: "sorry, I meant 1000004"). As it starts, also the few messages
    before it, back to the end of any earlier attempt, whose factors are not these.
    """
    if (tracker.active_loop or {}).get("name") == "identity_form":
        text = str((tracker.latest_message or {}).get("text") or "")
        factors: dict[str, Any] = parsing.identity_factors(text).as_slots()
        asked = tracker.get_slot("requested_slot")
        if asked and not factors and asks_why(text):
            # Not an answer, and not a wrong one: explained, then the question again.
            return {asked: None}
        if factors and asked and asked not in factors:
            # "sorry, I meant 1000004" at the date-of-birth question corrects the number; it
            # is not a wrong date of birth, so the question is simply asked again.
            factors[asked] = None
        return factors
    said: list[str] = []
    for event in reversed(tracker.events):
        if event.get("event") == "slot" and event.get("name") == "identity_status":
            break
        if event.get("event") == "user":
            said.append(str(event.get("text") or ""))
            if len(said) >= MESSAGES_BEFORE_THE_CHECK:
                break
    factors = {}
    for text in reversed(said):
        factors.update(parsing.identity_factors(text).as_slots())
    return factors


_WHY = re.compile(r"\b(why|what for|what do you need|how come)\b", re.IGNORECASE)
# Why each answer is asked for, in the words a good adviser would use.
WHY_WE_ASK = {
    "membership_number": "Your membership number tells me which record is yours.",
    "date_of_birth": "Your date of birth is one of three things only you and we should know "
    "together: with your membership number and postcode it shows it's really you before I "
    "discuss or change anything on your membership. I don't keep it once you're checked.",
    "postcode": "The postcode we have for you is the third check that it's really you, so "
    "nobody else can see or change your membership. I don't keep it once you're checked.",
}


# "I don't know my old postcode", "can't remember it": no amount of asking again will help.
_CANNOT_ANSWER = re.compile(
    r"\b(don'?t|do not|dont) (know|remember|have)\b|\bnot sure\b|\bno idea\b|"
    r"\b(can'?t|cannot|cant) (remember|find|recall)\b|\bforgot(ten)?\b",
    re.IGNORECASE,
)
ANOTHER_WAY = (
    "That's fine: someone in the team can check who you are another way, for example with "
    "the email address on your record. I'll pass you to them now, with what you've told me."
)


def cannot_answer(text: str) -> bool:
    """The member says they cannot give this answer (rather than giving a wrong one)."""
    return bool(_CANNOT_ANSWER.search(text or ""))


def asks_why(text: str) -> bool:
    """The member asks why a question is asked, rather than answering it."""
    return bool(_WHY.search(text or "")) and "?" in (text or "") or bool(
        re.match(r"\s*why\b", text or "", re.IGNORECASE))


class ValidateIdentityForm(MemberForm):
    """Each answer is checked; any message may also give the other factors, or correct one."""

    def name(self) -> str:
        return "validate_identity_form"

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # A question's answer cleared because the message corrected another factor instead
        # (_stated_factors) must stay cleared, or its words would be taken as the answer.
        cleared = [name for name, value in tracker.slots_to_validate().items() if value is None]
        events = await super().get_validation_events(dispatcher, tracker, domain)
        return [*events, *(SlotSet(name, None) for name in cleared)]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = str((tracker.latest_message or {}).get("text") or "")
        asked = tracker.get_slot("requested_slot")
        if (tracker.active_loop or {}).get("name") == "identity_form" and asked in WHY_WE_ASK \
                and asks_why(text) and not parsing.identity_factors(text).as_slots():
            dispatcher.utter_message(text=WHY_WE_ASK[asked])
        return await super().run(dispatcher, tracker, domain)

    @staticmethod
    def _another_way(dispatcher: CollectingDispatcher, slot: str) -> dict[str, Any]:
        # Ends the check (MemberForm asks nothing more once `form_outcome` is set); the
        # verification step then hands the member to a person with the transcript.
        dispatcher.utter_message(text=ANOTHER_WAY)
        return {slot: None, "form_outcome": "cannot_answer", "form_failures": 0}

    async def extract_membership_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # Called first of the three: the others read the same message.
        return _stated_factors(tracker)

    async def validate_membership_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if cannot_answer(str(value or "")):
            return self._another_way(dispatcher, "membership_number")
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
        if cannot_answer(str(value or "")):
            return self._another_way(dispatcher, "date_of_birth")
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
        if cannot_answer(str(value or "")):
            return self._another_way(dispatcher, "postcode")
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
                    # Failures lock this conversation, so a guesser cannot lock the member out.
                    "conversation_id": tracker.sender_id,
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
