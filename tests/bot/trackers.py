"""Recorded trackers for action tests: the state Rasa would send the action server."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from tests.bot.servers import SERVICE_TOKEN, RecordsApi

ROOT = Path(__file__).resolve().parents[2]

# The demo members `memberdesk seed` creates (README, Demo data).
PRIYA = {"membership_number": "1000001", "date_of_birth": "1985-03-14", "postcode": "LS1 4AB"}


@lru_cache
def domain() -> dict[str, Any]:
    """The assistant's domain as the action server receives it."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "bot/domain")).as_dict()


def tracker(
    *,
    slots: dict[str, Any] | None = None,
    intent: str = "greet",
    text: str = "",
    entities: list[dict[str, Any]] | None = None,
    sender: str = "test-conversation",
    metadata: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
    extracted: dict[str, Any] | None = None,
) -> Tracker:
    """A tracker whose latest message is `text`, classified as `intent`.

    `extracted` are the slots Rasa filled from that message: a form's validation action
    checks exactly those.
    """
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": entities or [],
        "metadata": metadata or {},
    }
    user_event = {"event": "user", "text": text, "parse_data": latest, "metadata": metadata or {}}
    filled = [{"event": "slot", "name": k, "value": v} for k, v in (extracted or {}).items()]
    return Tracker(
        sender,
        {"session_started_metadata": None, **(slots or {}), **(extracted or {})},
        latest,
        [*(events or []), user_event, *filled],
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def run(action: Action, state: Tracker) -> tuple[list[EventType], list[dict[str, Any]]]:
    """Run `action` on `state`: the events it returns and the messages it sent."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, state, domain()))
    return events, dispatcher.messages


def slots_set(events: list[EventType]) -> dict[str, Any]:
    """The slot values the events set, last one winning."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def texts(messages: list[dict[str, Any]]) -> str:
    """Everything the member was shown, as one string (responses by name)."""
    return "\n".join(m.get("text") or m.get("response") or "" for m in messages)


def verified_slots(api: RecordsApi, number: str = "1000001") -> dict[str, Any]:
    """Slots of a conversation whose identity check passed for member `number`.

    The details are read from the record first: other tests may have moved the member.
    """
    record = api.member(number)
    response = httpx.post(
        f"{api.url}/api/v1/identity/check",
        json={
            "membership_number": number,
            "date_of_birth": record["date_of_birth"],
            "postcode": record["postcode"],
        },
        headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
        timeout=10,
    )
    response.raise_for_status()
    answer = response.json()
    return {
        "identity_status": "verified",
        "member_token": answer["token"],
        "verified_number": answer["membership_number"],
        "member_first_name": answer.get("first_name"),
        "identity_level": "identity_checked",
    }
