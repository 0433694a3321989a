"""Joining, renewing, rejoining, resigning, and "am I still a member?"."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api_client import RecordsApi
from actions.base import MemberAction, MemberForm
from actions.changes import apply_change
from actions.confirming import DONE, ask_to_confirm, unless_confirmed
from actions.conversation import channel_of, member_api, verified_number
from actions.escalation import hand_over_if_form_gave_up
from actions.formatting import money, when
from actions.opening import opening_message
from actions.parsing import is_conversation_reply
from bot.records import RecordsApiRefused

# Reasons for leaving that a cheaper category may answer better than resigning.
REDUCED_RATE_REASONS = (
    "retir",
    "part time",
    "part-time",
    "afford",
    "money",
    "expensive",
    "cost",
    "student",
    "maternity",
    "parental",
    "unemploy",
    "redundan",
    "career break",
    "lost my job",
    "low pay",
    "hours",
)


class MembershipStatus(MemberAction):
    def name(self) -> str:
        return "action_membership_status"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        info = await member_api(tracker).get(f"/members/{verified_number(tracker)}/membership")
        text = (
            f"Your membership ({info['membership_number']}) is {info['status']}. "
            f"{info['status_explanation']} You joined on {when(info['joined_on'])}."
        )
        if info.get("renewal_date"):
            text += f" Your renewal date is {when(info['renewal_date'])}."
        dispatcher.utter_message(text=text)
        return []


class RenewMembership(MemberAction):
    def name(self) -> str:
        return "action_renew_membership"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        renewal = await member_api(tracker).post(
            f"/members/{verified_number(tracker)}/membership/renew"
        )
        dispatcher.utter_message(text=renewal["message"])
        if Decimal(str(renewal.get("arrears") or 0)) > 0:
            from actions.payments import send_payment_link

            return await send_payment_link(dispatcher, tracker, purpose="pay_arrears")
        return []


class RejoinMembership(MemberAction):
    def name(self) -> str:
        return "action_rejoin_membership"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            outcome = await member_api(tracker).post(
                f"/members/{verified_number(tracker)}/membership/rejoin"
            )
        except RecordsApiRefused as exc:
            if exc.status != 409:
                raise
            dispatcher.utter_message(text=exc.detail)
            if "arrears" in exc.detail.lower() or "owe" in exc.detail.lower():
                from actions.payments import send_payment_link

                return await send_payment_link(dispatcher, tracker, purpose="pay_arrears")
            return []
        # The records API's message already gives the reference.
        dispatcher.utter_message(text=outcome["message"])
        return [SlotSet("last_reference", outcome["reference"])]


# What follows the request in "I want to resign, I've left the profession" or "cancel my
# membership because it's too expensive" is the reason.
_REASON_AFTER = re.compile(r"(?:[,;.:!-]+|\s+(?:because|since|cos|coz)\b)\s*", re.I)


def reason_in_request(said: str) -> str | None:
    """The reason a resignation request gives after the request itself, if it gives one."""
    parts = _REASON_AFTER.split(said, maxsplit=1)
    if len(parts) < 2:
        return None
    reason = " ".join(parts[1].split()).strip(" .!")
    if len(reason.split()) < 2 or is_conversation_reply(reason):
        return None
    return reason[:400]


class ValidateCancelForm(MemberForm):
    def name(self) -> str:
        return "validate_cancel_form"

    async def extract_cancel_reason(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # Asked "why?" again after "I want to resign, I've left the profession" reads as not
        # having listened.
        said = opening_message(tracker, "cancel_form", ("cancel_reason",))
        reason = reason_in_request(said) if said else None
        return {"cancel_reason": reason} if reason else {}

    async def validate_cancel_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        reason = " ".join(str(value or "").split())
        if not reason:
            return self.invalid(dispatcher, tracker, "cancel_reason", "May I ask why?")
        return self.valid(cancel_reason=reason[:400])


class ConfirmCancel(MemberAction):
    """Offer a reduced rate first when circumstances changed; then ask to confirm."""

    def name(self) -> str:
        return "action_confirm_cancel"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if handed_over := await hand_over_if_form_gave_up(
            dispatcher, tracker, reason="resignation not completed"
        ):
            return handed_over
        reason = str(tracker.get_slot("cancel_reason") or "").lower()
        if any(word in reason for word in REDUCED_RATE_REASONS):
            rates = await member_api(tracker).get("/subscriptions/rates")
            offers = [
                f"{c['label']}: {money(r['amount'])} {r['frequency']}"
                for c in rates["categories"]
                if c["category"] in ("reduced", "retired", "student")
                for r in c["rates"]
                if r["frequency"] == "monthly"
            ]
            if offers:
                dispatcher.utter_message(
                    text="Before you go: if your circumstances have changed, you may be able to "
                    "stay a member at a lower rate and keep your cover:\n- "
                    + "\n- ".join(offers)
                    + "\nYou can tell me about a change of circumstances instead."
                )
        return ask_to_confirm(dispatcher, tracker, "cancel_membership")


class SubmitCancel(MemberAction):
    def name(self) -> str:
        return "action_submit_cancel"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if answered := await unless_confirmed(dispatcher, tracker, "cancel_membership"):
            return answered
        outcome = await apply_change(
            dispatcher,
            tracker,
            method="POST",
            path=f"/members/{verified_number(tracker)}/membership/resign",
            body={"reason": tracker.get_slot("cancel_reason")},
            done="your resignation",
        )
        events: list[EventType] = [SlotSet(name, None) for name in ("cancel_reason", *DONE)]
        if outcome:
            dispatcher.utter_message(
                # The records API's message already gives the reference.
                text=f"{outcome['message']} "
                f"We're sorry to see you go, and you're welcome back any time."
            )
            events.append(SlotSet("last_reference", outcome["reference"]))
        return events


# What a member calls a category when asking what it costs, without saying it is theirs.
CATEGORY_WORDS = (
    ("student", re.compile(r"\b(students?|studying|universit\w*|college|apprentices?)\b", re.I)),
    ("retired", re.compile(r"\b(retired|retirees?|retirement|pensioners?|on (?:a|my) pension)\b",
                           re.I)),
    ("reduced", re.compile(r"\b(part[ -]?time|reduced|low(?:er)? (?:pay|paid|income)|"
                           r"unemployed|parental leave|maternity)\b", re.I)),
    ("full", re.compile(r"\b(full[ -]?time|full members?(?:hip)?)\b", re.I)),
)


def asked_category(text: str) -> str | None:
    """The rate category a question names ("how much is it for a student?"), if one."""
    return next((category for category, words in CATEGORY_WORDS if words.search(text)), None)


class JoinMembership(MemberAction):
    """How to join, with the current rates from the records API (no identity needed: public).

    A question about one kind of member ("how much is membership for a student?") is answered
    with that rate first.
    """

    def name(self) -> str:
        return "action_join_membership"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        rates = await RecordsApi.as_service(channel=channel_of(tracker)).get("/subscriptions/rates")
        wanted = asked_category(str((tracker.latest_message or {}).get("text") or ""))
        for category in rates["categories"]:
            if category["category"] == wanted and category["rates"]:
                dispatcher.utter_message(
                    text=f"{category['label']} membership is "
                    + " or ".join(f"{money(r['amount'])} {r['frequency']}"
                                  for r in category["rates"])
                    + (f" ({category['who_qualifies']})." if category.get("who_qualifies")
                       else ".")
                )
        lines = [
            f"- {c['label']}: "
            + ", ".join(f"{money(r['amount'])} {r['frequency']}" for r in c["rates"])
            + (f" ({c['who_qualifies']})" if c.get("who_qualifies") else "")
            for c in rates["categories"]
            if c["category"] != "honorary"
        ]
        dispatcher.utter_message(
            text="We'd be glad to have you. Membership rates depend on your circumstances:\n"
            + "\n".join(lines)
            + "\nYou can apply online in about five minutes; you'll need your employer, "
            "workplace and bank details for the Direct Debit (entered on our secure "
            "page, never in this chat). Ask for a person if you'd like help applying."
        )
        return []
