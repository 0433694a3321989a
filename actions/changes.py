"""Sending a member's change to the records API, kept for replay when the API is down.

Every change a member asks for (address, employment, payment method, circumstances, refunds,
resignation) goes through `apply_change`, so a change made while the API is unreachable is
never lost and the member is told so in the same words.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import member_api
from actions.pending import keep
from bot.records import RecordsApiUnavailable


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
    try:
        return await api.request(method, path, json=body)  # type: ignore[no-any-return]
    except RecordsApiUnavailable:
        # Replayed with the member's own token (actions.pending), never the service's.
        keep(method=method, path=path, body=body, channel=api.channel,
             member_token=tracker.get_slot("member_token"))
        dispatcher.utter_message(
            text=f"Our records system isn't answering right now. I've saved your request and "
            f"it will be applied as soon as it's back: {done}. Nothing is lost."
        )
        return None
