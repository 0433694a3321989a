"""Reading answers at "shall I go ahead?" and choices typed in words, without any server."""

from __future__ import annotations

import asyncio
import re
from datetime import date

import pytest
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from actions.answers import Reading, is_stop, read_answer
from actions.choices import CIRCUMSTANCES, PAYMENT_METHODS, chosen, starting_date
from actions.questions import QUESTIONS
from tests.bot.trackers import domain, tracker

RESIGNING = re.compile(r"\b(cancel\w*|resign\w*|leave|quit)\b", re.I)


@pytest.mark.parametrize(
    ("text", "intent", "reading"),
    [
        ("yes", "affirm", Reading.YES),
        ("Yes, update it", "affirm", Reading.YES),
        ("yes please update it", "affirm", Reading.YES),
        ("yh", "affirm", Reading.YES),
        ("no", "deny", Reading.NO),
        ("nope leave it", "deny", Reading.NO),
        ("no thanks, please cancel it", "deny", Reading.NO),
        ("hang on, is the flat number in there?", "deny", Reading.UNCLEAR),
        ("is that my old postcode", "affirm", Reading.UNCLEAR),
        ("yes but the town is wrong", "affirm", Reading.MIXED),
        ("cancel", "cancel_membership", Reading.STOP),
        ("oh forget it", "deny", Reading.STOP),
        ("start again please", "deny", Reading.STOP),
        ("how much do I pay on the reduced rate then", "check_subscription", Reading.UNCLEAR),
        ("i dont get it, whats happening to my old address", "deny", Reading.UNCLEAR),
        ("please don't", "deny", Reading.NO),
        ("dunno really", "deny", Reading.UNCLEAR),
        ("no idea", "deny", Reading.UNCLEAR),
    ],
)
def test_answers_at_a_change_of_details(text: str, intent: str, reading: Reading) -> None:
    assert read_answer(text, intent) is reading


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        # The member declined the offer and wants to resign: never read as a plain no.
        ("no thanks, please cancel it", Reading.MIXED),
        ("cancel it", Reading.MIXED),
        ("yes, cancel it", Reading.YES),
        ("yes please resign me", Reading.YES),
        ("no, I'll stay a member", Reading.NO),
    ],
)
def test_answers_at_a_resignation_are_checked_when_they_point_both_ways(
    text: str, reading: Reading
) -> None:
    assert read_answer(text, "deny", ambiguous_words=RESIGNING) is reading


def test_a_correction_wins_over_yes_or_no() -> None:
    assert read_answer("no, the town is Cardiff", "deny", corrected=True) is Reading.CORRECTED


def test_only_a_whole_message_asking_to_stop_stops() -> None:
    assert is_stop("Cancel.") and is_stop("never mind") and is_stop("forget it, thanks")
    assert not is_stop("stop sending me marketing emails")
    assert not is_stop("cancel my membership")


def _labels(form: str, slot: str) -> list[str]:
    return [button["title"] for button in QUESTIONS[(form, slot)][1]]


def test_every_circumstance_button_label_can_be_typed() -> None:
    labels = _labels("circumstances_form", "circumstance")
    assert {chosen(label, CIRCUMSTANCES) for label in labels} == set(CIRCUMSTANCES)
    assert all(chosen(label.lower(), CIRCUMSTANCES) for label in labels)


def test_every_payment_method_button_label_can_be_typed() -> None:
    labels = _labels("payment_method_form", "payment_method_choice")
    assert {chosen(label, PAYMENT_METHODS) for label in labels} == set(PAYMENT_METHODS)
    assert chosen("through my employer please", PAYMENT_METHODS) == "payroll"
    assert chosen("I'd like to add a new account", PAYMENT_METHODS) is None


@pytest.mark.parametrize(
    ("text", "circumstance", "starts"),
    [
        ("I'm retiring on 31 December", "retirement", date(2026, 12, 31)),
        ("part time from january", "part_time", date(2027, 1, 1)),
        ("going part time from Jan, 3 days a week", "part_time", date(2027, 1, 1)),
        ("maternity leave from 1st march", "parental_leave", date(2027, 3, 1)),
        ("I'm starting uni in september 2027", "student", date(2027, 9, 1)),
        ("Retiring", "retirement", None),
        ("made redundant last week", "unemployment", None),
    ],
)
def test_a_circumstance_and_its_date_in_one_message(
    text: str, circumstance: str, starts: date | None
) -> None:
    assert chosen(text, CIRCUMSTANCES) == circumstance
    assert starting_date(text, today=date(2026, 12, 3)) == starts


def test_an_answer_naming_two_options_is_not_guessed() -> None:
    assert chosen("retiring or maybe part time", CIRCUMSTANCES) is None
    assert chosen("I may retire", CIRCUMSTANCES) == "retirement"
    assert starting_date("I may retire", today=date(2026, 12, 3)) is None


def test_start_dates_said_without_a_year_are_the_next_to_come() -> None:
    today = date(2026, 12, 3)
    assert starting_date("from next month", today=today) == date(2027, 1, 1)
    assert starting_date("1 december", today=today) == date(2027, 12, 1)
    assert starting_date("today", today=today) == today
    assert starting_date("01/03/2027", today=today) == date(2027, 3, 1)


def test_every_button_label_of_every_form_question_can_be_typed() -> None:
    """Telegram and email members type the labels: each is taken as the answer it shows."""
    executor = ActionExecutor()
    executor.register_package("actions")
    validators = executor.actions
    refused = []
    for (form, slot), (_, buttons) in QUESTIONS.items():
        validate = getattr(validators[f"validate_{form}"].__self__, f"validate_{slot}")
        for button in buttons:
            state = tracker(text=button["title"], active_loop=form)
            answer = asyncio.run(validate(button["title"], CollectingDispatcher(), state, domain()))
            if answer.get(slot) is None:
                refused.append(f"{form}.{slot}: {button['title']!r}")
    assert refused == []
