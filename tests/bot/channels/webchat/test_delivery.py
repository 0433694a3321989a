"""Each webchat message handled once, however often the widget sends it (at least once).

The widget sends a message again until the server acknowledges it as handled; the server
drops repeats. The ledgers are tested on their own (the replicas' one against the machine's
Redis), then a repeated message through the real channel, Rasa and all.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from channels.webchat import delivery
from channels.webchat.delivery import Delivery, MemoryLedger, RedisLedger
from tests.bot.channels.webchat.client import Visitor
from tests.bot.servers import Assistant

REDIS_URL = "redis://127.0.0.1:6379/5"


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("MEMBERDESK_REQUIRE_REDIS") == "1":
            raise
        pytest.skip(f"Redis is not answering on 127.0.0.1:6379: {exc}")


@pytest.fixture(params=["memory", "redis"])
def ledger(request: pytest.FixtureRequest) -> delivery.Ledger:
    if request.param == "memory":
        return MemoryLedger()
    _redis_or_skip()
    return RedisLedger(REDIS_URL)


def test_a_message_is_taken_once_then_acknowledged_again(ledger: delivery.Ledger) -> None:
    conversation, message = f"webchat-{uuid.uuid4().hex}", "tab1-1"

    async def journey() -> list[Delivery]:
        first = await ledger.claim(conversation, message)
        while_handling = await ledger.claim(conversation, message)
        await ledger.handled(conversation, message)
        after = await ledger.claim(conversation, message)
        other_conversation = await ledger.claim(f"{conversation}-other", message)
        return [first, while_handling, after, other_conversation]

    assert asyncio.run(journey()) == [
        Delivery.new, Delivery.handling, Delivery.done, Delivery.new,
    ]


def test_a_message_that_failed_is_taken_again(ledger: delivery.Ledger) -> None:
    conversation, message = f"webchat-{uuid.uuid4().hex}", "tab1-2"

    async def journey() -> tuple[Delivery, Delivery]:
        first = await ledger.claim(conversation, message)
        await ledger.release(conversation, message)
        return first, await ledger.claim(conversation, message)

    assert asyncio.run(journey()) == (Delivery.new, Delivery.new)


def test_a_claim_left_by_a_replica_that_died_runs_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _redis_or_skip()
    monkeypatch.setattr(delivery, "HANDLING_SECONDS", 1)
    ledger, conversation = RedisLedger(REDIS_URL), f"webchat-{uuid.uuid4().hex}"

    async def journey() -> Delivery:
        await ledger.claim(conversation, "tab1-3")  # and the replica died: never handled
        await asyncio.sleep(1.5)
        return await ledger.claim(conversation, "tab1-3")

    assert asyncio.run(journey()) is Delivery.new


def _user_texts(stack: Assistant, conversation_id: str) -> list[str]:
    events = stack.tracker(conversation_id)["events"]
    return [str(event.get("text")) for event in events if event.get("event") == "user"]


def test_a_message_sent_again_after_reconnecting_reaches_the_assistant_once(
    stack: Assistant,
) -> None:
    with Visitor(stack.rasa_url) as tab:
        start = tab.send(text="how do I join")
        sent = tab.wait_for("acknowledged", after=start)
        token, conversation = tab.session["token"], tab.conversation_id
    # The acknowledgement was lost with the connection: the widget, reconnected, sends the
    # same message (same id) again.
    with Visitor(stack.rasa_url, session=token) as reloaded:
        at = len(reloaded.events)
        reloaded.client.emit("user_uttered", {"id": sent["id"], "text": "how do I join"})
        repeat = reloaded.wait_for("acknowledged", lambda data: data["id"] == sent["id"],
                                   after=at)
        answered_again = reloaded.since(at, "bot_uttered")

    assert sent["repeat"] is False and repeat["repeat"] is True
    assert answered_again == []
    assert _user_texts(stack, conversation).count("how do I join") == 1
