"""Subscriptions and payments: what a member pays, failed collections, refunds, charges, links.

Bank details and card numbers are never taken in chat: the member gets a signed, single-use,
expiring link to the secure page the records API serves.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from actions.base import MemberAction, MemberForm
from actions.changes import apply_change
from actions.choices import PAYMENT_METHODS, chosen
from actions.conversation import member_api, verified_number
from actions.escalation import escalate, hand_over_if_form_gave_up
from actions.formatting import money, when, with_reference
from actions.opening import opening_message
from bot.records import RecordsApiRefused


def member_path(tracker: Tracker, suffix: str) -> str:
    return f"/members/{verified_number(tracker)}{suffix}"


class CheckSubscription(MemberAction):
    def name(self) -> str:
        return "action_check_subscription"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        sub = await member_api(tracker).get(member_path(tracker, "/subscription"))
        # The API's explanation already says what, how often, which category and since when.
        note = sub["collection_note"]
        lines = [sub["explanation"], f"It's {note}." if note else ""]
        lines = [line for line in lines if line]
        if change := sub.get("last_change"):
            lines.append(f"It last changed on {when(change['on'])}: {change['reason']}")
        if upcoming := sub.get("upcoming_change"):
            lines.append(
                f"From {when(upcoming['on'])} it will be "
                f"{money(upcoming['amount']) if upcoming.get('amount') else 'a new rate'} "
                f"({upcoming['category_label']})."
            )
        dispatcher.utter_message(text="\n".join(line for line in lines if line))
        return []


class PaymentFailed(MemberAction):
    def name(self) -> str:
        return "action_payment_failed"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        api = member_api(tracker)
        try:
            failed = await api.get(member_path(tracker, "/collections/last-failed"))
        except RecordsApiRefused as exc:
            if exc.status != 404:
                raise
            dispatcher.utter_message(
                text="Good news: I can't see any failed payments on your "
                "membership. If your bank shows one, ask for a person "
                "and we'll look into it."
            )
            return []
        arrears = await api.get(member_path(tracker, "/arrears"))
        dispatcher.utter_message(
            text=f"Your payment of {money(failed['amount'])} due on {when(failed['due_on'])} "
            f"wasn't collected. {failed['reason']}\n{failed['what_happens_next']}\n"
            f"You currently owe {money(arrears['amount'])}.",
        )
        dispatcher.utter_message(
            text="What would you like to do?",
            buttons=[
                {"title": "Pay what I owe now", "payload": "I want to pay my arrears"},
                {
                    "title": "Set up a new Direct Debit",
                    "payload": "I want to set up a new direct debit",
                },
                {"title": "Talk to the team", "payload": "I want to speak to a person"},
            ],
        )
        return []


async def send_payment_link(
    dispatcher: CollectingDispatcher, tracker: Tracker, *, purpose: str
) -> list[EventType]:
    link = await member_api(tracker).post(
        member_path(tracker, "/payment-links"), {"purpose": purpose}
    )
    what = (
        "set up your Direct Debit"
        if purpose == "set_up_mandate"
        else f"pay {money(link['amount'])}"
        if link.get("amount")
        else "make your payment"
    )
    dispatcher.utter_message(
        text=f"Please use this secure page to {what}: {link['url']}\nIt works once and expires "
        f"at {link['expires_at'][11:16]} (UK time may differ by an hour). Never type bank or "
        f"card details into this chat."
    )
    return []


class MakePayment(MemberAction):
    def name(self) -> str:
        return "action_make_payment"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        arrears = await member_api(tracker).get(member_path(tracker, "/arrears"))
        if Decimal(str(arrears["amount"])) <= 0:
            dispatcher.utter_message(
                text="You don't owe anything at the moment: your membership is fully paid up."
            )
            return []
        dispatcher.utter_message(text=f"You owe {money(arrears['amount'])}.")
        return await send_payment_link(dispatcher, tracker, purpose="pay_arrears")


class ValidatePaymentMethodForm(MemberForm):
    def name(self) -> str:
        return "validate_payment_method_form"

    async def extract_payment_method_choice(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # "can I pay through my wages instead of direct debit": the request names the way.
        said = _from_the_request(tracker, "payment_method_form", ("payment_method_choice",))
        choice = chosen(said, PAYMENT_METHODS) if said else None
        return {"payment_method_choice": choice} if choice else {}

    async def validate_payment_method_choice(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if str(value or "") in PAYMENT_METHODS:  # read from the request already
            return self.valid(payment_method_choice=str(value))
        if choice := chosen(str(value or ""), PAYMENT_METHODS):
            return self.valid(payment_method_choice=choice)
        return self.invalid(
            dispatcher,
            tracker,
            "payment_method_choice",
            "Would you like to pay by Direct Debit, or from your pay (check-off)?",
        )


class SubmitPaymentMethod(MemberAction):
    def name(self) -> str:
        return "action_submit_payment_method"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        choice = tracker.get_slot("payment_method_choice")
        events: list[EventType] = [SlotSet("payment_method_choice", None)]
        if handed_over := await hand_over_if_form_gave_up(
            dispatcher, tracker, reason="payment method not completed", clearing=events
        ):
            return handed_over
        if choice == "payroll":
            outcome = await apply_change(
                dispatcher,
                tracker,
                method="POST",
                path=member_path(tracker, "/payment-method"),
                body={"method": "payroll"},
                done="your request to pay from your salary",
            )
            if outcome:
                dispatcher.utter_message(
                    text=with_reference(outcome["message"], outcome["reference"])
                )
            return events
        return events + await send_payment_link(dispatcher, tracker, purpose="set_up_mandate")


# "refund the last payment": a request that names the payment by when it was. Stricter than
# LATEST_PAYMENT, so "you charged me twice this month" still asks which payment.
NAMED_LATEST_PAYMENT = re.compile(
    r"\b(?:last|latest|most recent)\s+(?:payment|one|collection|charge|direct debit|subs?)\b",
    re.I,
)
# "the last one", "my latest payment", "this month's": members name a payment by when it was.
LATEST_PAYMENT = re.compile(r"\b(last|latest|most recent|this month'?s?|recent)\b", re.I)
# A refund request that says why: "you charged me twice", "I was overcharged", "you took a
# payment after I left". "I want a refund" says nothing of why, so the form asks.
REFUND_REASON = re.compile(
    r"\b(twice|two times|double|duplicate|overcharg\w*|too much|more than|wrong amount|"
    r"two (?:payments|charges|debits|direct debits|collections)|only owe (?:one|once)|"
    r"after (?:i|we) (?:left|resigned|cancelled|retired)|already (?:paid|left|cancelled)|"
    r"not a member|cancelled|by mistake|in error|shouldn'?t have|should not have|"
    r"still (?:charged|took|taken|being charged|paying))\b",
    re.I,
)


def _from_the_request(tracker: Tracker, form: str, slots: tuple[str, ...]) -> str | None:
    """The request that started `form` ("what is this £29.90 payment?"), while it starts."""
    return opening_message(tracker, form, slots)


async def _latest_collected(tracker: Tracker) -> dict[str, Any] | None:
    """The member's most recent collected payment, if any."""
    history = await member_api(tracker).get(member_path(tracker, "/collections"))
    collected = [c for c in history["collections"] if c["status"] == "collected"]
    return max(collected, key=lambda c: c["due_on"], default=None)


class ValidateRefundForm(MemberForm):
    def name(self) -> str:
        return "validate_refund_form"

    async def extract_refund_payment(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # "you charged me twice this month", said before the identity check, is the reason
        # (and "£29.90 on 1 November", the payment): not asked for again after it.
        said = _from_the_request(tracker, "refund_form", ("refund_payment", "refund_reason"))
        if not said:
            return {}
        found: dict[str, Any] = {}
        if parsing.parse_date(said) or parsing.amount(said):
            found["refund_payment"] = said[:200]
        elif latest := NAMED_LATEST_PAYMENT.search(said):
            found["refund_payment"] = latest[0]
        if REFUND_REASON.search(said):
            found["refund_reason"] = " ".join(said.split())[:1000]
        return found

    async def validate_refund_payment(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "")
        on, paid = parsing.parse_date(text), parsing.amount(text)
        if not on and not paid and LATEST_PAYMENT.search(text):
            latest = await _latest_collected(tracker)
            if latest:
                dispatcher.utter_message(
                    text=f"That's the {money(latest['amount'])} collected on "
                    f"{when(latest['due_on'])}."
                )
                return self.valid(refund_payment=latest["due_on"])
        if not on and not paid and REFUND_REASON.search(text) and not tracker.get_slot(
            "refund_reason"
        ):
            # Why, said before which: kept as the reason, and only the payment asked again.
            dispatcher.utter_message(text="Thanks, I've noted why.")
            return {"refund_payment": None, "refund_reason": " ".join(text.split())[:1000]}
        if not on and not paid:
            return self.invalid(
                dispatcher,
                tracker,
                "refund_payment",
                "Please tell me the date of the payment (like 01/10/2026) or "
                "its amount (like £24.50).",
            )
        return self.valid(refund_payment=text[:200])

    async def validate_refund_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        reason = " ".join(str(value or "").split())
        # "yes" or "ok" at "why should it be refunded?" is no reason to record.
        if len(reason) < 3 or parsing.is_conversation_reply(reason):
            return self.invalid(
                dispatcher,
                tracker,
                "refund_reason",
                "Could you say a little about why it should be refunded?",
            )
        return self.valid(refund_reason=reason[:1000])


class SubmitRefund(MemberAction):
    def name(self) -> str:
        return "action_submit_refund"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = [SlotSet("refund_payment", None), SlotSet("refund_reason", None)]
        if handed_over := await hand_over_if_form_gave_up(
            dispatcher, tracker, reason="refund request not completed", clearing=events
        ):
            return handed_over
        which = str(tracker.get_slot("refund_payment") or "")
        body: dict[str, Any] = {"reason": tracker.get_slot("refund_reason")}
        if on := parsing.parse_date(which):
            body["collection_due_on"] = on.isoformat()
        if paid := parsing.amount(which):
            body["amount"] = str(paid)
        outcome = await apply_change(
            dispatcher,
            tracker,
            method="POST",
            path=member_path(tracker, "/refund-requests"),
            body=body,
            done="your refund request",
        )
        if outcome:
            dispatcher.utter_message(
                text=with_reference(outcome["message"], outcome["reference"])
            )
            events.append(SlotSet("last_reference", outcome["reference"]))
        return events


class ValidateChargeForm(MemberForm):
    def name(self) -> str:
        return "validate_charge_form"

    async def extract_charge_details(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # "what is this £29.90 payment to you?": the amount is in the request itself.
        said = _from_the_request(tracker, "charge_form", ("charge_details",))
        if said and (parsing.parse_date(said) or parsing.amount(said)):
            return {"charge_details": said[:200]}
        return {}

    async def validate_charge_details(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "")
        if not parsing.parse_date(text) and not parsing.amount(text):
            return self.invalid(
                dispatcher,
                tracker,
                "charge_details",
                "Please tell me the amount (like £20) or the date it left your "
                "account (like 01/11/2026).",
            )
        return self.valid(charge_details=text[:200])


class ExplainCharge(MemberAction):
    def name(self) -> str:
        return "action_explain_charge"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = [SlotSet("charge_details", None)]
        if handed_over := await hand_over_if_form_gave_up(
            dispatcher, tracker, reason="unrecognised charge", clearing=events
        ):
            return handed_over
        text = str(tracker.get_slot("charge_details") or "")
        on, paid = parsing.parse_date(text), parsing.amount(text)
        found = await member_api(tracker).get(
            member_path(tracker, "/collections/match"),
            amount=str(paid) if paid else None,
            on=on.isoformat() if on else None,
        )
        if found.get("matches"):
            lines = [found["explanation"]] + [
                f"- {when(m['due_on'])}: {money(m['amount'])}, {m['description']} "
                f"({m['status']}). {m['explanation']}"
                for m in found["matches"][:5]
            ]
            dispatcher.utter_message(text="\n".join(lines))
            return events
        dispatcher.utter_message(
            text="I can't match that to any payment we've taken. Our "
            "payments team will look into it for you."
        )
        return events + await escalate(
            dispatcher,
            tracker,
            reason="charge not recognised",
            intent="payment_not_recognised",
            summary=f"Member does not recognise a charge: {text[:200]}",
        )
