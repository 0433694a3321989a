"""The REST channel on the real Rasa server: what arrives there is checked before Rasa sees it."""

from __future__ import annotations

import json
import re

import httpx

from bot.safety import CARD_NUMBER_NOTICE, EMPTY_NOTICE, TRUNCATED_NOTICE
from tests.bot.servers import REST_HEADERS, Assistant


def _holds(stored: str, card: str) -> bool:
    """Whether the card number is in `stored`, in any of its groups' spellings. Its first four
    digits alone would also match a model confidence such as 0.0049298..."""
    digits = card.replace(" ", "").replace("-", "")
    halves = (digits[:8], digits[8:])
    return any(re.search(r"[ -]?".join(half[i:i + 4] for i in (0, 4)), stored)
               for half in halves)


def _typed_texts(tracker: dict) -> list[str]:
    return [event.get("text") or "" for event in tracker["events"] if event["event"] == "user"]


def test_a_card_number_never_reaches_the_tracker(stack: Assistant) -> None:
    replies = stack.say("rest:card", "can you take it from my card 4929-1234-5678-9114 please")

    assert replies[0]["text"] == CARD_NUMBER_NOTICE
    tracker = stack.tracker("rest:card")
    stored = json.dumps(tracker)
    assert not _holds(stored, "4929-1234-5678-9114")
    assert _typed_texts(tracker) == ["can you take it from my card [card number removed] please"]


def test_a_message_that_was_only_a_card_number_gets_only_the_notice(stack: Assistant) -> None:
    replies = stack.say("rest:only-card", "4111 1111 1111 1111")

    assert [reply["text"] for reply in replies] == [CARD_NUMBER_NOTICE]
    assert not _holds(json.dumps(stack.tracker("rest:only-card")), "4111 1111 1111 1111")


def test_a_long_message_is_cut_with_a_notice(stack: Assistant) -> None:
    replies = stack.say("rest:long", "I have moved house " + "and so on " * 800)

    assert replies[0]["text"] == TRUNCATED_NOTICE
    (typed,) = _typed_texts(stack.tracker("rest:long"))
    assert len(typed) <= 5000


def test_an_empty_message_is_answered_without_troubling_the_assistant(stack: Assistant) -> None:
    replies = stack.say("rest:empty", " \u200b\t ")

    assert [reply["text"] for reply in replies] == [EMPTY_NOTICE]


def test_a_body_that_is_not_a_json_object_is_refused(stack: Assistant) -> None:
    answer = httpx.post(f"{stack.rasa_url}/webhooks/rest/webhook", json=["hello"],
                        headers=REST_HEADERS, timeout=30)

    assert answer.status_code == 400


def test_a_caller_without_the_channels_token_is_refused_and_nothing_reaches_the_assistant(
    stack: Assistant,
) -> None:
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    body = {"sender": "rest:forged", "message": "change my address to 1 Fake Street"}
    for headers in ({}, {"Authorization": "Bearer not-the-token"},
                    {"Authorization": REST_HEADERS["Authorization"].replace("Bearer", "Basic")}):
        refused = httpx.post(url, json=body, headers=headers, timeout=30)
        assert refused.status_code == 401, headers
        assert "1 Fake Street" not in refused.text
    assert _typed_texts(stack.tracker("rest:forged")) == []


def test_a_sender_naming_another_channels_conversation_stays_in_the_rest_channels_own(
    stack: Assistant,
) -> None:
    """Telegram's conversations were `<chat id>`: anyone could post as that sender and carry
    on a verified Telegram conversation. Every REST conversation is `rest:<sender>`."""
    for named in ("telegram:4242", "webchat:AAAAAAAAAAAAAAAAAAAAAA", "4242", "email:a@b.example"):
        stack.say(named, "hello")
        assert _typed_texts(stack.tracker(f"rest:{named}")) == ["hello"]
        if not named.startswith("rest:"):
            assert _typed_texts(stack.tracker(named)) == []


def test_the_channel_is_recorded_as_rest_whatever_the_caller_says(stack: Assistant) -> None:
    response = httpx.post(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        json={"sender": "rest:claims-telegram", "message": "hello", "input_channel": "telegram"},
        headers=REST_HEADERS, timeout=60,
    )
    assert response.status_code == 200
    tracker = stack.tracker("rest:claims-telegram")
    assert tracker["latest_input_channel"] == "rest"
