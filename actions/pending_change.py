"""The member's answer to "shall I go ahead?", whatever it is (`action_answer_pending_change`).

The rules send every message to this action while a change is pending (`pending_change`),
except a request for a person. A clear yes makes the change through the goal's own submit
action; anything else is answered by actions.confirming, and nothing is lost.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import Reading
from actions.base import MemberAction
from actions.confirming import CONFIRMATIONS, reading_of, reply_to_answer
from actions.membership import SubmitCancel
from actions.records import SubmitAddress, SubmitContact, SubmitEmployment

SUBMITS: dict[str, type[MemberAction]] = {
    "change_address": SubmitAddress,
    "change_contact_details": SubmitContact,
    "change_employment": SubmitEmployment,
    "cancel_membership": SubmitCancel,
}


class AnswerPendingChange(MemberAction):
    def name(self) -> str:
        return "action_answer_pending_change"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = tracker.get_slot("pending_change")
        if intent not in CONFIRMATIONS:
            dispatcher.utter_message(response="utter_what_next")
            return [SlotSet("pending_change", None)]
        answer, corrected = reading_of(tracker, intent)
        if answer is Reading.YES:
            return await SUBMITS[intent]().run(dispatcher, tracker, domain)
        return await reply_to_answer(dispatcher, tracker, intent, answer, corrected)
