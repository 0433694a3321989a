"""What the actions read from a conversation: who the member is, the transcript, the values."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Tracker

from actions.api_client import RecordsApi
from bot.safety import mask_card_numbers

# Slots worth handing to staff when a conversation is escalated (never identity factors).
COLLECTED_SLOTS = (
    "new_address_line1",
    "new_town",
    "new_postcode",
    "new_contact",
    "new_employer",
    "new_workplace",
    "new_job_title",
    "new_grade",
    "detail_kind",
    "new_detail_value",
    "circumstance",
    "circumstance_date",
    "payment_method_choice",
    "refund_payment",
    "refund_reason",
    "charge_details",
    "cancel_reason",
    "dp_request_kind",
    "complaint_text",
)


def channel_of(tracker: Tracker) -> str:
    """The channel this conversation came in on, as Rasa recorded it."""
    channel = (tracker.get_latest_input_channel() or "rest").lower()
    if channel == "socketio":
        return "webchat"
    return channel if channel in ("webchat", "telegram", "email", "rest") else "rest"


def is_verified(tracker: Tracker) -> bool:
    return tracker.get_slot("identity_status") == "verified" and bool(
        tracker.get_slot("member_token")
    )


def member_api(tracker: Tracker) -> RecordsApi:
    """The API as this verified member: only their own record; NotVerified without a token."""
    return RecordsApi.as_member(tracker.get_slot("member_token"), channel=channel_of(tracker))


def verified_number(tracker: Tracker) -> str:
    return str(tracker.get_slot("verified_number") or "")


def transcript(tracker: Tracker, *, limit: int = 200) -> list[dict[str, str]]:
    """The conversation so far, oldest first, card numbers masked."""
    lines: list[dict[str, str]] = []
    for event in tracker.events:
        sender = {"user": "member", "bot": "assistant"}.get(event.get("event", ""))
        text = event.get("text")
        if sender == "member" and str(text or "").startswith("/"):
            # An intent payload: a button's (the channel keeps what the member saw) or one a
            # channel sent by itself, such as the webchat's greeting, which nobody typed.
            text = _shown_text(event.get("metadata"))
        if not sender or not text:
            continue
        at = datetime.fromtimestamp(event.get("timestamp") or 0, tz=timezone.utc).isoformat()
        lines.append({"at": at, "sender": sender, "text": mask_card_numbers(str(text))[0]})
    return lines[-limit:]


def _shown_text(metadata: Any) -> str | None:
    """The words a channel showed for a button the member pressed, if it kept them."""
    for value in (metadata or {}).values() if isinstance(metadata, dict) else ():
        if isinstance(value, dict) and isinstance(value.get("shown"), str):
            return value["shown"]
    return None


def collected_values(tracker: Tracker) -> dict[str, str]:
    """Values the member already gave, so staff never ask again."""
    values: dict[str, str] = {}
    for name in COLLECTED_SLOTS:
        value: Any = tracker.get_slot(name)
        if value not in (None, ""):
            values[name] = mask_card_numbers(str(value))[0][:500]
    return values


def last_member_intent(tracker: Tracker) -> str | None:
    """The most recent intent that named a goal (not yes/no or a bare value)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            name = (event.get("parse_data") or {}).get("intent", {}).get("name")
            if name and name not in (
                "affirm",
                "deny",
                "inform",
                "nlu_fallback",
                "greet",
                "thank_you",
                "request_human",
            ):
                return name
    return tracker.get_slot("goal")
