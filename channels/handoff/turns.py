"""Member turns counted for the dashboard: which intent, and whether the assistant fell back.

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

from rasa.shared.core.events import UserUttered

from bot.channel_api import HandoffApi
from bot.records import RecordsApiError

log = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTIONS = frozenset({"action_handle_fallback", "action_default_fallback"})
# What the dashboard accepts as an intent name (api/conversations/schemas.py Turn).
_REPORTED_INTENT = re.compile(r"^[a-z_]{1,60}$")
# How long stopping a channel waits for the turns it is still counting.
_COUNTING_GRACE_SECONDS = 5.0


def processor_of(agent: Any) -> Any:
    """Rasa's message processor, or None: Rasa's Agent has none until a model is loaded."""
    return getattr(agent, "processor", None) if agent is not None else None


def turn_of(tracker: Any) -> tuple[str | None, bool]:
    """The intent of the member's latest message, and whether the assistant fell back on it."""
    latest = tracker.latest_message
    intent = (latest.intent or {}).get("name") if latest is not None else None
    fallback = intent == FALLBACK_INTENT
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if getattr(event, "action_name", None) in FALLBACK_ACTIONS:
            fallback = True
    return (intent if isinstance(intent, str) and intent else None), fallback


@dataclass
class TurnCounter:
    """One channel's count of the member turns the assistant handled."""

    api: HandoffApi
    channel: str
    # Kept small: an entry lives from the gate to the end of the same message's turn.
    _awaiting_turn: set[str] = field(default_factory=set, repr=False)
    _turns_seen: dict[str, tuple[str | None, bool]] = field(default_factory=dict, repr=False)
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

    def _take_turn(self, conversation_id: str) -> tuple[str | None, bool] | None:
        # Taken at once: the member's next message must not be counted in this one's place.
        self._awaiting_turn.discard(conversation_id)
        return self._turns_seen.pop(conversation_id, None)

    async def _count(
        self, conversation_id: str, agent: Any, seen: tuple[str | None, bool] | None
    ) -> None:
        if seen is not None:
            intent, fallback = seen
        else:
            processor = processor_of(agent)
            if processor is None:
                return
            try:
                intent, fallback = turn_of(await processor.get_tracker(conversation_id))
            except Exception:
                # Counting is for the dashboard; it must never cost the member their answer.
                log.exception("handoff %s: turn not read from the tracker", self.channel)
                return
        if intent is not None and not _REPORTED_INTENT.match(intent):
            intent = None
        try:
            await self.api.turn(conversation_id, intent=intent, fallback=fallback)
        except RecordsApiError as exc:
            log.warning("handoff %s: turn not counted (%s)", self.channel, exc)
