"""The transcript a case gets: what the member and the assistant said, as staff should read it."""

from __future__ import annotations

from actions.conversation import transcript
from tests.bot.trackers import tracker


def _user(text: str, metadata: dict | None = None) -> dict:
    return {"event": "user", "text": text, "timestamp": 1764000000.0, "metadata": metadata or {}}


def _bot(text: str) -> dict:
    return {"event": "bot", "text": text, "timestamp": 1764000001.0}


def test_only_words_someone_saw_are_in_the_transcript() -> None:
    events = [
        _user("/greet"),  # sent by the widget when it opened; nobody typed it
        _bot("Hello! I'm the membership assistant."),
        _user("I've moved, my card is 4111 1111 1111 1111"),
        _bot("Shall I update your record?"),
        _user("/affirm", {"webchat": {"shown": "Yes, update it"}}),
        {"event": "slot", "name": "goal", "value": "change_address", "timestamp": 1764000002.0},
    ]

    lines = transcript(tracker(events=events))

    assert [(line["sender"], line["text"]) for line in lines] == [
        ("assistant", "Hello! I'm the membership assistant."),
        ("member", "I've moved, my card is [card number removed]"),
        ("assistant", "Shall I update your record?"),
        ("member", "Yes, update it"),
    ]
    assert lines[0]["at"].startswith("2025-11-24T")
