"""The doors into a conversation stay shut to anyone but the assistant itself.

A call to the action server runs actions on whatever tracker it carries, and Rasa's HTTP API
reads and rewrites any conversation. Both are started as `make run` starts them outside
development (harness.commands), in the shared test stack, and forged from outside here. And
a change kept while the records API was down never reaches a record with the service token.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import Any

import httpx
import pytest

from actions.base import NOT_VERIFIED
from tests.bot.servers import ACTIONS_SECRET, RASA_API_TOKEN, Assistant, RecordsApi
from tests.bot.trackers import domain, run, tracker, verified_slots

HEADER = "X-Memberdesk-Action-Secret"
NEW_ADDRESS = {"new_address_line1": "1 Forged Street", "new_town": "Leeds",
               "new_postcode": "LS2 9JT"}
MOVED = ("1 Forged Street", "Leeds", "LS2 9JT")


def forged_call(action: str, slots: dict[str, Any]) -> dict[str, Any]:
    """What Rasa would post to run `action` on a conversation holding `slots`."""
    state = tracker(slots=slots, intent="affirm", text="yes", sender="forged-conversation")
    return {"next_action": action, "sender_id": state.sender_id,
            "tracker": state.current_state(), "domain": domain(), "version": "3.6.21"}


def post(stack: Assistant, body: dict[str, Any], secret: str | None) -> httpx.Response:
    headers = {HEADER: secret} if secret is not None else {}
    return httpx.post(f"{stack.actions_url}/webhook", json=body, headers=headers, timeout=60)


def address_of(stack: Assistant, number: str) -> tuple[str, str, str]:
    record = stack.api.member(number)
    return record["address_line1"], record["town"], record["postcode"]


def said(reply: httpx.Response) -> str:
    return "\n".join(m.get("text") or "" for m in reply.json()["responses"])


@pytest.mark.parametrize("secret", [None, "", "not-the-secret", ACTIONS_SECRET[:-1] + "x"])
def test_the_action_server_runs_nothing_for_a_caller_without_its_secret(
    stack: Assistant, secret: str | None
) -> None:
    # A member's own, valid token in the forged tracker: only the secret stands in the way.
    slots = {**verified_slots(stack.api, "1000057"), **NEW_ADDRESS}
    before = address_of(stack, "1000057")

    refused = post(stack, forged_call("action_submit_address", slots), secret)
    listed = httpx.get(f"{stack.actions_url}/actions", headers={HEADER: secret or ""}, timeout=10)

    assert (refused.status_code, listed.status_code) == (401, 401)
    assert "responses" not in refused.text
    assert address_of(stack, "1000057") == before
    assert httpx.get(f"{stack.actions_url}/health", timeout=10).status_code == 200


def test_the_same_call_with_the_secret_is_run(stack: Assistant) -> None:
    slots = {**verified_slots(stack.api, "1000058"), **NEW_ADDRESS}

    answered = post(stack, forged_call("action_submit_address", slots), ACTIONS_SECRET)

    assert answered.status_code == 200, answered.text
    assert address_of(stack, "1000058") == MOVED


def test_a_tracker_naming_a_member_without_their_token_reaches_nothing_of_theirs(
    stack: Assistant,
) -> None:
    claimed = {"identity_status": "verified", "verified_number": "1000003",
               "identity_level": "identity_checked", "member_token": None}
    before = address_of(stack, "1000003")

    arrears = post(stack, forged_call("action_make_payment", claimed), ACTIONS_SECRET)
    moved = post(stack, forged_call("action_submit_address", {**claimed, **NEW_ADDRESS}),
                 ACTIONS_SECRET)

    assert (arrears.status_code, moved.status_code) == (200, 200)
    assert said(arrears) == NOT_VERIFIED and said(moved) == NOT_VERIFIED
    assert "http" not in arrears.text and "owe" not in said(arrears)
    assert address_of(stack, "1000003") == before
    # The conversation drops the identity it claimed.
    forgotten = {e["name"]: e["value"] for e in moved.json()["events"] if e["event"] == "slot"}
    assert forgotten["verified_number"] is None and forgotten["identity_status"] is None


def test_one_members_token_cannot_move_another_member(stack: Assistant) -> None:
    someone_else = {**verified_slots(stack.api, "1000059"), "verified_number": "1000003"}
    before = address_of(stack, "1000003")

    moved = post(stack, forged_call("action_submit_address", {**someone_else, **NEW_ADDRESS}),
                 ACTIONS_SECRET)

    assert moved.status_code == 200
    assert address_of(stack, "1000003") == before
    assert address_of(stack, "1000059") != MOVED


def test_rasa_shows_a_conversation_only_with_its_api_token(stack: Assistant) -> None:
    stack.say("doors-tracker", "hi")
    url = f"{stack.rasa_url}/conversations/doors-tracker/tracker"

    anonymous = httpx.get(url, timeout=30)
    wrong = httpx.get(url, params={"token": "guessed"}, timeout=30)
    injected = httpx.post(f"{url}/events", json={"event": "slot", "name": "verified_number",
                                                 "value": "1000003"}, timeout=30)
    allowed = httpx.get(url, params={"token": RASA_API_TOKEN}, timeout=30)

    assert (anonymous.status_code, wrong.status_code, injected.status_code) == (401, 401, 401)
    assert allowed.status_code == 200
    assert allowed.json()["slots"]["verified_number"] is None


def test_a_change_kept_during_an_outage_is_replayed_only_with_a_members_own_token(
    actions_env: RecordsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actions import pending
    from actions.records import SubmitAddress
    from bot.settings import get_settings

    # A token the records API never issued (or one that ran out during the outage).
    claimed = {**verified_slots(actions_env, "1000056"), "member_token": "not-a-real-token"}
    before = actions_env.member("1000056")
    monkeypatch.setenv("MEMBERDESK_API_URL", "http://127.0.0.1:9")  # nothing listens there
    get_settings.cache_clear()
    run(SubmitAddress(), tracker(slots={**claimed, **NEW_ADDRESS}, intent="affirm", text="yes"))
    monkeypatch.setenv("MEMBERDESK_API_URL", actions_env.url)
    get_settings.cache_clear()

    asyncio.run(pending.replay_once())

    after = actions_env.member("1000056")
    assert (after["address_line1"], after["postcode"]) == (
        before["address_line1"], before["postcode"])
    # Staff get it as a case to check: about nobody until they check who asked (the service
    # token cannot say whose a case is), with the number the conversation claimed.
    with sqlite3.connect(actions_env.database) as db:
        cases = db.execute(
            "SELECT summary, member_id, identity_level, collected_values FROM cases"
        ).fetchall()
    mine = [c for c in cases if json.loads(c[3]).get("membership_number_claimed") == "1000056"]
    assert [(c[0][:40], c[1], c[2]) for c in mine] == [
        ("A change asked for while our records wer", None, "none")]
    assert pending.waiting() == []
