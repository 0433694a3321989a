"""The message in which a member asked for what a form now collects.

"I've moved to 5 Queen Square, Bristol BS1 4JQ" already holds the answers the address form is
about to ask for. The form may start several messages later (after the identity check), so the
message is found by its intent, not taken as the latest one: the latest may be the postcode
typed for the identity check, which is the old address, never the new one.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.goals import GOALS
from actions.parsing import without_identity

# The identity check takes three answers, and a member may get one wrong or ask a question on
# the way: further back than this, the request belongs to an earlier part of the conversation.
MAX_MESSAGES_BACK = 10


def _intent(event: dict[str, Any]) -> str | None:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def opening_message(tracker: Tracker, form: str, slots: tuple[str, ...]) -> str | None:
    """The text of the request that started `form`, while the form is only starting.

    None once the form has asked anything or holds any of `slots`, or when the form already
    ran after that request: its values are then the member's answers, not guesses.
    """
    if tracker.get_slot("requested_slot") or any(tracker.get_slot(s) for s in slots):
        return None
    if (tracker.active_loop or {}).get("name") == form:
        return None
    intents = {goal.intent for goal in GOALS if goal.form == form}
    seen = 0
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == form:
            return None
        if event.get("event") != "user":
            continue
        if _intent(event) in intents:
            # The identity check's answers given with the request are not the request's
            # values: "I'm 1000002, postcode M14 5TQ, I've moved to ..." (actions.identity).
            return without_identity(str(event.get("text") or ""))
        seen += 1
        if seen >= MAX_MESSAGES_BACK:
            return None
    return None
