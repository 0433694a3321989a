"""action_answer_pending_change run on recorded trackers: the events it returns and what the
member is told, for answers that need no records API (corrections, mixed signals, a no)."""

from __future__ import annotations

from actions.pending_change import AnswerPendingChange
from tests.bot.trackers import run, slots_set, texts, tracker

ADDRESS = {
    "identity_status": "verified",
    "pending_change": "change_address",
    "new_address_line1": "5 Mill Lane",
    "new_town": "York",
    "new_postcode": "YO1 7HH",
}


def test_a_corrected_postcode_is_kept_and_read_back_for_a_yes() -> None:
    events, messages = run(
        AnswerPendingChange(),
        tracker(slots=ADDRESS, intent="inform", text="actually the postcode is bs1 4jp"),
    )

    assert slots_set(events) == {
        "new_postcode": "BS1 4JP",
        "pending_change": "change_address",
        "confirmation_misses": 0,
    }
    shown = texts(messages)
    assert "changed the postcode to BS1 4JP" in shown
    assert "5 Mill Lane\nYork\nBS1 4JP\nShall I update your record?" in shown


def test_a_mixed_answer_to_resigning_is_checked_and_the_resignation_still_waits() -> None:
    slots = {
        "identity_status": "verified",
        "pending_change": "cancel_membership",
        "cancel_reason": "too expensive",
    }

    events, messages = run(
        AnswerPendingChange(),
        tracker(slots=slots, intent="deny", text="no thanks, please cancel it"),
    )

    assert slots_set(events) == {"confirmation_misses": 1}
    assert texts(messages) == "Just to be sure: shall I cancel your membership? Yes or no."
    assert [b["payload"] for b in messages[0]["buttons"]] == ["yes", "no"]


def test_a_no_drops_the_change_and_its_values() -> None:
    slots = {
        "identity_status": "verified",
        "pending_change": "change_contact_details",
        "new_contact": "07700900351",
        "new_phone": "07700900351",
    }

    events, messages = run(AnswerPendingChange(), tracker(slots=slots, intent="deny", text="no"))

    assert slots_set(events) == {
        "pending_change": None,
        "confirmation_misses": None,
        "new_contact": None,
        "new_email": None,
        "new_phone": None,
    }
    assert "haven't changed anything" in texts(messages)


def test_an_answer_with_nothing_pending_says_so() -> None:
    events, messages = run(AnswerPendingChange(), tracker(intent="affirm", text="yes"))

    assert slots_set(events) == {"pending_change": None}
    assert texts(messages) == "utter_what_next"
