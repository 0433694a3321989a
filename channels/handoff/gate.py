"""The hand-off gate: while a person has a conversation, the assistant is quiet.

`LiveHandoff` is one channel's side of the hand-off (channels.handoff says what a channel does
with it): it decides where each member message goes, gives a conversation staff handed back to
the assistant again, and delivers staff messages. Turns the assistant handled are counted by
its `turns` (channels.handoff.turns).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    ConversationResumed,
    Event,
    SlotSet,
)
from rasa.shared.core.slots import CategoricalSlot

from bot.channel_api import HandoffApi
from bot.records import RecordsApiError, RecordsApiRefused
from bot.settings import BotSettings
from channels.handoff.turns import TurnCounter, processor_of

if TYPE_CHECKING:
    from sanic import Blueprint

log = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = 3.0
# Identity comes only from a check the assistant or a channel verified, never from a value
# handed back: these slots are never set from a hand-back.
_IDENTITY_SLOTS = frozenset(
    {"identity_level", "identity_status", "member_token", "verified_number", "membership_number"}
)
_PAUSED_STATES = frozenset({"waiting_for_staff", "with_staff"})
# Far more members than one process has messages in hand at once.
_MAX_TURNS_IN_FLIGHT = 10_000

UNREACHABLE_NOTICE = (
    "I couldn't pass your message to the team just now because our system is not answering. "
    "It is kept with this conversation; if nobody replies soon, please send it again in a few "
    "minutes."
)


@dataclass(frozen=True)
class StaffMessage:
    """A message from staff waiting to be shown to the member."""

    id: int
    text: str
    staff_name: str | None
    case_reference: str | None


@dataclass(frozen=True)
class Gate:
    """What to do with one member message."""

    # Pass the message to Rasa.
    to_assistant: bool
    # True when the records API answered (a turn can be counted).
    api_reachable: bool = True
    # The conversation is with a person: set while paused, for the channel's own wording.
    staff_name: str | None = None
    team_name: str | None = None
    case_reference: str | None = None
    # Something the channel should tell the member now (see UNREACHABLE_NOTICE).
    notice: str | None = None

    @property
    def passed_to(self) -> str:
        """Who the member's message went to, in words ("Alex Agent", "our Records team")."""
        if self.staff_name:
            return self.staff_name
        return f"our {self.team_name} team" if self.team_name else "our team"


SendStaffMessage = Callable[[StaffMessage], Awaitable[None]]
OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class StaffMessageNotSent(Exception):
    """A channel could not show a staff message; it stays undelivered and is sent later."""


def passed_on_notice(gate: Gate) -> str:
    """What the member is told when their message went to staff rather than the assistant."""
    return f"Your message has been passed to {gate.passed_to}."


def shown_as_from(message: StaffMessage) -> str:
    """The message as a plain-text channel shows it: "Alex Agent: ...", unless it already
    names them ("Alex Agent from the Records team has joined the conversation.")."""
    name = (message.staff_name or "").strip()
    if not name or message.text.startswith(name):
        return message.text
    return f"{name}: {message.text}"


def poll_seconds() -> float:
    """Seconds between polls for staff messages (MEMBERDESK_HANDOFF_POLL_SECONDS, default 3)."""
    try:
        return max(0.2, float(os.environ.get("MEMBERDESK_HANDOFF_POLL_SECONDS", "")))
    except ValueError:
        return DEFAULT_POLL_SECONDS


def learned_slots(handback: dict[str, Any] | None, domain: Any) -> list[Event]:
    """SlotSet events for what staff handed back, for the slots the domain has."""
    if not handback:
        return []
    slots = {slot.name: slot for slot in domain.slots}
    events: list[Event] = []
    values = handback.get("collected_values") or {}
    for name, value in sorted(values.items() if isinstance(values, dict) else []):
        if name in slots and name not in _IDENTITY_SLOTS and isinstance(value, str) and value:
            events.append(SlotSet(name, value))
    intent = handback.get("intent")
    goal = slots.get("goal")
    if isinstance(intent, str) and isinstance(goal, CategoricalSlot) and intent in goal.values:
        events.append(SlotSet("goal", intent))
    return events


@dataclass
class LiveHandoff:
    """One channel's side of the hand-off, over the records API."""

    settings: BotSettings
    channel: str
    api: HandoffApi = field(init=False)
    turns: TurnCounter = field(init=False)
    # Conversations the gate last saw with a person: `watch()` polls these.
    paused: set[str] = field(default_factory=set)
    _delivering: dict[str, asyncio.Lock] = field(default_factory=dict)
    # Kept small: an entry lives from the gate to the end of the same message's turn.
    _resume_when_read: set[str] = field(default_factory=set, repr=False)
    _watcher: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.api = HandoffApi(self.settings, channel=self.channel)
        self.turns = TurnCounter(self.api, self.channel)

    async def close(self) -> None:
        """Wait (a few seconds at most) for turns still being counted, then close the client."""
        await self.turns.close()
        await self.api.close()

    async def gate(self, conversation_id: str, text: str, agent: Any = None) -> Gate:
        """Decide where one member message (already masked by bot.safety) goes."""
        try:
            state = await self.api.handoff(conversation_id)
        except RecordsApiError as exc:
            log.warning("handoff %s: state unknown (%s); passing to the assistant",
                        self.channel, exc)
            return await self._unreachable(conversation_id, agent)
        if state.get("state") in _PAUSED_STATES:
            try:
                await self.api.member_message(conversation_id, text)
            except RecordsApiRefused as exc:
                # 409: handed back or resolved a moment ago; the assistant has it again.
                log.info("handoff %s: member message refused (%s)", self.channel, exc.status)
                self.paused.discard(conversation_id)
                return await self._assistant(conversation_id, agent, {"state": "assistant"})
            except RecordsApiError as exc:
                log.warning("handoff %s: member message not passed on (%s)", self.channel, exc)
                return await self._unreachable(conversation_id, agent)
            self.paused.add(conversation_id)
            return Gate(
                to_assistant=False,
                staff_name=state.get("staff_name"),
                team_name=state.get("team_name"),
                case_reference=state.get("case_reference"),
            )
        self.paused.discard(conversation_id)
        return await self._assistant(conversation_id, agent, state)

    async def handle(
        self, message: UserMessage, on_new_message: OnNewMessage, agent: Any
    ) -> Gate:
        """One checked member message: gated, then to the assistant and counted, or to staff.

        A notice the member should read (the API is down while paused) goes out through the
        message's own output channel first.
        """
        conversation_id = str(message.sender_id)
        gate = await self.gate(conversation_id, str(message.text or ""), agent)
        if gate.notice:
            await message.output_channel.send_text_message(conversation_id, gate.notice)
        if gate.to_assistant:
            await on_new_message(message)
            if gate.api_reachable:
                self.turns.count_turn_soon(conversation_id, agent)
        return gate

    async def _assistant(self, conversation_id: str, agent: Any, state: dict[str, Any]) -> Gate:
        handed_back = state.get("state") == "handed_back"
        if handed_back:
            await self.resume(conversation_id, agent, state.get("handback"))
        if self._watch(agent):
            if self.turns.in_flight > _MAX_TURNS_IN_FLIGHT:
                # Messages whose turn never ended (Rasa failed on them): start afresh.
                self.turns.forget()
                self._resume_when_read.clear()
            if not handed_back:
                # The case was resolved (or never reached the API): the API says the
                # assistant has the conversation, so a tracker still paused from the
                # escalation must not keep the member waiting in silence. Rasa is about to
                # read the tracker for this very message; the resumption is added to the one
                # it reads (see `_watch`), not by a read of ours.
                self._resume_when_read.add(conversation_id)
            self.turns.expect(conversation_id)
        return Gate(to_assistant=True)

    async def _unreachable(self, conversation_id: str, agent: Any) -> Gate:
        processor = processor_of(agent)
        paused = False
        if processor is not None:
            try:
                paused = (await processor.get_tracker(conversation_id)).is_paused()
            except Exception:
                log.exception("handoff %s: tracker could not be read", self.channel)
        return Gate(
            to_assistant=True, api_reachable=False,
            notice=UNREACHABLE_NOTICE if paused else None,
        )

    @staticmethod
    def _resumption() -> list[Event]:
        """The events that give a paused conversation back to the assistant."""
        # Rasa predicts nothing once paused, so no action_listen follows the escalation;
        # without one the member's next message matches no rule and only gets the fallback.
        return [ConversationResumed(), ActionExecuted(ACTION_LISTEN_NAME)]

    async def _append(self, conversation_id: str, agent: Any, events: list[Event]) -> bool:
        """Append `events` to the tracker under the conversation's lock; False without Rasa."""
        processor = processor_of(agent)
        if processor is None:
            return False
        async with processor.lock_store.lock(conversation_id):
            tracker = await processor.get_tracker(conversation_id)
            if events and isinstance(events[0], ConversationResumed) and not tracker.is_paused():
                events = events[len(self._resumption()):]
            for event in events:
                tracker.update(event, processor.domain)
            if events:
                await processor.save_tracker(tracker)
        return True

    def _watch(self, agent: Any) -> bool:
        """Hook this hand-off into the loaded model's processor, once; False without one.

        Two things every member message needed a tracker read of their own for (1.4 ms each
        with the in-memory store, a database round trip with PostgreSQL) are done on the
        trackers Rasa reads and saves for the message anyway:

        - a conversation the gate found back with the assistant is resumed on the tracker
          Rasa reads to handle the message, if it is still paused;
        - the intent and fallback of the turn are noted from the tracker Rasa saves after
          it, for `TurnCounter.count_turn()`.
        """
        processor = processor_of(agent)
        if processor is None:
            return False
        watched_by = processor.__dict__.setdefault("_memberdesk_watched_by", set())
        if id(self) in watched_by:
            return True
        read = processor.fetch_tracker_and_update_session
        save = processor.save_tracker

        async def read_and_resume(sender_id: str, *args: Any, **kwargs: Any) -> Any:
            tracker = await read(sender_id, *args, **kwargs)
            if sender_id in self._resume_when_read:
                self._resume_when_read.discard(sender_id)
                if tracker.is_paused():
                    for event in self._resumption():
                        tracker.update(event, processor.domain)
            return tracker

        async def save_and_note(tracker: Any) -> None:
            await save(tracker)
            self.turns.note_saved(tracker)

        processor.fetch_tracker_and_update_session = read_and_resume
        processor.save_tracker = save_and_note
        watched_by.add(id(self))
        return True

    async def resume(
        self, conversation_id: str, agent: Any, handback: dict[str, Any] | None
    ) -> None:
        """Give the assistant what staff learned, then confirm the hand-back to the API."""
        processor = processor_of(agent)
        if processor is None:
            log.warning("handoff %s: no assistant loaded to resume", self.channel)
            return
        events = [*self._resumption(), *learned_slots(handback, processor.domain)]
        await self._append(conversation_id, agent, events)
        try:
            await self.api.resumed(conversation_id)
        except RecordsApiError as exc:
            # Asked again on the next message; resuming twice changes nothing.
            log.warning("handoff %s: resume not confirmed (%s)", self.channel, exc)

    async def deliver_staff_messages(self, conversation_id: str, send: SendStaffMessage) -> int:
        """Send the staff messages waiting for this conversation; how many were delivered."""
        lock = self._delivering.setdefault(conversation_id, asyncio.Lock())
        async with lock:
            try:
                waiting = await self.api.staff_messages(conversation_id)
            except RecordsApiError as exc:
                log.warning("handoff %s: staff messages unknown (%s)", self.channel, exc)
                return 0
            try:
                messages = [
                    StaffMessage(
                        id=int(raw["id"]), text=str(raw.get("text") or ""),
                        staff_name=raw.get("staff_name"),
                        case_reference=raw.get("case_reference"),
                    )
                    for raw in waiting
                ]
            except (KeyError, TypeError, ValueError):
                log.warning("handoff %s: staff messages in an unexpected shape", self.channel)
                return 0
            sent: list[int] = []
            for message in messages:
                try:
                    await send(message)
                except Exception:
                    # Later messages wait too, so the member reads them in order.
                    log.exception("handoff %s: staff message %s not sent", self.channel,
                                  message.id)
                    break
                sent.append(message.id)
            if sent:
                try:
                    await self.api.delivered(conversation_id, sent)
                except RecordsApiError as exc:
                    log.warning("handoff %s: delivery not recorded (%s)", self.channel, exc)
            return len(sent)

    async def poll_once(self, send_for: Callable[[str], SendStaffMessage]) -> None:
        """Deliver staff messages for every conversation last seen paused."""
        for conversation_id in sorted(self.paused):
            try:
                state = await self.api.handoff(conversation_id)
            except RecordsApiError as exc:
                log.warning("handoff %s: poll failed (%s)", self.channel, exc)
                return
            await self.deliver_staff_messages(conversation_id, send_for(conversation_id))
            if state.get("state") not in _PAUSED_STATES:
                # Handed back or resolved: its last staff message has just gone out.
                self.paused.discard(conversation_id)
                self._delivering.pop(conversation_id, None)

    def watch_while_serving(
        self, blueprint: Blueprint, send_for: Callable[[str], SendStaffMessage]
    ) -> None:
        """Run `watch()` from the moment the channel's server starts until it stops."""

        @blueprint.listener("after_server_start")
        async def start_watching(*_: Any) -> None:
            self._watcher = asyncio.create_task(self.watch(send_for))

        @blueprint.listener("before_server_stop")
        async def stop_watching(*_: Any) -> None:
            await self.stop_watching()

    async def stop_watching(self) -> None:
        """Stop the poller `watch_while_serving()` started, if it runs."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def watch(
        self, send_for: Callable[[str], SendStaffMessage], *, seconds: float | None = None
    ) -> None:
        """Poll the paused conversations until cancelled (the channel's server stops)."""
        interval = seconds if seconds is not None else poll_seconds()
        while True:
            await asyncio.sleep(interval)
            if not self.paused:
                continue
            try:
                await self.poll_once(send_for)
            except Exception:
                log.exception("handoff %s: poll failed", self.channel)
