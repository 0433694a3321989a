"""Asking when the contact centre is open, through the real stack (Rasa, actions, records API).

A public question: answered from the API's hours without any identity question, and, asked in
the middle of a change, answered before the change carries on where it was.
"""

from __future__ import annotations

from tests.bot.servers import Assistant
from tests.bot.test_conversations import Conversation

IDENTITY_QUESTIONS = ("membership number", "date of birth", "postcode", "check who you are")


def _hours_now(stack: Assistant) -> dict:
    with stack.api.client() as client:
        response = client.get("/opening-hours")
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]


def _answers_the_hours(reply: str, hours: dict) -> bool:
    """The reply says the API's usual hours and whether it is open now (as the API says)."""
    now = "is open now" if hours["open_now"] else hours["next_opens_text"]
    return hours["usual_hours"] in reply and now in reply


def test_asked_cold_the_hours_are_given_without_an_identity_question(stack: Assistant) -> None:
    chat = Conversation(stack)

    reply = chat.say("r u open on saturdays?")

    assert _answers_the_hours(reply, _hours_now(stack)), chat
    assert not any(question in reply.lower() for question in IDENTITY_QUESTIONS), chat
    # Nothing was started that would ask later either.
    thanked = chat.say("thanks").lower()
    assert not any(question in thanked for question in IDENTITY_QUESTIONS), chat


def test_asked_in_the_middle_of_an_address_change_the_change_still_finishes(
    stack: Assistant,
) -> None:
    chat = Conversation(stack)
    chat.say("I need to change my address")
    assert "verified" in chat.verify("1000060"), chat
    assert "town" in chat.say("12 Orchard Way").lower(), chat

    answer = chat.say("what time do your phone lines close?")

    assert _answers_the_hours(answer, _hours_now(stack)), chat
    # The form asks its question again, and takes the answer.
    assert "town" in answer.lower(), chat
    chat.say("Harrogate")
    assert "Shall I update your record?" in chat.say("HG1 2AB"), chat
    chat.say("yes")
    record = stack.api.member("1000060")
    assert (record["address_line1"], record["town"], record["postcode"]) == (
        "12 Orchard Way",
        "Harrogate",
        "HG1 2AB",
    ), chat
