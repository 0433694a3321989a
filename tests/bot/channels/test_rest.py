"""The REST channel on the real Rasa server: what arrives there is checked before Rasa sees it."""

from __future__ import annotations

import json

import httpx

from bot.safety import CARD_NUMBER_NOTICE, EMPTY_NOTICE, TRUNCATED_NOTICE
from tests.bot.servers import Assistant


def _typed_texts(tracker: dict) -> list[str]:
    return [event.get("text") or "" for event in tracker["events"] if event["event"] == "user"]


def test_a_card_number_never_reaches_the_tracker(stack: Assistant) -> None:
    replies = stack.say("rest-card", "can you take it from my card 4929-1234-5678-9114 please")

    assert replies[0]["text"] == CARD_NUMBER_NOTICE
    tracker = stack.tracker("rest-card")
    stored = json.dumps(tracker)
    assert "4929" not in stored and "9114" not in stored
    assert _typed_texts(tracker) == ["can you take it from my card [card number removed] please"]


def test_a_message_that_was_only_a_card_number_gets_only_the_notice(stack: Assistant) -> None:
    replies = stack.say("rest-only-card", "4111 1111 1111 1111")

    assert [reply["text"] for reply in replies] == [CARD_NUMBER_NOTICE]
    assert "4111" not in json.dumps(stack.tracker("rest-only-card"))


def test_a_long_message_is_cut_with_a_notice(stack: Assistant) -> None:
    replies = stack.say("rest-long", "I have moved house " + "and so on " * 800)

    assert replies[0]["text"] == TRUNCATED_NOTICE
    (typed,) = _typed_texts(stack.tracker("rest-long"))
    assert len(typed) <= 5000


def test_an_empty_message_is_answered_without_troubling_the_assistant(stack: Assistant) -> None:
    replies = stack.say("rest-empty", " \u200b\t ")

    assert [reply["text"] for reply in replies] == [EMPTY_NOTICE]


def test_a_body_that_is_not_a_json_object_is_refused(stack: Assistant) -> None:
    answer = httpx.post(f"{stack.rasa_url}/webhooks/rest/webhook", json=["hello"], timeout=30)

    assert answer.status_code == 400
