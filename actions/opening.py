"""The message in which a member asked for what a form now collects.

"I've moved to 5 Queen Square, Bristol BS1 4JQ" already holds the answers the address form is
about to ask for. The form may start several messages later (after the identity check), so the
message is found by its intent, not taken as the latest one: the latest may be the postcode
typed for the identity check, which is the old address, never the new one.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.clarifying import alike
from actions.goals import GOALS
from actions.parsing import without_identity
from bot.nlu import TEXT_AS_READ

# The identity check takes three answers, and a member may get one wrong or ask a question on
# the way: further back than this, the request belongs to an earlier part of the conversation.
MAX_MESSAGES_BACK = 10


def _intent(event: dict[str, Any]) -> str | None:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def opening_message(tracker: Tracker, form: str, slots: tuple[str, ...], *,
                    as_read: bool = False) -> str | None:
    """The text of the request that started `form`, while the form is only starting.

    None once the form has asked anything or holds any of `slots`, or when the form already
    ran after that request: its values are then the member's answers, not guesses.

    `as_read` gives the text as NLU read it, its misspelt words corrected
    (bot.nlu.spelling): for finding which thing the member asked about ("my old surnme"),
    never for a value, which is always taken as typed.
    """
    if tracker.get_slot("requested_slot") or any(tracker.get_slot(s) for s in slots):
        return None
    if (tracker.active_loop or {}).get("name") == form:
        return None
    intents = {goal.intent for goal in GOALS if goal.form == form}
    # Once the form has run after the request, its values are the member's answers.
    started = max((i for i, e in enumerate(tracker.events)
                   if e.get("event") == "active_loop" and e.get("name") == form), default=-1)
    messages = [e for e in tracker.events[started + 1:] if e.get("event") == "user"]
    for index in range(len(messages) - 1, max(len(messages) - 1 - MAX_MESSAGES_BACK, -1), -1):
        event = messages[index]
        if _intent(event) in intents:
            said = [event]
            # "Do you want to get a refund, or ...?" answered: the request is the message
            # the member was asked about, with the answer (actions.clarifying).
            if index and clarified(messages[index - 1], str(_intent(event))):
                said.insert(0, messages[index - 1])
            # The identity check's answers given with the request are not the request's
            # values: "I'm 1000002, postcode M14 5TQ, I've moved to ..." (actions.identity).
            return without_identity(" ".join(filter(None, (_text(e, as_read) for e in said))))
    return None


def _text(event: dict[str, Any], as_read: bool) -> str:
    text = event.get("text") or ""
    if text.startswith("/"):
        return ""  # a button's payload ("/request_refund"), not words the member typed
    if as_read:
        text = (event.get("parse_data") or {}).get(TEXT_AS_READ) or text
    return str(text)


def clarified(event: dict[str, Any], intent: str) -> bool:
    """`event` is a message the member was asked "do you want to ... or ...?" about, with
    `intent` one of the two (actions.clarifying)."""
    return _intent(event) == "nlu_fallback" and intent in (alike(event) or ())
