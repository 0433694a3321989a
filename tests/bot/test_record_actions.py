"""Changes to a member's record, run as the action server runs them, checked in the API."""

from __future__ import annotations

import asyncio

import pytest

from actions.personal_details import SubmitPersonalDetails, ValidatePersonalDetailsForm
from actions.records import (
    ADDRESS_SLOTS,
    SubmitAddress,
    SubmitContact,
    SubmitEmployment,
    ValidateAddressForm,
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
    assert filled["new_email"] == "Tom.Fletcher@example.org"

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


def test_a_misspelt_employer_is_offered_back_and_taken_with_a_yes(
    actions_env: RecordsApi,
) -> None:
    slots = {**verified_slots(actions_env, "1000004"), "requested_slot": "new_employer"}
    typed = tracker(slots=slots, extracted={"new_employer": "bristol city counsil"},
                    intent="inform", text="bristol city counsil", active_loop="employment_form")

    events, messages = run(ValidateEmploymentForm(), typed)

    # Never swapped for a register name without the member's yes: it could move them
    # between ballot constituencies.
    assert slots_set(events)["new_employer"] is None
    [offer] = [m for m in messages if m.get("buttons")]
    assert offer["text"] == "Did you mean Bristol City Council?"
    assert [b["title"] for b in offer["buttons"]] == [
        "Bristol City Council", "No, it's bristol city counsil"]
    offered = {"event": "bot", "text": offer["text"], "data": {"buttons": offer["buttons"]}}
    answered = tracker(slots=slots, extracted={"new_employer": "yes"}, intent="affirm",
                       text="yes", active_loop="employment_form",
                       events=[{"event": "user", "text": "bristol city counsil"}, offered])

    events, _ = run(ValidateEmploymentForm(), answered)

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


def _said(text: str, intent: str) -> dict:
    """A member message from earlier in the conversation, as the tracker's events hold it."""
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


# The identity check between the request and the form: its postcode is the OLD address.
IDENTITY_ANSWERS = [
    {"event": "active_loop", "name": "identity_form"},
    _said("1000004", "inform"),
    _said("30/01/1990", "inform"),
]


def test_a_whole_address_typed_at_the_first_question_fills_every_part(
    actions_env: RecordsApi,
) -> None:
    typed = tracker(slots={"requested_slot": "new_address_line1"},
                    extracted={"new_address_line1": "5 queen sq bristol bs14jq"},
                    intent="inform", text="5 queen sq bristol bs14jq", active_loop="address_form")

    events, messages = run(ValidateAddressForm(), typed)

    filled = slots_set(events)
    assert (filled["new_address_line1"], filled["new_town"], filled["new_postcode"]) == (
        "5 Queen Sq", "Bristol", "BS1 4JQ"
    )
    assert messages == []


@pytest.mark.parametrize("reply", ["yes", "no", "I want to change my address"])
def test_a_reply_is_never_stored_as_the_town(actions_env: RecordsApi, reply: str) -> None:
    typed = tracker(slots={"requested_slot": "new_town", "new_address_line1": "5 Queen Square"},
                    extracted={"new_town": reply}, intent="affirm", text=reply,
                    active_loop="address_form")

    events, messages = run(ValidateAddressForm(), typed)

    assert slots_set(events)["new_town"] is None
    assert "town or city" in texts(messages)


def test_a_postcode_typed_for_the_town_is_kept_and_the_town_asked_again(
    actions_env: RecordsApi,
) -> None:
    typed = tracker(slots={"requested_slot": "new_town", "new_address_line1": "5 Queen Square"},
                    extracted={"new_town": "bs1 4jq"}, intent="inform", text="bs1 4jq",
                    active_loop="address_form")

    events, messages = run(ValidateAddressForm(), typed)

    filled = slots_set(events)
    assert filled["new_town"] is None and filled["new_postcode"] == "BS1 4JQ"
    assert "form_failures" not in filled and messages == []


def test_the_address_in_the_request_fills_the_form_after_the_identity_check(
    actions_env: RecordsApi,
) -> None:
    request = _said("I've moved to 5 Queen Square, Bristol bs14jq", "change_address")
    # The form starts after the identity check, whose last answer is the old postcode.
    starting = tracker(slots=verified_slots(actions_env, "1000004"), intent="inform",
                       text="BS1 5TR", events=[request, *IDENTITY_ANSWERS])

    events, _ = run(ValidateAddressForm(), starting)

    filled = slots_set(events)
    assert (filled["new_address_line1"], filled["new_town"], filled["new_postcode"]) == (
        "5 Queen Square", "Bristol", "BS1 4JQ"
    )


@pytest.mark.parametrize(
    ("earlier", "text", "filled"),
    [
        ([], "I've moved to 22 park lane leeds ls2 9jt", ("22 Park Lane", "Leeds", "LS2 9JT")),
        # No address in the request: every question is still asked.
        ([], "I've moved house, need to update it", (None, None, None)),
        # The form ran after that request: its address was answered then, not guessed again.
        (
            [
                _said("I've moved to 5 Queen Square, Bristol BS1 4JQ", "change_address"),
                {"event": "active_loop", "name": "address_form"},
                {"event": "active_loop", "name": None},
            ],
            "can I change my address again",
            (None, None, None),
        ),
    ],
)
def test_the_request_fills_the_address_form_only_with_an_address_it_holds(
    actions_env: RecordsApi, earlier: list[dict], text: str, filled: tuple[str | None, ...]
) -> None:
    starting = tracker(intent="change_address", text=text, events=earlier)

    events, messages = run(ValidateAddressForm(), starting)

    assert tuple(slots_set(events).get(s) for s in ADDRESS_SLOTS) == filled
    assert messages == []


def test_a_phone_number_in_the_request_is_stored_in_e164(actions_env: RecordsApi) -> None:
    verified = verified_slots(actions_env, "1000004")
    request = _said("my new phone number is 07700 900999", "change_contact_details")
    starting = tracker(slots=verified, intent="inform", text="BS1 5TR",
                       events=[request, *IDENTITY_ANSWERS])

    events, _ = run(ValidateContactForm(), starting)
    filled = slots_set(events)
    assert (filled["new_contact"], filled["new_phone"]) == ("07700 900999", "+447700900999")

    run(SubmitContact(), tracker(slots={**verified, **filled}, intent="affirm", text="yes"))

    assert actions_env.member("1000004")["phone"] == "+447700900999"


def test_a_new_surname_in_the_request_is_taken_as_the_new_name(actions_env: RecordsApi) -> None:
    starting = tracker(intent="change_personal_details",
                       text="I got married and my surname is now clarke-jones")

    events, _ = run(ValidatePersonalDetailsForm(), starting)

    filled = slots_set(events)
    assert (filled["detail_kind"], filled["new_detail_value"]) == ("name", "clarke-jones")


@pytest.mark.parametrize(("typed", "as_read"), [
    ("got divorced, want my old surnme back", "got divorced, want my old surname back"),
    # A value is never taken from the corrected text: "Clarke" could have been "corrected".
    ("my surnme is now Clarke", "my surname is now Clark"),
])
def test_which_detail_is_read_from_the_request_as_nlu_read_it_its_value_as_typed(
    actions_env: RecordsApi, typed: str, as_read: str,
) -> None:
    request = _said(typed, "change_personal_details")
    request["parse_data"]["text_as_read"] = as_read
    starting = tracker(slots=verified_slots(actions_env, "1000004"), intent="inform",
                       text="BS1 5TR", events=[request, *IDENTITY_ANSWERS])

    events, _ = run(ValidatePersonalDetailsForm(), starting)

    filled = slots_set(events)
    assert filled["detail_kind"] == "name" and "new_detail_value" not in filled


@pytest.mark.parametrize("reply", ["name", "yes"])
def test_a_reply_is_never_stored_as_a_name(actions_env: RecordsApi, reply: str) -> None:
    typed = tracker(slots={"requested_slot": "new_detail_value", "detail_kind": "name"},
                    extracted={"new_detail_value": reply}, intent="inform", text=reply,
                    active_loop="personal_details_form")

    events, messages = run(ValidatePersonalDetailsForm(), typed)

    assert slots_set(events)["new_detail_value"] is None
    assert "name as it should appear" in texts(messages)


def test_a_title_and_surname_said_as_the_request_are_both_sent_for_review(
    actions_env: RecordsApi,
) -> None:
    request = _said("got married, it's Mrs Gallagher now", "change_personal_details")
    starting = tracker(slots=verified_slots(actions_env, "1000004"), intent="inform",
                       text="BS1 5TR", events=[request, *IDENTITY_ANSWERS])

    events, messages = run(ValidatePersonalDetailsForm(), starting)
    filled = slots_set(events)
    assert (filled["detail_kind"], filled["new_detail_value"]) == ("name", "Mrs Gallagher")
    assert messages == []

    run(SubmitPersonalDetails(), tracker(slots={**verified_slots(actions_env, "1000004"),
                                                **filled}, intent="inform"))

    with actions_env.client() as client:
        latest = client.get("/members/1000004/history").json()[0]
    assert latest["field"] == "personal_details" and latest["status"] == "pending_review"
    assert latest["new_value"] == {"title": "Mrs", "last_name": "Gallagher"}


def test_a_title_with_a_surname_given_for_the_title_keeps_both(actions_env: RecordsApi) -> None:
    typed = tracker(slots={"requested_slot": "new_detail_value", "detail_kind": "title"},
                    extracted={"new_detail_value": "Ms Okafor"}, intent="inform",
                    text="Ms Okafor", active_loop="personal_details_form")

    events, _ = run(ValidatePersonalDetailsForm(), typed)

    filled = slots_set(events)
    assert (filled["detail_kind"], filled["new_detail_value"]) == ("name", "Ms Okafor")



def _employment_starting(api: RecordsApi, request: str) -> object:
    """The employment form starting after the identity check that followed `request`."""
    return tracker(slots=verified_slots(api, "1000004"), intent="inform", text="BS1 5TR",
                   events=[_said(request, "change_employment"), *IDENTITY_ANSWERS])


@pytest.mark.parametrize(
    ("request_text", "employer"),
    [
        ("hi, I've got a new job with leeds city council as a social worker",
         "Leeds City Council"),
        ("my employer is now Kent County Council", "Kent County Council"),
        # Not a name the register knows: asked for, never recorded as new from the request.
        ("started working for an agency", None),
        ("i now work for Zephyr Temping Solutions", None),
    ],
)
def test_the_employer_named_in_the_request_is_taken_when_the_register_has_it(
    actions_env: RecordsApi, request_text: str, employer: str | None
) -> None:
    events, messages = run(ValidateEmploymentForm(), _employment_starting(actions_env,
                                                                          request_text))

    assert slots_set(events).get("new_employer") == employer
    assert "record it as new" not in texts(messages)


def test_a_close_employer_named_in_the_request_is_offered_back(actions_env: RecordsApi) -> None:
    events, messages = run(ValidateEmploymentForm(), _employment_starting(
        actions_env, "ive started working for sheffield teaching hospitals nhs trust"))

    assert slots_set(events).get("new_employer") is None
    assert "Did you mean Sheffield Teaching Hospitals NHS Foundation Trust?" in texts(messages)


def _employer_answer(answer: str) -> object:
    return tracker(slots={"requested_slot": "new_employer"}, extracted={"new_employer": answer},
                   intent="inform", text=answer, active_loop="employment_form")


def test_an_employer_and_its_workplace_in_one_answer_fill_both(actions_env: RecordsApi) -> None:
    typed = _employer_answer("bristol city council, based at Bristol Civic Centre")
    typed.slots.update(verified_slots(actions_env, "1000004"))

    events, messages = run(ValidateEmploymentForm(), typed)

    filled = slots_set(events)
    assert (filled["new_employer"], filled["new_workplace"]) == (
        "Bristol City Council", "Bristol Civic Centre")
    assert messages == []


def test_a_close_workplace_with_the_employer_is_offered_and_the_employer_kept(
    actions_env: RecordsApi,
) -> None:
    typed = _employer_answer("Bristol City Council - the civic centre")
    typed.slots.update(verified_slots(actions_env, "1000004"))

    events, messages = run(ValidateEmploymentForm(), typed)

    filled = slots_set(events)
    assert filled["new_employer"] == "Bristol City Council"
    assert filled["new_workplace"] is None
    assert "Did you mean Bristol Civic Centre?" in texts(messages)
