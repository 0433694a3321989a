"""Member turns counted for the dashboard: the intent, and what the turn did for the request.

Besides the intent, each turn says whether the assistant fell back, whether its reply failed to
move the request forward (a misunderstanding: a fallback, an answer refused and asked again,
"what would you like me to do with that?", a rejected form answer), whether the member asked
for something we do (a goal began) and whether the goal was reached (a change, refund, case or
payment link with its reference, or a goal's answer given). The records API turns those into
resolved, escalated and abandoned conversations (api/reports/service.py).

The records API keeps the counts (api/conversations/views.py). The gate (channels.handoff.gate)
says which messages the assistant is about to handle (`expect()`) and hands over each tracker
Rasa saves (`note_saved()`), so a turn is read from a tracker Rasa read anyway; a channel then
calls `count_turn_soon()` once the reply is out. Counting never costs a member their answer:
every failure here is logged and dropped.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActiveLoop,
    SlotSet,
    UserUttered,
)

from bot.channel_api import HandoffApi
from bot.records import RecordsApiError

log = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTIONS = frozenset({"action_handle_fallback", "action_default_fallback"})
# Replies that leave the member where they were.
NOT_FORWARD_ACTIONS = FALLBACK_ACTIONS | {"action_value_out_of_context", "utter_what_next"}
# The goals answered by one action (actions/goals.py, no form): the answer is the goal.
# tests/bot/channels/handoff/test_turns.py checks this against the goal table.
ANSWERING_ACTIONS = frozenset({
    "action_check_subscription", "action_payment_failed", "action_make_payment",
    "action_renew_membership", "action_rejoin_membership", "action_membership_status",
    "action_ballot_eligibility", "action_ballot_paper_missing", "action_ballot_info",
    "action_join_membership", "action_industrial_action_info", "action_opening_hours",
})
# Forms that are not a member's request in themselves.
_SIDE_FORMS = frozenset({"identity_form", "rating_form"})


@dataclass(frozen=True)
class TurnSeen:
    """What one member turn did, as the dashboard counts it."""

    intent: str | None
    fallback: bool
    misunderstood: bool = False
    request_started: bool = False
    resolved: bool = False
# What the dashboard accepts as an intent name (api/conversations/schemas.py Turn).
_REPORTED_INTENT = re.compile(r"^[a-z_]{1,60}$")
# How long stopping a channel waits for the turns it is still counting.
_COUNTING_GRACE_SECONDS = 5.0


def processor_of(agent: Any) -> Any:
    """Rasa's message processor, or None: Rasa's Agent has none until a model is loaded."""
    return getattr(agent, "processor", None) if agent is not None else None


def turn_of(tracker: Any) -> TurnSeen:
    """What the assistant did with the member's latest message (see the module docstring)."""
    latest = tracker.latest_message
    intent = (latest.intent or {}).get("name") if latest is not None else None
    fallback = intent == FALLBACK_INTENT
    misunderstood = started = resolved = False
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        action = event.action_name if isinstance(event, ActionExecuted) else None
        fallback = fallback or action in FALLBACK_ACTIONS
        misunderstood = misunderstood or action in NOT_FORWARD_ACTIONS or isinstance(
            event, ActionExecutionRejected)
        if isinstance(event, SlotSet):
            if event.key == "form_failures" and (event.value or 0) > 0:
                misunderstood = True
            started = started or (event.key == "goal" and bool(event.value))
            resolved = resolved or (event.key == "last_reference" and bool(event.value))
        if isinstance(event, ActiveLoop) and event.name and event.name not in _SIDE_FORMS:
            started = True
        if action in ANSWERING_ACTIONS:
            started = resolved = True
    return TurnSeen(
        intent=intent if isinstance(intent, str) and intent else None,
        fallback=fallback,
        misunderstood=misunderstood or fallback,
        request_started=started,
        resolved=resolved,
    )


@dataclass
class TurnCounter:
    """One channel's count of the member turns the assistant handled."""

    api: HandoffApi
    channel: str
    # Kept small: an entry lives from the gate to the end of the same message's turn.
    _awaiting_turn: set[str] = field(default_factory=set, repr=False)
    _turns_seen: dict[str, TurnSeen] = field(default_factory=dict, repr=False)
    _counting: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    @property
    def in_flight(self) -> int:
        """How many messages the assistant was given whose turn is not counted yet."""
        return len(self._awaiting_turn)

    def forget(self) -> None:
        """Drop the turns in hand (messages Rasa failed on never end theirs)."""
        self._awaiting_turn.clear()
        self._turns_seen.clear()

    def expect(self, conversation_id: str) -> None:
        """The assistant is about to handle a message of this conversation."""
        self._awaiting_turn.add(conversation_id)

    def note_saved(self, tracker: Any) -> None:
        """Note the turn from a tracker Rasa has just saved, if its turn is awaited."""
        if tracker.sender_id in self._awaiting_turn:
            self._turns_seen[tracker.sender_id] = turn_of(tracker)

    async def close(self) -> None:
        """Wait (a few seconds at most) for turns still being counted."""
        if self._counting:
            await asyncio.wait(set(self._counting), timeout=_COUNTING_GRACE_SECONDS)

    async def count_turn(self, conversation_id: str, agent: Any) -> None:
        """Count the member turn the assistant just handled, from the tracker."""
        await self._count(conversation_id, agent, self._take_turn(conversation_id))

    def count_turn_soon(self, conversation_id: str, agent: Any) -> None:
        """`count_turn()` without holding up the member's reply: the records API's write of
        the count (a database commit) is then off the member's wait. `close()` waits for it."""
        seen = self._take_turn(conversation_id)
        task = asyncio.create_task(self._count(conversation_id, agent, seen))
        self._counting.add(task)
        task.add_done_callback(self._counting.discard)

    def _take_turn(self, conversation_id: str) -> TurnSeen | None:
        # Taken at once: the member's next message must not be counted in this one's place.
        self._awaiting_turn.discard(conversation_id)
        return self._turns_seen.pop(conversation_id, None)

    async def _count(
        self, conversation_id: str, agent: Any, seen: TurnSeen | None
    ) -> None:
        if seen is None:
            processor = processor_of(agent)
            if processor is None:
                return
            try:
                seen = turn_of(await processor.get_tracker(conversation_id))
            except Exception:
                # Counting is for the dashboard; it must never cost the member their answer.
                log.exception("handoff %s: turn not read from the tracker", self.channel)
                return
        intent = seen.intent
        if intent is not None and not _REPORTED_INTENT.match(intent):
            intent = None
        try:
            await self.api.turn(
                conversation_id, intent=intent, fallback=seen.fallback,
                misunderstood=seen.misunderstood, request_started=seen.request_started,
                resolved=seen.resolved,
            )
        except RecordsApiError as exc:
            log.warning("handoff %s: turn not counted (%s)", self.channel, exc)
