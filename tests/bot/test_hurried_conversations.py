"""Hurried members through the REST channel, with the real Rasa server, action server and API.

Whole addresses in one message, values given with the request, lower case and no spaces, a
"yes" where a town belongs: each conversation is checked in the member's record afterwards.
"""

from __future__ import annotations

import pytest

from tests.bot.servers import Assistant
from tests.bot.test_conversations import Conversation


def _latest_change(stack: Assistant, number: str) -> dict:
    with stack.api.client() as client:
        return client.get(f"/members/{number}/history").json()[0]  # type: ignore[no-any-return]


def _address(stack: Assistant, number: str) -> tuple[str, str, str]:
    record = stack.api.member(number)
    return record["address_line1"], record["town"], record["postcode"]


def test_the_new_address_given_with_the_request_needs_only_a_yes(stack: Assistant) -> None:
    chat = Conversation(stack)
    assert "check who you are" in chat.say("I've moved to 5 Queen Square, Bristol bs14jq"), chat
    read_back = chat.verify("1000019")
    assert "5 Queen Square\nBristol\nBS1 4JQ" in read_back, chat
    assert "Shall I update your record?" in read_back, chat

    done = chat.say("yes")

    assert _address(stack, "1000019") == ("5 Queen Square", "Bristol", "BS1 4JQ"), chat
    assert _latest_change(stack, "1000019")["reference"] in done, chat


@pytest.mark.parametrize(
    ("number", "asked_for", "answers", "stored"),
    [
        # The whole address at the first question: only the confirmation is left.
        ("1000020", "need to change my address", ["flat 2, 10 high st, leeds ls14ab"],
         ("Flat 2, 10 High St", "Leeds", "LS1 4AB")),
        # The town and the postcode together at the town question.
        ("1000022", "I have moved house", ["9 Mill Lane", "york yo17hh"],
         ("9 Mill Lane", "York", "YO1 7HH")),
        # "yes" is no town: asked again, then the real one.
        ("1000021", "i need to update my address", ["3 elm grove", "yes", "wakefield", "wf1 2ab"],
         ("3 Elm Grove", "Wakefield", "WF1 2AB")),
    ],
    ids=["whole-address-at-once", "town-and-postcode-together", "yes-is-no-town"],
)
def test_an_address_typed_in_a_hurry_is_stored_in_its_parts(
    stack: Assistant, number: str, asked_for: str, answers: list[str], stored: tuple[str, ...]
) -> None:
    chat = Conversation(stack)
    chat.say(asked_for)
    chat.verify(number)
    replies = [chat.say(answer) for answer in answers]

    assert "Shall I update your record?" in replies[-1], chat
    if "yes" in answers:
        assert "town or city" in replies[answers.index("yes")], chat
    chat.say("yes")
    assert _address(stack, number) == stored, chat


def test_the_new_phone_number_given_with_the_request_is_stored_in_e164(
    stack: Assistant,
) -> None:
    chat = Conversation(stack)
    chat.say("my new phone number is 07700 900999")

    read_back = chat.verify("1000023")

    assert "07700 900999" in read_back and "Shall I update it?" in read_back, chat
    chat.say("yes")
    assert stack.api.member("1000023")["phone"] == "+447700900999", chat


def test_a_number_typed_with_the_country_code_and_brackets_is_stored(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("I've got a new mobile")
    chat.verify("1000024")
    refused = chat.say("0770 090")
    assert "couldn't read" in refused, chat

    chat.say("+44 (0)7700 900 555")
    chat.say("yes")

    assert stack.api.member("1000024")["phone"] == "+447700900555", chat


def test_a_new_email_in_capitals_is_stored_with_its_domain_lower_cased(
    stack: Assistant,
) -> None:
    chat = Conversation(stack)
    chat.say("I need to change my email address")
    chat.verify("1000025")
    chat.say("its JO.BLOGGS@Example.ORG thanks")
    chat.say("yes")

    assert stack.api.member("1000025")["email"] == "JO.BLOGGS@example.org", chat


def test_the_new_surname_given_with_the_request_goes_to_the_records_team(
    stack: Assistant,
) -> None:
    chat = Conversation(stack)
    chat.say("I got married and my surname is now Clarke")

    answer = chat.verify("1000027")

    latest = _latest_change(stack, "1000027")
    assert latest["field"] == "personal_details" and latest["status"] == "pending_review", chat
    assert latest["new_value"]["last_name"] == "Clarke", chat
    assert latest["reference"] in answer, chat
