"""Requests kept while the records API is down, replayed when it is back.

A member who asked for something while the API was unreachable is told so honestly; what they
asked for is written here (a small SQLite file, so it survives a restart of the action server)
and replayed once the API answers again. Nothing is lost.

A member's change is replayed with that member's own token, never the service token, which
could reach any record. When the token has run out by then (or never was one), the change goes
to staff as a case instead, to be checked and applied by a person.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from actions.api_client import RecordsApi
from bot.records import RecordsApiRefused, RecordsApiUnavailable, already_received
from bot.settings import get_settings

log = logging.getLogger(__name__)
REPLAY_EVERY_SECONDS = 30
# Kept requests the service itself makes, and so may make again: cases.
SERVICE_PATHS = frozenset({"/cases"})
_replayer: asyncio.Task[None] | None = None


def _connect() -> sqlite3.Connection:
    path = Path(get_settings().pending_store)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS pending_requests ("
        " id INTEGER PRIMARY KEY, created REAL NOT NULL, method TEXT NOT NULL,"
        " path TEXT NOT NULL, body TEXT NOT NULL, channel TEXT NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0, outcome TEXT, member_token TEXT,"
        " idempotency_key TEXT)"
    )
    # A store kept by an older version: rows without a token go to staff; rows without a key
    # are replayed as they always were.
    columns = {row[1] for row in conn.execute("PRAGMA table_info(pending_requests)")}
    for column in ("member_token", "idempotency_key"):
        if column not in columns:
            conn.execute(f"ALTER TABLE pending_requests ADD COLUMN {column} TEXT")
    return conn


def keep(
    *,
    method: str,
    path: str,
    body: dict[str, Any],
    channel: str,
    member_token: str | None = None,
    idempotency_key: str | None = None,
) -> int:
    """Store a request for replay (a member's with their token and key); returns its local id."""
    with _connect() as conn:
        cursor = conn.execute(
            "INSERT INTO pending_requests"
            " (created, method, path, body, channel, member_token, idempotency_key)"
            " VALUES (?,?,?,?,?,?,?)",
            (time.time(), method, path, json.dumps(body), channel, member_token,
             idempotency_key),
        )
        ensure_replaying()
        return int(cursor.lastrowid or 0)


def waiting() -> list[dict[str, Any]]:
    """Requests not yet replayed, oldest first."""
    with _connect() as conn:
        rows = conn.execute(
            "SELECT id, method, path, body, channel, attempts, member_token, idempotency_key"
            " FROM pending_requests WHERE outcome IS NULL ORDER BY id"
        ).fetchall()
    columns = (
        "id", "method", "path", "body", "channel", "attempts", "member_token", "idempotency_key"
    )
    return [dict(zip(columns, row, strict=True)) for row in rows]


async def replay_once() -> int:
    """Replay what is waiting; returns how many were settled (done or refused for good)."""
    settled = 0
    for item in waiting():
        try:
            outcome = await _replay(item)
        except RecordsApiUnavailable:
            with _connect() as conn:
                conn.execute(
                    "UPDATE pending_requests SET attempts = attempts + 1 WHERE id = ?",
                    (item["id"],),
                )
            break  # still down: keep the order, try again later
        except RecordsApiRefused as exc:
            # Refused on its merits (e.g. the value became invalid): recorded, not retried.
            outcome = f"refused: {exc.status} {exc.detail}"[:300]
            log.warning("pending request %s refused: %s", item["id"], outcome)
        with _connect() as conn:
            conn.execute(
                "UPDATE pending_requests SET outcome = ? WHERE id = ?", (outcome, item["id"])
            )
        settled += 1
    return settled


async def _replay(item: dict[str, Any]) -> str:
    """Send one kept request again, as whoever may send it; what became of it."""
    method, path, body = item["method"], item["path"], json.loads(item["body"])
    if path in SERVICE_PATHS:
        return await _replay_case(item, body)
    try:
        member = RecordsApi.as_member(item["member_token"], channel=item["channel"])
        await member.request(method, path, json=body, idempotency_key=item["idempotency_key"])
        return "done"
    except RecordsApiRefused as exc:
        if already_received(exc):
            # The attempt that timed out had reached the API after all.
            return "done (already received)"
        if exc.status != 401:
            raise
    case = await RecordsApi.as_service(channel=item["channel"]).post(
        "/cases", _for_staff(method, path, body)
    )
    return f"handed to staff: {case.get('reference')}"


async def _replay_case(item: dict[str, Any], body: dict[str, Any]) -> str:
    """A kept case, opened as its verified member while their token lasts, else unverified."""
    if item["member_token"]:
        try:
            await RecordsApi.as_member(item["member_token"], channel=item["channel"]).post(
                "/cases", body
            )
            return "done"
        except RecordsApiRefused as exc:
            if exc.status != 401:
                raise
    await RecordsApi.as_service(channel=item["channel"]).post("/cases", body)
    return "done"


def _for_staff(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A case asking staff to check and apply a change its member's token can no longer make."""
    parts = path.strip("/").split("/")
    number = parts[1] if len(parts) > 1 and parts[0] == "members" else None
    return {
        "membership_number": number,
        "summary": f"A change asked for while our records were unreachable ({method} {path}); "
        "the member's identity check ran out before it could be applied. Check who asked "
        "before applying it.",
        "collected_values": {
            str(name)[:60]: str(value)[:1000]
            for name, value in body.items()
            if value is not None and name != "identity_level"
        },
        # Nothing here proves who asked: staff check again.
        "identity_level": "none",
    }


async def _replay_forever() -> None:
    while True:
        try:
            await replay_once()
        except Exception:  # noqa: BLE001 - the replayer must never die
            log.exception("replaying pending requests failed")
        await asyncio.sleep(REPLAY_EVERY_SECONDS)


def ensure_replaying() -> None:
    """Start the background replayer in the action server's event loop, once."""
    global _replayer
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # not inside the server (a script or a test): replay_once() is called directly
    if _replayer is None or _replayer.done():
        _replayer = loop.create_task(_replay_forever())
