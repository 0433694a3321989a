"""Sending a member's change to the records API: made once, and kept for replay when it is down.

Every change a member asks for (address, employment, payment method, circumstances, refunds,
resignation) goes through `apply_change`, so a change made while the API is unreachable is
never lost, a change sent twice is made once, and the member is told so in the same words.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import member_api
from actions.pending import keep
from bot.records import (
    RecordsApiRefused,
    RecordsApiUnavailable,
    already_received,
    idempotency_key,
)


def _asked_at(tracker: Tracker) -> float | str:
    """When the member started asking for this change: the latest form's start, else message.

    The same change sent again from the same point of the conversation (the action retried
    after a timeout, a second "yes" after the first was lost on the way) gets the same key;
    the same change asked for again later, through the form again, is a new one.
    """
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name"):
            return event.get("timestamp") or ""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event.get("timestamp") or ""
    return ""


def change_key(tracker: Tracker, *, method: str, path: str, body: dict[str, Any]) -> str:
    """The idempotency key for this change at this point of this conversation."""
    values = sorted((str(name), str(value)) for name, value in body.items())
    return idempotency_key(tracker.sender_id, method, path, values, _asked_at(tracker))


async def apply_change(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    *,
    method: str,
    path: str,
    body: dict[str, Any],
    done: str,
) -> dict[str, Any] | None:
    """Send a change to the API as the member; keep it for replay if the API is down."""
    api = member_api(tracker)
    key = change_key(tracker, method=method, path=path, body=body)
    try:
        return await api.request(  # type: ignore[no-any-return]
            method, path, json=body, idempotency_key=key
        )
    except RecordsApiUnavailable:
        # Replayed with the member's own token (actions.pending), never the service's, and
        # under the same key: if this attempt did reach the API, the replay changes nothing.
        keep(method=method, path=path, body=body, channel=api.channel,
             member_token=tracker.get_slot("member_token"), idempotency_key=key)
        dispatcher.utter_message(
            text=f"Our records system isn't answering right now. I've saved your request and "
            f"it will be applied as soon as it's back: {done}. Nothing is lost."
        )
        return None
    except RecordsApiRefused as refused:
        if not already_received(refused):
            raise
        dispatcher.utter_message(
            text="We already have that request from a moment ago, so I haven't sent it again: "
            f"{done}. You'll see it on your record shortly."
        )
        return None
