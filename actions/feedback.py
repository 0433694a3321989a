"""The one-to-five satisfaction rating at the end of a conversation."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api_client import RecordsApi
from actions.base import MemberAction, MemberForm
from actions.conversation import channel_of
from bot.records import RecordsApiError
from bot.safety import mask_card_numbers

NO_COMMENT = {"no", "nope", "no thanks", "no thank you", "nothing", "none", "n/a", "-", "nah"}


async def store_rating(tracker: Tracker) -> None:
    """Send the rating (if any) to the API; a lost rating is not worth bothering the member."""
    rating = tracker.get_slot("rating")
    if rating is None:
        return
    comment = tracker.get_slot("rating_comment")
    with contextlib.suppress(RecordsApiError):
        await RecordsApi.as_service(channel=channel_of(tracker)).post(
            "/ratings",
            {
                "conversation_id": tracker.sender_id,
                "channel": channel_of(tracker),
                "score": int(rating),
                "comment": comment or None,
            },
        )


class ValidateRatingForm(MemberForm):
    def name(self) -> str:
        return "validate_rating_form"

    async def validate_rating(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = re.search(r"\b([1-5])\b", str(value or ""))
        if not found:
            return self.invalid(
                dispatcher, tracker, "rating", "Please choose a number from 1 to 5."
            )
        return self.valid(rating=found[1])

    async def validate_rating_comment(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = " ".join(str(value or "").split())
        if text.lower().strip(".! ") in NO_COMMENT:
            return self.valid(rating_comment="-")
        return self.valid(rating_comment=mask_card_numbers(text)[0][:1000])


class SubmitRating(MemberAction):
    def name(self) -> str:
        return "action_submit_rating"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("rating_comment") == "-":
            tracker.slots["rating_comment"] = None
        await store_rating(tracker)
        dispatcher.utter_message(
            text="Thank you for your feedback, and for being a member. Goodbye!"
        )
        return [SlotSet("rating", None), SlotSet("rating_comment", None)]
