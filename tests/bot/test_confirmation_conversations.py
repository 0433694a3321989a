"""Answers at "shall I go ahead?" that are not a tidy yes or no, and choices typed in words,
through the REST channel with the real Rasa server, action server and records API. Each
conversation is checked in the member's record afterwards: a pending change is never lost,
and never made without a clear yes.
"""

from __future__ import annotations

from datetime import date

from tests.bot.servers import Assistant
from tests.bot.test_conversations import Conversation


def _history(stack: Assistant, number: str) -> list[dict]:
    with stack.api.client() as client:
        return client.get(f"/members/{number}/history").json()  # type: ignore[no-any-return]


def _address(stack: Assistant, number: str) -> tuple[str, str, str]:
    record = stack.api.member(number)
    return record["address_line1"], record["town"], record["postcode"]


def _status(stack: Assistant, number: str) -> str:
    with stack.api.client() as client:
        return client.get(f"/members/{number}/membership").json()["status"]  # type: ignore[no-any-return]


def _at_address_confirmation(stack: Assistant, number: str) -> Conversation:
    chat = Conversation(stack)
    chat.say("ive moved house need to change my address")
    chat.verify(number)
    chat.say("5 mill lane")
    chat.say("york")
    assert "Shall I update your record?" in chat.say("yo1 7hh"), chat
    return chat


def test_a_postcode_corrected_at_the_confirmation_is_the_one_stored(stack: Assistant) -> None:
    chat = _at_address_confirmation(stack, "1000031")

    again = chat.say("actually the postcode is YO1 9HH")

    assert "changed the postcode to YO1 9HH" in again, chat
    assert "Shall I update your record?" in again and "YO1 7HH" not in again, chat
    chat.say("yes")
    assert _address(stack, "1000031") == ("5 Mill Lane", "York", "YO1 9HH"), chat


def test_yes_with_a_correction_corrects_first_and_changes_nothing_yet(stack: Assistant) -> None:
    chat = _at_address_confirmation(stack, "1000043")
    before = _address(stack, "1000043")

    again = chat.say("yes but the postcode is yo1 9hh")

    assert "Shall I update your record?" in again, chat
    assert _address(stack, "1000043") == before, chat
    chat.say("yes")
    assert _address(stack, "1000043") == ("5 Mill Lane", "York", "YO1 9HH"), chat


def test_no_with_the_right_town_corrects_it_rather_than_dropping_the_change(
    stack: Assistant,
) -> None:
    chat = _at_address_confirmation(stack, "1000032")

    again = chat.say("no, the town is acomb")

    assert "changed the town to Acomb" in again and "Shall I update" in again, chat
    chat.say("yep")
    assert _address(stack, "1000032") == ("5 Mill Lane", "Acomb", "YO1 7HH"), chat


def test_a_question_at_the_confirmation_keeps_the_change_for_the_next_yes(
    stack: Assistant,
) -> None:
    chat = _at_address_confirmation(stack, "1000033")
    before = _address(stack, "1000033")

    again = chat.say("hang on, is the flat number in there?")

    assert "5 Mill Lane" in again and "Shall I update your record?" in again, chat
    assert _address(stack, "1000033") == before, chat
    done = chat.say("yes, please update it")
    assert _address(stack, "1000033") == ("5 Mill Lane", "York", "YO1 7HH"), chat
    assert _history(stack, "1000033")[0]["reference"] in done, chat


def test_a_new_mobile_number_corrected_at_the_confirmation(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("got a new mobile")
    chat.verify("1000034")
    assert "Shall I update it?" in chat.say("07700 900351"), chat

    again = chat.say("oops no its 07700 900352")

    assert "900352" in again and "Shall I update it?" in again, chat
    chat.say("yes")
    assert stack.api.member("1000034")["phone"].endswith("7700900352"), chat


def test_no_thanks_please_cancel_it_gets_a_question_then_the_resignation(
    stack: Assistant,
) -> None:
    chat = Conversation(stack)
    chat.say("i want to cancel my membership")
    chat.verify("1000035")
    offer = chat.say("its too expensive")
    assert "lower rate" in offer and "still like to resign" in offer, chat

    check = chat.say("no thanks, please cancel it")

    assert "Just to be sure: shall I cancel your membership? Yes or no." in check, chat
    assert _status(stack, "1000035") == "active", chat
    done = chat.say("yes")
    latest = _history(stack, "1000035")[0]
    assert latest["field"] == "status" and latest["reference"] in done, chat


def test_a_no_after_the_clarifying_question_keeps_the_membership(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("how do i resign")
    chat.verify("1000036")
    chat.say("moving abroad")
    assert "Just to be sure" in chat.say("cancel it"), chat

    kept = chat.say("no")

    assert "haven't changed anything" in kept, chat
    assert _status(stack, "1000036") == "active", chat
    assert chat.say("yes") and "nothing waiting for a yes or no" in chat.lines[-1], chat
    assert _status(stack, "1000036") == "active", chat


def _changed_on_request(
    stack: Assistant, number: str, request: str, *answers: str
) -> tuple[Conversation, str, dict]:
    """A verified member asks for a change and answers; the last reply and the latest change."""
    chat = Conversation(stack)
    chat.say(request)
    chat.verify(number)
    replies = [chat.say(answer) for answer in answers]
    history = _history(stack, number)
    assert history, chat
    return chat, replies[-1], history[0]


def test_going_part_time_typed_with_its_month_completes_the_change(stack: Assistant) -> None:
    chat, answer, latest = _changed_on_request(
        stack,
        "1000037",
        "i need to tell you about a change of circumstances",
        "going part time from january",
    )

    today = date.today()
    starts = date(today.year + (today > date(today.year, 1, 1)), 1, 1)
    assert latest["reference"] in answer and f"1 January {starts.year}" in answer, chat
    assert answer.count("Reduced rate member") == 1, chat


def test_the_retiring_button_label_typed_is_understood(stack: Assistant) -> None:
    start = date(date.today().year + 1, 3, 31)
    chat, answer, latest = _changed_on_request(
        stack,
        "1000038",
        "I need to report a change of circumstances",
        "Retiring",
        start.strftime("%d/%m/%Y"),
    )

    assert latest["reference"] in answer and "31 March" in answer, chat


def test_check_off_asked_for_in_the_members_own_words(stack: Assistant) -> None:
    chat, answer, latest = _changed_on_request(
        stack, "1000039", "I want to change how I pay my subs", "through my employer please"
    )

    assert latest["field"] == "payment_method" and latest["reference"] in answer, chat


def test_forget_it_at_the_confirmation_changes_nothing(stack: Assistant) -> None:
    chat = _at_address_confirmation(stack, "1000040")
    before = _address(stack, "1000040")

    stopped = chat.say("oh forget it")

    assert "nothing has been changed" in stopped, chat
    chat.say("yes")
    assert _address(stack, "1000040") == before, chat


def test_two_answers_in_a_row_that_are_neither_yes_nor_no_go_to_a_person(
    stack: Assistant,
) -> None:
    chat = _at_address_confirmation(stack, "1000041")
    before = _address(stack, "1000041")

    assert "Shall I update your record?" in chat.say("how much will i pay after the move?"), chat
    handed = chat.say("dunno really")

    with stack.api.client() as client:
        cases = client.get("/cases", params={"conversation_id": chat.sender}).json()
    assert cases and cases[0]["reference"] in handed, chat
    assert _address(stack, "1000041") == before, chat
