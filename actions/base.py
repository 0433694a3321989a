"""The error boundary every action runs inside: a member never sees silence or a stack trace."""

from __future__ import annotations

import logging
from abc import ABCMeta, abstractmethod
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import NotVerified
from actions.second_request import further_requests, needs_the_check, start_the_check
from bot.records import RecordsApiRefused, RecordsApiUnavailable

log = logging.getLogger(__name__)

API_DOWN = (
    "Sorry, I can't reach our membership records right now, so I can't do that at the moment. "
    "Nothing you've told me is lost. Please try again in a few minutes, or ask for a person."
)
SOMETHING_WRONG = (
    "Sorry, something went wrong on our side. Nothing has been changed. "
    "Please try again, or ask to speak to a person."
)
NOT_VERIFIED = (
    "I need to check who you are before I can do that, so I only ever discuss your own "
    "membership. Please ask again and I'll take you through it."
)
SESSION_EXPIRED = (
    "For your security I need to check who you are again before I can do that. "
    "Please ask again and I'll take you through it."
)


def forget_identity() -> list[EventType]:
    """Events that drop the member's verified identity (an expired or refused token)."""
    return [
        SlotSet("identity_status", None),
        SlotSet("member_token", None),
        SlotSet("verified_number", None),
    ]


class MemberAction(Action, metaclass=ABCMeta):
    """An action whose failures become an honest message instead of an exception."""

    # Abstract, so the action server registers only the concrete actions, not this base.
    @abstractmethod
    def name(self) -> str:
        """The action's name in the domain."""

    @abstractmethod
    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Do the work; may raise RecordsApiUnavailable / RecordsApiRefused."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events = await self.guarded(dispatcher, tracker, domain)
        return [*events, *await self._carry_on(dispatcher, tracker, domain, events)]

    async def guarded(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """`act` inside the error boundary: any failure becomes an honest message."""
        try:
            return await self.act(dispatcher, tracker, domain)
        except RecordsApiUnavailable as exc:
            log.warning("%s: records API unavailable: %s", self.name(), exc)
            dispatcher.utter_message(text=API_DOWN)
            return await self.when_api_down(dispatcher, tracker, domain)
        except RecordsApiRefused as exc:
            if exc.status == 401:
                unverified = isinstance(exc, NotVerified)
                dispatcher.utter_message(text=NOT_VERIFIED if unverified else SESSION_EXPIRED)
                return forget_identity()
            log.info("%s: refused by the records API: %s", self.name(), exc)
            dispatcher.utter_message(text=exc.detail)
            return []
        except Exception:
            log.exception("%s failed", self.name())
            dispatcher.utter_message(text=SOMETHING_WRONG)
            return []

    async def _carry_on(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        events: list[EventType],
    ) -> list[EventType]:
        """Further requests the member made in the same message, once this one is finished
        (actions.second_request): each one's action run now, or the identity check started
        for one that needs it."""
        carried: list[EventType] = []
        for goal in further_requests(self.name(), tracker, events):
            if needs_the_check(goal, tracker):
                return [*carried, *start_the_check(goal, dispatcher)]
            # Each in its own error boundary, so a failure there leaves what was done whole;
            # what it carries on with in turn is not looked for (no request asked for it).
            if action := _member_action(goal.action):
                carried += await action.guarded(dispatcher, tracker, domain)
        return carried

    async def when_api_down(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """What to keep when the API is unreachable; by default nothing needs keeping."""
        return []


def _member_action(name: str) -> MemberAction | None:
    """The action server's action called `name`, to run inside another action."""
    classes = list(MemberAction.__subclasses__())
    while classes:
        cls = classes.pop()
        classes += cls.__subclasses__()
        if cls.__abstractmethods__:
            continue
        action = cls()
        if action.name() == name:
            return action
    return None


class MemberForm(FormValidationAction, metaclass=ABCMeta):
    """A form that stops asking after repeated invalid answers and hands over to a person."""

    @abstractmethod
    def name(self) -> str:
        """validate_<form name>."""

    MAX_INVALID_ANSWERS = 3

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            return await super().run(dispatcher, tracker, domain)
        except RecordsApiUnavailable:
            dispatcher.utter_message(text=API_DOWN)
            return [SlotSet("form_outcome", "api_down"), SlotSet("requested_slot", None)]
        except NotVerified:
            dispatcher.utter_message(text=NOT_VERIFIED)
            return [
                *forget_identity(),
                SlotSet("form_outcome", "not_verified"),
                SlotSet("requested_slot", None),
            ]
        except Exception:
            log.exception("%s failed", self.name())
            dispatcher.utter_message(text=SOMETHING_WRONG)
            return [SlotSet("form_outcome", "error"), SlotSet("requested_slot", None)]

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # A slot event with no value is a slot an action cleared (the identity check clears
        # what was typed after a failed attempt), not an answer: validating it would tell the
        # member their answer was wrong and count it against them.
        answers = {k: v for k, v in tracker.slots_to_validate().items() if v is not None}
        tracker.slots_to_validate = lambda: answers  # type: ignore[method-assign]
        return await super().get_validation_events(dispatcher, tracker, domain)

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        # A form that has given up (too many invalid answers) asks for nothing more, which
        # ends it; its submit action then sees `form_outcome` and escalates instead.
        if tracker.get_slot("form_outcome"):
            return []
        return list(domain_slots)

    def invalid(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, message: str
    ) -> dict[str, Any]:
        """Reject an answer; after MAX_INVALID_ANSWERS in a row, give up on the form."""
        failures = int(tracker.get_slot("form_failures") or 0) + 1
        if failures >= self.MAX_INVALID_ANSWERS:
            dispatcher.utter_message(
                text="I'm having trouble with this, so I'll pass you to someone in the team "
                "who can sort it out with you."
            )
            return {slot: None, "form_failures": 0, "form_outcome": "too_many_invalid"}
        dispatcher.utter_message(text=message)
        return {slot: None, "form_failures": failures}

    def valid(self, **values: Any) -> dict[str, Any]:
        """Accept values and reset the invalid-answer count."""
        return {**values, "form_failures": 0}
