"""Each webchat message handled once, however often the widget sends it.

The widget keeps every message it sends until the server acknowledges it, and sends what is
still unacknowledged again when it reconnects (a dropped connection, a replica that died, a
laptop waking up): delivery at least once. The server keeps a ledger of the message ids it has
taken, per conversation, and drops a repeat of one it has handled or is handling: effectively
once.

A message is acknowledged only once it has been handled, so a replica that dies half-way
through leaves it unacknowledged and the widget sends it again; Rasa saved nothing of the
half-handled message (channels.outages), so handling it again is right. The claim on a
message being handled runs out after `HANDLING_SECONDS`, so a claim left behind by a replica
that died never blocks the repeat for long.

With several Rasa replicas the ledger is in Redis (the webchat's MEMBERDESK_WEBCHAT_REDIS_URL,
already shared for socket.io rooms), so a repeat that reaches another replica is still a
repeat; with one process it is kept in memory.
"""

from __future__ import annotations

import enum
import time
from typing import Protocol

# Longer than any one message takes to handle; a claim older than this is a dead replica's.
HANDLING_SECONDS = 120
# How long a handled message's id is remembered: longer than any tab stays unacknowledged.
REMEMBER_SECONDS = 24 * 3600
_KEY_PREFIX = "memberdesk-webchat:delivered"
_HANDLING, _DONE = "handling", "done"


class Delivery(enum.Enum):
    """What to do with a message id just received."""

    new = "new"  # handle it
    handling = "handling"  # a copy is being handled now: its acknowledgement will follow
    done = "done"  # handled already: acknowledge again, handle nothing


class Ledger(Protocol):
    async def claim(self, conversation_id: str, message_id: str) -> Delivery: ...

    async def handled(self, conversation_id: str, message_id: str) -> None: ...

    async def release(self, conversation_id: str, message_id: str) -> None: ...


class MemoryLedger:
    """One process's ledger."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[str, float]] = {}

    def _forget_expired(self, now: float) -> None:
        if len(self._entries) < 10_000:
            return
        self._entries = {key: entry for key, entry in self._entries.items() if entry[1] > now}

    async def claim(self, conversation_id: str, message_id: str) -> Delivery:
        now = time.monotonic()
        self._forget_expired(now)
        key = (conversation_id, message_id)
        state, expires = self._entries.get(key, ("", 0.0))
        if expires > now:
            return Delivery.done if state == _DONE else Delivery.handling
        self._entries[key] = (_HANDLING, now + HANDLING_SECONDS)
        return Delivery.new

    async def handled(self, conversation_id: str, message_id: str) -> None:
        self._entries[(conversation_id, message_id)] = (_DONE, time.monotonic() + REMEMBER_SECONDS)

    async def release(self, conversation_id: str, message_id: str) -> None:
        self._entries.pop((conversation_id, message_id), None)


class RedisLedger:
    """The replicas' shared ledger: one key per message, claimed with SET NX."""

    def __init__(self, url: str) -> None:
        import redis.asyncio

        self._redis = redis.asyncio.Redis.from_url(url)

    @staticmethod
    def _key(conversation_id: str, message_id: str) -> str:
        return f"{_KEY_PREFIX}:{conversation_id}:{message_id}"

    async def claim(self, conversation_id: str, message_id: str) -> Delivery:
        key = self._key(conversation_id, message_id)
        if await self._redis.set(key, _HANDLING, nx=True, ex=HANDLING_SECONDS):
            return Delivery.new
        state = await self._redis.get(key)
        if state is None:  # expired between the two calls: claim it again
            return await self.claim(conversation_id, message_id)
        return Delivery.done if state.decode() == _DONE else Delivery.handling

    async def handled(self, conversation_id: str, message_id: str) -> None:
        await self._redis.set(self._key(conversation_id, message_id), _DONE, ex=REMEMBER_SECONDS)

    async def release(self, conversation_id: str, message_id: str) -> None:
        await self._redis.delete(self._key(conversation_id, message_id))


def ledger_for(redis_url: str | None) -> Ledger:
    """Redis when the replicas share one, else this process's memory."""
    return RedisLedger(redis_url) if redis_url else MemoryLedger()
