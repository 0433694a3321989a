"""A member's change reaches the records API once, however often it is sent.

Run as the action server runs the actions, against the real records API: the same "yes" handled
twice (Rasa retrying the action after a timeout), an attempt that timed out after the API had in
fact made the change and was kept for replay, and a member who really does ask twice.
"""

from __future__ import annotations

import asyncio

import pytest

from actions.changes import change_key
from actions.records import SubmitAddress
from tests.bot.servers import RecordsApi
from tests.bot.trackers import run, slots_set, texts, tracker, verified_slots

NEW_ADDRESS = {
    "new_address_line1": "7 Wharf Street", "new_town": "Leeds", "new_postcode": "LS2 7EQ",
}


def _history(api: RecordsApi, number: str) -> list[dict]:
    with api.client() as client:
        return client.get(f"/members/{number}/history").json()  # type: ignore[no-any-return]


def _form_started(at: float) -> list[dict]:
    return [{"event": "active_loop", "name": "address_form", "timestamp": at}]


def test_the_same_yes_handled_twice_changes_the_record_once(actions_env: RecordsApi) -> None:
    number = "1000051"
    before = len(_history(actions_env, number))
    state = tracker(slots={**verified_slots(actions_env, number), **NEW_ADDRESS},
                    intent="affirm", text="yes", sender="rest:once-1",
                    events=_form_started(1_700_000_000.0))

    first_events, first_messages = run(SubmitAddress(), state)
    again_events, again_messages = run(SubmitAddress(), state)

    assert len(_history(actions_env, number)) == before + 1
    reference = slots_set(first_events)["last_reference"]
    assert reference and slots_set(again_events)["last_reference"] == reference
    assert reference in texts(again_messages)
    assert actions_env.member(number)["address_line1"] == "7 Wharf Street"


def test_a_kept_change_that_had_got_through_is_not_made_again_on_replay(
    actions_env: RecordsApi,
) -> None:
    from actions import pending

    number = "1000052"
    before = len(_history(actions_env, number))
    slots = {**verified_slots(actions_env, number), **NEW_ADDRESS}
    state = tracker(slots=slots, intent="affirm", text="yes", sender="rest:once-2",
                    events=_form_started(1_700_000_100.0))
    run(SubmitAddress(), state)
    # What a timeout after the write leaves: the same change kept for replay, under its key.
    body = {"address_line1": "7 Wharf Street", "town": "Leeds", "postcode": "LS2 7EQ"}
    path = f"/members/{number}/address"
    sent = _history(actions_env, number)[0]
    pending.keep(method="PUT", path=path, body=body, channel="rest",
                 member_token=slots["member_token"],
                 idempotency_key=change_key(state, method="PUT", path=path, body=body))

    asyncio.run(pending.replay_once())

    assert pending.waiting() == []
    assert len(_history(actions_env, number)) == before + 1
    assert _history(actions_env, number)[0]["reference"] == sent["reference"]


@pytest.mark.parametrize("second_town", ["Leeds", "Bradford"])
def test_a_member_who_asks_again_through_the_form_gets_a_second_change(
    actions_env: RecordsApi, second_town: str
) -> None:
    # The same values asked for again later in the conversation are a new request: only a
    # repeat from the same point of the conversation is the same change.
    number = "1000053" if second_town == "Leeds" else "1000054"
    before = len(_history(actions_env, number))
    verified = verified_slots(actions_env, number)
    run(SubmitAddress(), tracker(slots={**verified, **NEW_ADDRESS}, intent="affirm", text="yes",
                                 sender="rest:once-3", events=_form_started(1_700_000_200.0)))
    later = {**NEW_ADDRESS, "new_town": second_town}
    run(SubmitAddress(), tracker(slots={**verified, **later}, intent="affirm", text="yes",
                                 sender="rest:once-3", events=_form_started(1_700_000_900.0)))

    assert len(_history(actions_env, number)) == before + 2
