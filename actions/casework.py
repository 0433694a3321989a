"""Complaints and data-protection requests: cases for the right team, with their deadlines."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import MemberAction, MemberForm
from actions.conversation import member_api, verified_number
from actions.escalation import case_request, keep_case, post_case
from actions.formatting import when
from bot.records import RecordsApiUnavailable
from bot.safety import mask_card_numbers

DP_KINDS = (
    ("opt_out", ("marketing", "opt out", "unsubscribe", "stop sending", "newsletter", "emails")),
    ("erasure", ("delete", "erase", "remove", "forget")),
    (
        "access",
        ("copy", "access", "subject access", "sar", "what data", "all the data", "hold on me"),
    ),
)


async def open_case(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    *,
    intent: str,
    summary: str,
    priority: str | None = None,
) -> dict[str, Any] | None:
    """Open a case without pausing the conversation; keep it for replay if the API is down."""
    body = case_request(tracker, reason=summary, intent=intent, summary=summary, priority=priority)
    try:
        return await post_case(tracker, body)
    except RecordsApiUnavailable:
        keep_case(tracker, body)
        dispatcher.utter_message(
            text="I can't reach the team's system right now, but I've saved this and it will "
            "reach them as soon as it's back. Nothing you've told me is lost."
        )
        return None


class ValidateComplaintForm(MemberForm):
    def name(self) -> str:
        return "validate_complaint_form"

    async def validate_complaint_text(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = " ".join(str(value or "").split())
        if len(text) < 10:
            return self.invalid(
                dispatcher,
                tracker,
                "complaint_text",
                "Please tell me a little more about what happened.",
            )
        return self.valid(complaint_text=mask_card_numbers(text)[0][:4000])


class SubmitComplaint(MemberAction):
    def name(self) -> str:
        return "action_submit_complaint"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        words = str(tracker.get_slot("complaint_text") or "")
        case = await open_case(
            dispatcher,
            tracker,
            intent="complaint",
            summary=f"Complaint: {words[:480]}",
            priority="high",
        )
        events: list[EventType] = [SlotSet("complaint_text", None), SlotSet("form_outcome", None)]
        if case:
            deadline = f" by {when(case['deadline'])}" if case.get("deadline") else ""
            dispatcher.utter_message(
                text=f"Thank you for telling us. I've recorded your complaint in your own words "
                f"and passed it to our complaints team, who will respond{deadline}. "
                f"Your reference is {case['reference']}."
            )
            events.append(SlotSet("last_reference", case["reference"]))
        return events


class ValidateDataProtectionForm(MemberForm):
    def name(self) -> str:
        return "validate_data_protection_form"

    async def validate_dp_request_kind(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").lower()
        for kind, words in DP_KINDS:
            if any(word in text for word in words):
                return self.valid(dp_request_kind=kind)
        if any(word in text for word in ("other", "share", "question", "something else")):
            return self.valid(dp_request_kind="other")
        return self.invalid(
            dispatcher,
            tracker,
            "dp_request_kind",
            "Would you like to stop marketing, get a copy of your data, have it "
            "deleted, or something else?",
        )


class SubmitDataProtection(MemberAction):
    def name(self) -> str:
        return "action_submit_data_protection"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        kind = tracker.get_slot("dp_request_kind")
        events: list[EventType] = [SlotSet("dp_request_kind", None), SlotSet("form_outcome", None)]
        if kind == "opt_out":
            outcome = await member_api(tracker).post(
                f"/members/{verified_number(tracker)}/marketing-opt-out"
            )
            dispatcher.utter_message(
                text=f"Done: you won't receive marketing from us any more. We'll still send what "
                f"we must, such as ballot papers and notices about your subscription. "
                f"Your reference is {outcome['reference']}."
            )
            return [*events, SlotSet("last_reference", outcome["reference"])]
        label = {
            "access": "Subject access request (copy of personal data)",
            "erasure": "Erasure request",
            "other": "Data protection question",
        }[str(kind)]
        case = await open_case(
            dispatcher, tracker, intent="data_protection_request", summary=label, priority="high"
        )
        if case:
            due = case.get("statutory_due_on") or case.get("deadline")
            dispatcher.utter_message(
                text=f"I've passed your request to our data protection team. "
                f"{'By law they will respond by ' + when(due) + '. ' if due else ''}"
                f"They may contact you to confirm your identity. "
                f"Your reference is {case['reference']}."
            )
            events.append(SlotSet("last_reference", case["reference"]))
        return events
