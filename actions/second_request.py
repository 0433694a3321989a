"""Further requests carried by the message that made the first: "can I vote? I never got a paper".

NLU gives a message one intent, so the first request was handled and the second lost: the
member had to ask again, or never learned that no paper was on its way. The intent ranking
still holds the others: when the request message has more than one part, every other goal NLU
ranks at or above SECOND_REQUEST_CONFIDENCE is carried on with once the first is done, as if
the member had asked it next. A ranking is a guess, so only goals that answer or ask for
something nobody would regret are carried on (`may_carry_on` in actions.goals); a change to the
record, or anything with a form to fill, waits for the member to ask.

One that needs the identity check, for a member not yet checked (the first request needed
none), starts the check, and the check's own rules carry on with it. Nothing is carried on
after a hand-over, a question still waiting for the member's answer, inside a form, or when
the goal was handled since the request. This module never talks to the records API itself.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import is_verified
from actions.goals import GOALS, GOALS_BY_INTENT, Goal
from actions.parsing import without_identity

# How sure NLU must be that the message also asks for a goal. Chosen on messages of our own,
# never on the corpus: where NLU ranked the second request of a two-request message at all it
# gave it 0.12 to 0.32, and to other goals of one-request messages at most 0.07, apart from
# goals with a form ("I've left my job and started at the hospital": a change of
# circumstances at 0.39), which are never carried on. A second request NLU hardly ranks
# ("I've moved house, and my ballot paper never came": 0.01) is not found this way: that
# would take reading each part of the message on its own.
SECOND_REQUEST_CONFIDENCE = 0.1
# The same bound as actions.opening: further back, the request belongs to an earlier part of
# the conversation.
MAX_MESSAGES_BACK = 10
# Where one request may end and another begin: a sentence's end, or a joining word.
_PARTS = re.compile(r"[.?!;]+\s*|\s*,\s*|\s+-+\s+|\s+(?:and|also|plus|but|then)\s+", re.I)
# The goal each action finishes: the action that makes the change after a yes, or else the
# one that does the goal's whole job once its form (if any) is complete.
_FINISHING = {goal.on_affirm or goal.action: goal for goal in GOALS}


def _parts(text: str) -> list[str]:
    """The parts of a message that could each hold a request (two words or more)."""
    return [part for part in _PARTS.split(without_identity(text)) if len(part.split()) >= 2]


def _request_message(tracker: Tracker, goal: Goal) -> tuple[int, dict[str, Any]] | None:
    """The member's message that asked for `goal`, and where it is in the events."""
    seen = 0
    for index in range(len(tracker.events) - 1, -1, -1):
        event = tracker.events[index]
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent == goal.intent:
            return index, event
        seen += 1
        if seen >= MAX_MESSAGES_BACK:
            return None
    return None


def also_asked(message: dict[str, Any]) -> list[Goal]:
    """The goals a request message asks for besides its own intent's, most likely first."""
    parse_data = message.get("parse_data") or {}
    ranking = parse_data.get("intent_ranking") or []
    if len(ranking) < 2 or len(_parts(str(message.get("text") or ""))) < 2:
        return []
    first = ranking[0].get("name")
    goals = []
    for ranked in ranking[1:]:
        goal = GOALS_BY_INTENT.get(str(ranked.get("name")))
        if float(ranked.get("confidence") or 0.0) < SECOND_REQUEST_CONFIDENCE:
            break
        if goal is not None and goal.intent != first and goal.may_carry_on:
            goals.append(goal)
    return goals


def _handled_since(tracker: Tracker, index: int, goal: Goal) -> bool:
    names = {goal.action, goal.form, goal.on_affirm} - {None}
    return any(event.get("event") == "action" and event.get("name") in names
               for event in tracker.events[index + 1:])


def _first_is_finished(tracker: Tracker, events: list[EventType]) -> bool:
    """The first goal's action ended it: no hand-over, no form going on, nothing waiting for
    the member's answer (a read-back still waiting for a yes, say)."""
    if (tracker.active_loop or {}).get("name"):
        return False
    waiting = {name: tracker.get_slot(name) for name in ("pending_change", "requested_slot")}
    for event in events:
        if event.get("event") in ("pause", "followup", "active_loop"):
            return False
        if event.get("event") == "slot" and event.get("name") in waiting:
            waiting[event["name"]] = event.get("value")
    return not any(waiting.values())


def further_requests(action_name: str, tracker: Tracker, events: list[EventType]) -> list[Goal]:
    """The goals to carry on with after `action_name` returned `events`, most likely first."""
    first = _FINISHING.get(action_name)
    if first is None or not _first_is_finished(tracker, events):
        return []
    found = _request_message(tracker, first)
    if found is None:
        return []
    index, message = found
    return [goal for goal in also_asked(message) if not _handled_since(tracker, index, goal)]


def needs_the_check(goal: Goal, tracker: Tracker) -> bool:
    """`goal` needs the identity check and this member has not passed it."""
    return goal.needs_identity and not is_verified(tracker)


def start_the_check(goal: Goal, dispatcher: CollectingDispatcher) -> list[EventType]:
    """Events that start the identity check for `goal`, whose rules then carry on with it."""
    dispatcher.utter_message(
        text="You asked about something else too. For that I first need to check who you are, "
        "so I only ever discuss your own membership."
    )
    # As action_start_identity_check would (data/rules/goals.yml carries on with `goal`).
    return [SlotSet("goal", goal.intent), SlotSet("form_failures", 0),
            SlotSet("form_outcome", None), FollowupAction("identity_form")]
