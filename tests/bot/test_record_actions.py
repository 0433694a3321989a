"""Changes to a member's record, run as the action server runs them, checked in the API."""

from __future__ import annotations

import asyncio

import pytest

from actions.personal_details import SubmitPersonalDetails
from actions.records import (
    SubmitAddress,
    SubmitContact,
    SubmitEmployment,
    ValidateContactForm,
    ValidateEmploymentForm,
)
from tests.bot.servers import RecordsApi
from tests.bot.trackers import run, slots_set, texts, tracker, verified_slots


def test_a_new_address_is_applied_and_the_member_gets_a_reference(
    actions_env: RecordsApi,
) -> None:
    slots = {
        **verified_slots(actions_env, "1000004"),
        "new_address_line1": "22 Harbour Walk",
        "new_town": "Bristol",
        "new_postcode": "BS1 6AB",
    }

    events, messages = run(SubmitAddress(), tracker(slots=slots, intent="affirm", text="yes"))

    record = actions_env.member("1000004")
    assert (record["address_line1"], record["town"], record["postcode"]) == (
        "22 Harbour Walk", "Bristol", "BS1 6AB"
    )
    reference = slots_set(events)["last_reference"]
    assert reference and reference in texts(messages)
    assert slots_set(events)["new_address_line1"] is None


def test_a_new_email_is_validated_then_applied(actions_env: RecordsApi) -> None:
    verified = verified_slots(actions_env, "1000004")
    form = ValidateContactForm()
    typed = tracker(slots={**verified, "requested_slot": "new_contact"},
                    extracted={"new_contact": "Tom.Fletcher@Example.org "},
                    intent="inform", text="Tom.Fletcher@Example.org ", active_loop="contact_form")
    events, _ = run(form, typed)
    filled = slots_set(events)
    assert filled["new_email"] == "Tom.Fletcher@Example.org"

    events, messages = run(
        SubmitContact(), tracker(slots={**verified, **filled}, intent="affirm", text="yes")
    )

    # The mailbox part keeps its case (it can matter); the domain part never does.
    assert actions_env.member("1000004")["email"] == "Tom.Fletcher@example.org"
    assert "email address" in texts(messages)


def test_an_unreadable_contact_is_refused_and_asked_again(actions_env: RecordsApi) -> None:
    typed = tracker(slots={**verified_slots(actions_env, "1000004"),
                           "requested_slot": "new_contact"},
                    extracted={"new_contact": "call me maybe"},
                    intent="inform", text="call me maybe", active_loop="contact_form")

    events, messages = run(ValidateContactForm(), typed)

    assert slots_set(events)["new_contact"] is None
    assert "couldn't read" in texts(messages)


def test_a_misspelt_employer_is_matched_to_the_known_list(actions_env: RecordsApi) -> None:
    typed = tracker(slots={**verified_slots(actions_env, "1000004"),
                           "requested_slot": "new_employer"},
                    extracted={"new_employer": "bristol city counsil"},
                    intent="inform", text="bristol city counsil", active_loop="employment_form")

    events, _ = run(ValidateEmploymentForm(), typed)

    assert slots_set(events)["new_employer"] == "Bristol City Council"


def test_a_move_into_an_open_ballot_waits_for_review_and_the_member_is_told(
    actions_env: RecordsApi,
) -> None:
    # Priya is in the open NHS ballot: moving her to the council would take her out of it.
    slots = {
        **verified_slots(actions_env, "1000001"),
        "new_employer": "Leeds City Council",
        "new_workplace": "Leeds Civic Centre",
        "new_job_title": "Social Worker",
        "new_grade": "-",
    }
    before = actions_env.member("1000001")

    events, messages = run(SubmitEmployment(), tracker(slots=slots, intent="affirm", text="yes"))

    shown = texts(messages)
    assert "ballot" in shown.lower(), shown
    assert actions_env.member("1000001")["employer"] == before["employer"]
    with actions_env.client() as client:
        history = client.get("/members/1000001/history").json()
    assert history[0]["status"] == "pending_review"
    assert history[0]["reference"] == slots_set(events)["last_reference"]


def test_a_name_correction_is_held_for_the_data_team(actions_env: RecordsApi) -> None:
    slots = {
        **verified_slots(actions_env, "1000004"),
        "detail_kind": "last_name",
        "new_detail_value": "Fletcher-Jones",
    }

    events, messages = run(SubmitPersonalDetails(), tracker(slots=slots, intent="inform"))

    assert actions_env.member("1000004")["last_name"] == "Fletcher"
    assert "checked by our records team" in texts(messages)
    assert slots_set(events).get("last_reference")


def test_an_api_outage_keeps_the_change_and_says_so(
    actions_env: RecordsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actions import pending
    from bot.settings import get_settings

    slots = {**verified_slots(actions_env, "1000004"), "new_address_line1": "1 Lost Lane",
             "new_town": "Bristol", "new_postcode": "BS2 0AA"}
    monkeypatch.setenv("MEMBERDESK_API_URL", "http://127.0.0.1:9")  # nothing listens there
    get_settings.cache_clear()

    events, messages = run(SubmitAddress(), tracker(slots=slots, intent="affirm", text="yes"))

    assert "saved your request" in texts(messages)
    kept = pending.waiting()
    assert [item["path"] for item in kept] == ["/members/1000004/address"]

    monkeypatch.setenv("MEMBERDESK_API_URL", actions_env.url)
    get_settings.cache_clear()
    asyncio.run(pending.replay_once())
    assert actions_env.member("1000004")["address_line1"] == "1 Lost Lane"
    assert pending.waiting() == []
