"""Requests kept while the records API is down, replayed when it is back.

A member who asked for something while the API was unreachable is told so honestly; what they
asked for is written to the pending store (actions.pending_store: a SQLite file on one machine,
PostgreSQL shared by every replica in a deployment) and replayed once the API answers again, by
whichever action server claims it first. Nothing is lost.

A member's change is replayed with that member's own token, never the service token, which
could reach any record. When the token has run out by then (or never was one), the change goes
to staff as a case instead, to be checked and applied by a person.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from actions import pending_store
from actions.api_client import RecordsApi
from bot.records import RecordsApiRefused, RecordsApiUnavailable, already_received

log = logging.getLogger(__name__)
REPLAY_EVERY_SECONDS = 30
# Kept requests the service itself makes, and so may make again: cases.
SERVICE_PATHS = frozenset({"/cases"})
_replayer: asyncio.Task[None] | None = None


def keep(
    *,
    method: str,
    path: str,
    body: dict[str, Any],
    channel: str,
    member_token: str | None = None,
    idempotency_key: str | None = None,
) -> int:
    """Store a request for replay (a member's with their token and key); returns its id."""
    kept = pending_store.add(
        method=method,
        path=path,
        body=body,
        channel=channel,
        member_token=member_token,
        idempotency_key=idempotency_key,
    )
    return kept


def waiting() -> list[dict[str, Any]]:
    """Requests not yet replayed, oldest first."""
    return pending_store.unsettled()


async def replay_once(
    *, batch: int = pending_store.BATCH, lease: float = pending_store.LEASE_SECONDS
) -> int:
    """Replay what this replica can claim; returns how many were settled (done or refused)."""
    # The store is reached in a worker thread: the action server's event loop keeps serving
    # members while a replay waits on the database.
    store = asyncio.to_thread
    claimer = pending_store.new_claimer()
    settled = 0
    try:
        for item in await store(pending_store.claim, claimer, limit=batch, lease=lease):
            if not await store(pending_store.still_held, claimer, item["id"], lease=lease):
                continue  # this pass was too slow and another replica took the row over
            try:
                outcome = await _replay(item)
            except RecordsApiUnavailable:
                await store(pending_store.not_yet, item["id"])
                break  # still down: keep the order, try again later
            except RecordsApiRefused as exc:
                # Refused on its merits (e.g. the value became invalid): recorded, not retried.
                outcome = f"refused: {exc.status} {exc.detail}"[:300]
                log.warning("pending request %s refused: %s", item["id"], outcome)
            await store(pending_store.settle, item["id"], outcome)
            settled += 1
    finally:
        # What this pass did not get to is free for the next, here or on another replica. If
        # the store cannot be reached to say so, the lease frees the rows; and whatever ended
        # the pass (the server stopping, the store being down) is what is raised, not this.
        try:
            await store(pending_store.release, claimer)
        except Exception:  # noqa: BLE001
            log.warning("could not give back pending requests; their lease will", exc_info=True)
    if settled:
        # Each pass that settles a row clears what was settled long enough ago.
        await store(pending_store.forget_settled)
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


def replay_in_this_process() -> None:
    """Start the background replayer on the running event loop, once: the action server's,
    when it starts (actions.server), so requests kept before a restart are sent without
    waiting for a member. Nothing else starts it. A test or script running an action calls
    replay_once() itself: a replayer on its short-lived event loop would claim rows from
    under it and die holding them."""
    global _replayer
    if _replayer is None or _replayer.done():
        _replayer = asyncio.get_running_loop().create_task(_replay_forever())
