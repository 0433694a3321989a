"""When the contact centre is open: a public answer, given without an identity check.

The hours come from the records API (GET /opening-hours), the same hours and bank holidays the
case deadlines count, so what a member is told and what their case's deadline says agree. When
the API cannot be reached the member is told so: hours are never guessed.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api_client import RecordsApi
from actions.base import MemberAction
from actions.conversation import channel_of
from actions.formatting import when
from bot.records import RecordsApiUnavailable

log = logging.getLogger(__name__)

ALWAYS_HERE = "I can help with most things here at any time, day or night."
HOURS_UNKNOWN = (
    "Sorry, I can't check the contact centre's opening hours right now, so I won't guess "
    "them. Please try again in a few minutes. " + ALWAYS_HERE
)


def now_and_next(hours: dict[str, Any]) -> str:
    """Open now and until when, or closed (and why) and when it opens next."""
    if hours["open_now"]:
        return f"The contact centre is open now, until {hours['today_closes']} today."
    opens = hours["next_opens_text"]
    why = hours["closed_because"]
    if why == "bank_holiday":
        return (
            f"The contact centre is closed today for {hours['bank_holiday_today']} "
            f"(a bank holiday). It opens again on {opens}."
        )
    if why == "weekend":
        return f"The contact centre is closed at weekends. It opens again on {opens}."
    if why == "not_open_yet":
        return f"The contact centre isn't open yet: it opens on {opens}."
    return f"The contact centre has closed for today. It opens again on {opens}."


def coming_bank_holidays(hours: dict[str, Any]) -> str:
    """The bank holidays ahead (today's is said already), or nothing."""
    today = hours["at"][:10]
    ahead = [
        f"{when(holiday['day'])} ({holiday['name']})"
        for holiday in hours["upcoming_bank_holidays"]
        if holiday["day"] != today
    ]
    return f"We're also closed on {', '.join(ahead)}." if ahead else ""


def describe_opening_hours(hours: dict[str, Any]) -> str:
    parts = [
        now_and_next(hours),
        f"Our usual hours are {hours['usual_hours']}, closed on bank holidays.",
        coming_bank_holidays(hours),
        ALWAYS_HERE,
    ]
    return " ".join(part for part in parts if part)


class OpeningHours(MemberAction):
    def name(self) -> str:
        return "action_opening_hours"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        api = RecordsApi.as_service(channel=channel_of(tracker))
        try:
            hours = await api.get("/opening-hours")
        except RecordsApiUnavailable as exc:
            # Said here rather than by the error boundary: its message is about membership
            # records, and this answer has nothing to keep.
            log.warning("action_opening_hours: records API unavailable: %s", exc)
            dispatcher.utter_message(text=HOURS_UNKNOWN)
            return []
        dispatcher.utter_message(text=describe_opening_hours(hours))
        return []
