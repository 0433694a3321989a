"""Rasa's conversation trackers, in the SQL tracker store Rasa keeps them in.

Rasa (rasa.core.tracker_store.SQLTrackerStore) writes one row per event to a table `events`;
the purge needs only `id` and `timestamp` (Unix time, a float), the subject access export the
words of `user` and `bot` events (`data`, the event as JSON). The table is Rasa's, in Rasa's
own database, so it is declared on a MetaData of its own: it is never part of our schema or
our migrations. Events go in batches, each its own transaction, so a large store is never held
by one long delete, and a second purge running at the same time only finds less to do.

Rasa's sessions expire after 30 idle minutes (bot/domain/core.yml), so a cut-off months back
removes whole sessions: what a tracker still holds after a purge starts at a session start.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from api.database import make_engine
from api.errors import DomainError

_RASA = MetaData()
EVENTS = Table(
    "events",
    _RASA,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", String),
)


class TrackerStoreUnusable(DomainError):
    """The tracker store named in the settings cannot be purged (no `events` table)."""

    status_code = 503


def _old(before: datetime):  # type: ignore[no-untyped-def]
    return EVENTS.c.timestamp < before.timestamp()


@contextmanager
def _tracker_store(url: str) -> Iterator[Engine]:
    """An engine on the tracker store, checked to hold Rasa's `events`; disposed afterwards."""
    engine = make_engine(url)
    where = make_url(url).render_as_string(hide_password=True)
    try:
        try:
            has_events = inspect(engine).has_table("events")
        except OperationalError:
            raise TrackerStoreUnusable(
                f"could not connect to the tracker store at {where}; check "
                "MEMBERDESK_TRACKER_STORE_URL and that the server is running"
            ) from None
        if not has_events:
            raise TrackerStoreUnusable(
                f"the tracker store at {where} has no `events` table; "
                "MEMBERDESK_TRACKER_STORE_URL must name the database Rasa's tracker store uses"
            )
        yield engine
    finally:
        engine.dispose()


def count_old_events(*, url: str, before: datetime) -> int:
    """How many tracker events are older than `before` (nothing is deleted)."""
    with _tracker_store(url) as engine, engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(EVENTS).where(_old(before))))


def purge_old_events(*, url: str, before: datetime, batch_size: int) -> int:
    """Delete tracker events older than `before`, `batch_size` at a time; how many went."""
    deleted = 0
    with _tracker_store(url) as engine:
        while True:
            with engine.begin() as conn:
                ids = list(conn.scalars(
                    select(EVENTS.c.id).where(_old(before)).order_by(EVENTS.c.id)
                    .limit(batch_size)
                ))
                if not ids:
                    return deleted
                # The age is checked again: the ids are only where to look.
                done = conn.execute(EVENTS.delete().where(EVENTS.c.id.in_(ids), _old(before)))
                deleted += done.rowcount or 0


# What was said, and by whom: the export's words for Rasa's event types.
_SPEAKERS = {"user": "member", "bot": "assistant"}


def _said(data: str | None) -> str | None:
    """The text of a `user` or `bot` event's JSON; None when it holds none (buttons only)."""
    try:
        event = json.loads(data or "")
    except ValueError:
        return None
    text = event.get("text") if isinstance(event, dict) else None
    return text if isinstance(text, str) and text else None


def transcripts(*, url: str, conversation_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """What the member and the assistant said in each conversation still in the tracker store.

    Conversation id -> lines in the order Rasa wrote them ({at, sender, text}). A conversation
    purged or never held is absent. Slots, intents and actions are left out: they repeat what
    was said in a form only Rasa reads, and the identity factors typed are in the lines anyway.
    """
    wanted = sorted(set(conversation_ids))
    found: dict[str, list[dict[str, Any]]] = {}
    if not wanted:
        return found
    with _tracker_store(url) as engine, engine.connect() as conn:
        rows = conn.execute(
            select(EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data)
            .where(EVENTS.c.sender_id.in_(wanted), EVENTS.c.type_name.in_(list(_SPEAKERS)))
            .order_by(EVENTS.c.id)
        )
        for sender_id, type_name, timestamp, data in rows:
            text = _said(data)
            if text is None:
                continue
            at = datetime.fromtimestamp(timestamp, timezone.utc).isoformat() if timestamp else None
            found.setdefault(sender_id, []).append(
                {"at": at, "sender": _SPEAKERS[type_name], "text": text}
            )
    return found
