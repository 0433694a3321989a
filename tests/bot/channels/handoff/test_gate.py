"""Live hand-off on the channels: while staff have a conversation, the assistant is quiet.

The REST test runs the whole system (Rasa, the action server, the records API) and drives the
console as a member of staff would; the Telegram tests run the webhook against the real
records API and the fake Bot API.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ConversationPaused,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channel_api import HandoffApi
from bot.settings import read_settings
from channels.handoff.gate import (
    UNREACHABLE_NOTICE,
    LiveHandoff,
    StaffMessage,
    learned_slots,
    shown_as_from,
)
from tests.bot.channels.conftest import UNREACHABLE_API
from tests.bot.channels.staff_console import StaffConsole
from tests.bot.channels.telegram.fake_bot_api import (
    BackgroundLoop,
    FakeBotApi,
    Testbed,
    message_update,
)
from tests.bot.servers import ROOT, SERVICE_TOKEN, Assistant, RecordsApi

JOINED = "Alex Agent from the {team} team has joined the conversation."
HANDED_BACK = "Alex Agent has passed you back to the membership assistant."


def _texts(replies: list[dict]) -> list[str]:
    return [reply.get("text") or "" for reply in replies]


def _only_case(api: RecordsApi, conversation_id: str) -> dict:
    with api.client() as client:
        cases = client.get("/cases", params={"conversation_id": conversation_id}).json()
    assert len(cases) == 1, cases
    return cases[0]  # type: ignore[no-any-return]


def _handoff(api: RecordsApi, conversation_id: str) -> dict:
    with api.client() as client:
        return client.get(f"/conversations/{conversation_id}/handoff").json()  # type: ignore


def _waiting(api: RecordsApi, conversation_id: str) -> list[str]:
    with api.client() as client:
        answer = client.get(f"/conversations/{conversation_id}/staff-messages").json()
    return [message["text"] for message in answer["messages"]]


def _member_turns(api: RecordsApi, conversation_id: str) -> int | None:
    with sqlite3.connect(api.database) as db:
        row = db.execute(
            "SELECT member_turns FROM conversations WHERE conversation_id = ?",
            (conversation_id,),
        ).fetchone()
    return None if row is None else int(row[0])


def _typed(tracker: dict) -> list[str]:
    return [event.get("text") or "" for event in tracker["events"] if event["event"] == "user"]


@pytest.fixture
def staff(api: RecordsApi) -> Iterator[StaffConsole]:
    console = StaffConsole(api.url, "alex.agent")
    yield console
    console.close()


def test_staff_take_over_a_rest_conversation_and_hand_it_back(
    stack: Assistant, staff: StaffConsole
) -> None:
    member = "rest:handoff-1"
    stack.say(member, "hello")
    asked = " ".join(_texts(stack.say(member, "I want to speak to a real person please")))
    case = _only_case(stack.api, member)
    reference = case["reference"]
    assert reference in asked
    assert _handoff(stack.api, member)["state"] == "waiting_for_staff"

    staff.take(reference)
    staff.reply(reference, "Hello, I'm Alex. What is your new postcode?")
    replies = stack.say(member, "It is LS2 9JT now")

    # Passed to the person who has it, and not a word from the assistant.
    assert _texts(replies) == ["Your message has been passed to Alex Agent."]
    assert "It is LS2 9JT now" in staff.conversation(reference)
    assert "It is LS2 9JT now" not in _typed(stack.tracker(member))
    assert stack.tracker(member)["paused"] is True
    # The integration fetches staff messages itself; the REST channel leaves them waiting.
    assert _waiting(stack.api, member) == [
        JOINED.format(team=case["team_name"]), "Hello, I'm Alex. What is your new postcode?"
    ]

    staff.hand_back(reference, "Postcode confirmed as LS2 9JT")
    answered = stack.say(member, "hi")

    # The assistant answers what was said, not with its fallback.
    assert "I'm the membership assistant" in " ".join(_texts(answered)), answered
    tracker = stack.tracker(member)
    assert tracker["paused"] is False
    kinds = [event["event"] for event in tracker["events"]]
    assert "resume" in kinds and kinds.index("resume") > kinds.index("pause")
    assert _typed(tracker)[-1] == "hi"
    assert _handoff(stack.api, member)["state"] == "assistant"  # the resume was confirmed
    # hello, the request for a person and hi: the message staff handled is not the assistant's.
    # Counted while the member reads the reply: give the last count a moment to land.
    assert _eventually(lambda: _member_turns(stack.api, member) == 3, seconds=5)


def test_a_resolved_case_gives_the_conversation_back_to_the_assistant(
    stack: Assistant, staff: StaffConsole
) -> None:
    member = "rest:handoff-resolved"
    stack.say(member, "I want to talk to a human")
    reference = _only_case(stack.api, member)["reference"]
    staff.resolve(reference, "We updated your address over the phone.")

    answered = stack.say(member, "hello")

    assert "I'm the membership assistant" in " ".join(_texts(answered)), answered
    assert stack.tracker(member)["paused"] is False


def test_while_nobody_has_taken_it_the_member_is_told_the_team_has_it(
    stack: Assistant,
) -> None:
    member = "rest:handoff-waiting"
    stack.say(member, "can I speak to someone please")
    case = _only_case(stack.api, member)

    replies = stack.say(member, "hello? anyone?")

    assert _texts(replies) == [f"Your message has been passed to our {case['team_name']} team."]
    assert "hello? anyone?" not in _typed(stack.tracker(member))


# --- Telegram ---------------------------------------------------------------------------------


@pytest.fixture
def live_testbed(
    background_loop: BackgroundLoop, bot_api: FakeBotApi, tmp_path: Path, api: RecordsApi,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Testbed]:
    """The Telegram webhook against the real records API, polling staff messages quickly."""
    monkeypatch.setenv("MEMBERDESK_ENV", "test")
    monkeypatch.setenv("MEMBERDESK_API_URL", api.url)
    monkeypatch.setenv("MEMBERDESK_SERVICE_TOKEN", SERVICE_TOKEN)
    monkeypatch.setenv("MEMBERDESK_API_TIMEOUT", "10")
    monkeypatch.setenv("MEMBERDESK_CHANNEL_SECRET", "channel-tests-secret-0123456789abcdefghij")
    monkeypatch.setenv("MEMBERDESK_HANDOFF_POLL_SECONDS", "0.3")
    bed = Testbed(background_loop, bot_api, tmp_path / "telegram.sqlite3").start()
    yield bed
    bed.stop()


def _escalated_telegram_chat(api: RecordsApi, chat_id: int) -> str:
    """A case opened for this chat as the assistant opens one; its reference."""
    with api.client() as client:
        opened = client.post("/cases", json={
            "channel": "telegram", "conversation_id": f"telegram:{chat_id}",
            "intent": "change_address",
            "summary": "Member asked for a person (change_address)",
        }, headers={"X-Memberdesk-Channel": "telegram"})
    assert opened.status_code == 201, opened.text
    return str(opened.json()["reference"])


def _eventually(check: Callable[[], Any], seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds:.0f} s")


def test_telegram_staff_replies_reach_the_chat_with_the_staff_name(
    live_testbed: Testbed, api: RecordsApi, staff: StaffConsole
) -> None:
    chat = 7_100_001
    reference = _escalated_telegram_chat(api, chat)
    staff.take(reference)
    staff.reply(reference, "Hello, I'm Alex. What is your new postcode?")

    live_testbed.post(message_update(chat, text="My postcode is LS2 9JT"))

    assert live_testbed.assistant.messages == []  # nothing reaches the assistant
    texts = live_testbed.texts_to(chat)
    assert texts[0].startswith("Alex Agent from the ") and texts[0].endswith(
        " team has joined the conversation.")
    assert texts[1:] == ["Alex Agent: Hello, I'm Alex. What is your new postcode?"]
    assert "My postcode is LS2 9JT" in staff.conversation(reference)
    assert _waiting(api, str(chat)) == []  # marked delivered once sent

    # With nothing more from the member, the channel's poller brings the next reply...
    staff.reply(reference, "Thanks, all done.")
    _eventually(lambda: "Alex Agent: Thanks, all done." in live_testbed.texts_to(chat))
    # ...and the hand-back, after which the assistant has the chat again.
    staff.hand_back(reference, "Postcode confirmed")
    _eventually(lambda: HANDED_BACK in live_testbed.texts_to(chat))
    live_testbed.post(message_update(chat, text="thank you"))
    assert live_testbed.assistant.texts == ["thank you"]


def test_a_staff_message_telegram_refused_is_sent_again_not_lost(
    live_testbed: Testbed, api: RecordsApi, staff: StaffConsole
) -> None:
    chat = 7_100_002
    reference = _escalated_telegram_chat(api, chat)
    live_testbed.post(message_update(chat, text="is anyone there?"))  # seen paused from now
    live_testbed.bot_api.refuse("sendMessage", 400, "Bad Request: chat not found", times=1)
    staff.reply(reference, "Yes, I'm here.")

    delivered = _eventually(
        lambda: "Alex Agent: Yes, I'm here." in live_testbed.texts_to(chat))

    assert delivered and live_testbed.assistant.messages == []
    # The fake records refused calls too: the refused first message was offered again, and
    # the reply after it waited for it, so the member reads them in order.
    texts = live_testbed.texts_to(chat)
    joined = [text for text in texts if text.endswith("has joined the conversation.")]
    assert len(joined) == 2
    assert texts.index("Alex Agent: Yes, I'm here.") > len(texts) - 2
    assert _waiting(api, str(chat)) == []


def test_telegram_with_the_records_api_down_still_answers_the_member(
    testbed: Testbed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="channels.handoff")

    testbed.post(message_update(7_100_003, text="what do I owe?"))

    assert testbed.assistant.texts == ["what do I owe?"]
    assert testbed.texts_to(7_100_003) == ["How can I help?"]
    assert "state unknown" in caplog.text and "owe" not in caplog.text


# --- The module on its own --------------------------------------------------------------------


class _PausedTrackers:
    """Stands in for Rasa's processor where only the tracker is read."""

    def __init__(self, tracker: DialogueStateTracker) -> None:
        self.tracker = tracker

    async def get_tracker(self, conversation_id: str) -> DialogueStateTracker:
        return self.tracker


class _Agent:
    def __init__(self, processor: Any) -> None:
        self.processor = processor


def test_with_the_api_down_a_paused_conversation_is_told_honestly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEMBERDESK_ENV", "test")
    monkeypatch.setenv("MEMBERDESK_API_URL", UNREACHABLE_API)
    paused = DialogueStateTracker.from_events("t-1", [ConversationPaused()])
    handoff = LiveHandoff(read_settings(), "rest")

    async def both() -> tuple[Any, Any]:
        try:
            return (await handoff.gate("t-1", "hello", _Agent(_PausedTrackers(paused))),
                    await handoff.gate("t-2", "hello", _Agent(None)))
        finally:
            await handoff.close()

    when_paused, otherwise = asyncio.run(both())

    assert (when_paused.to_assistant, when_paused.notice) == (True, UNREACHABLE_NOTICE)
    assert (otherwise.to_assistant, otherwise.notice) == (True, None)
    assert not when_paused.api_reachable


def test_what_staff_learned_becomes_slots_but_never_an_identity() -> None:
    domain = Domain.load(str(ROOT / "bot/domain"))

    events = learned_slots({
        "intent": "change_address",
        "collected_values": {"new_postcode": "LS2 9JT", "postcode": "LS1 4AB",
                             "verified_number": "1000001", "no_such_slot": "x"},
        "identity_level": "identity_checked",
    }, domain)

    assert events == [SlotSet("new_postcode", "LS2 9JT"), SlotSet("postcode", "LS1 4AB"),
                      SlotSet("goal", "change_address")]


def test_a_staff_message_is_shown_with_the_name_unless_it_names_them() -> None:
    joined = StaffMessage(1, "Alex Agent from the Records team has joined the conversation.",
                          "Alex Agent", "CS-1")
    reply = StaffMessage(2, "Hello", "Alex Agent", "CS-1")

    assert shown_as_from(joined) == joined.text
    assert shown_as_from(reply) == "Alex Agent: Hello"
    assert shown_as_from(StaffMessage(3, "Hello", None, "CS-1")) == "Hello"


def test_a_conversation_id_never_changes_the_route() -> None:
    # Telegram's linked conversations carry a colon; a slash must stay inside the id.
    assert HandoffApi._base("4242:linked-7") == "/conversations/4242%3Alinked-7"
    assert HandoffApi._base("a/../b") == "/conversations/a%2F..%2Fb"


class _Processor:
    """Stands in for Rasa's processor: it reads and saves one tracker, as Rasa does for a
    message; a read of the hand-off's own fails the test."""

    def __init__(self, tracker: DialogueStateTracker) -> None:
        self.tracker = tracker
        self.domain = Domain.empty()
        self.saved: list[DialogueStateTracker] = []

    async def fetch_tracker_and_update_session(
        self, sender_id: str, *_: Any, **__: Any
    ) -> DialogueStateTracker:
        assert sender_id == self.tracker.sender_id
        return self.tracker

    async def save_tracker(self, tracker: DialogueStateTracker) -> None:
        self.saved.append(tracker)

    async def get_tracker(self, conversation_id: str) -> DialogueStateTracker:
        raise AssertionError("the hand-off read the tracker itself")


def _conversation_row(api: RecordsApi, conversation_id: str) -> tuple | None:
    with sqlite3.connect(api.database) as db:
        return db.execute(  # type: ignore[no-any-return]
            "SELECT member_turns, fallback_turns, intent FROM conversations "
            "WHERE conversation_id = ?", (conversation_id,),
        ).fetchone()


@pytest.mark.parametrize("paused", [True, False])
def test_the_gate_resumes_and_counts_on_the_trackers_rasa_reads_and_saves(
    api: RecordsApi, monkeypatch: pytest.MonkeyPatch, paused: bool
) -> None:
    monkeypatch.setenv("MEMBERDESK_ENV", "test")
    monkeypatch.setenv("MEMBERDESK_API_URL", api.url)
    monkeypatch.setenv("MEMBERDESK_SERVICE_TOKEN", SERVICE_TOKEN)
    member = f"rest:watched-{'paused' if paused else 'listening'}"
    history = [ActionExecuted("action_listen"), *([ConversationPaused()] if paused else [])]
    processor = _Processor(DialogueStateTracker.from_events(member, history))
    handoff = LiveHandoff(read_settings(), "rest")

    async def one_message() -> Any:
        try:
            # No case for this conversation: the API says the assistant has it.
            gate = await handoff.gate(member, "hello", _Agent(processor))
            # What Rasa does with the message: read, handle, save.
            tracker = await processor.fetch_tracker_and_update_session(member)
            tracker.update(UserUttered("I've moved", {"name": "change_address",
                                                      "confidence": 0.9}))
            tracker.update(ActionExecuted("utter_ask_street"))
            await processor.save_tracker(tracker)
            await handoff.turns.count_turn(member, _Agent(processor))
            return gate
        finally:
            await handoff.close()

    gate = asyncio.run(one_message())

    assert gate.to_assistant and gate.api_reachable
    assert not processor.tracker.is_paused()
    resumed = [e for e in processor.tracker.events if e.type_name == "resume"]
    assert len(resumed) == (1 if paused else 0)
    # Counted from the tracker Rasa saved: one turn, no fallback, what the member came for.
    assert _conversation_row(api, member) == (1, 0, "change_address")
