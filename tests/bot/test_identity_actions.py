"""The identity check, run as the action server runs it, against the real records API."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.identity import ValidateIdentityForm, VerifyIdentity
from bot.identity import signed_identity
from tests.bot.servers import SECRET_KEY, RecordsApi
from tests.bot.trackers import PRIYA, run, slots_set, texts, tracker

pytestmark = pytest.mark.usefixtures("actions_env")


def _checking(**slots: object) -> object:
    return tracker(slots={**slots}, intent="inform", text="", active_loop="identity_form")


def test_the_right_details_verify_the_member_and_forget_what_was_typed(
    actions_env: RecordsApi,
) -> None:
    events, messages = run(VerifyIdentity(), _checking(**PRIYA))

    slots = slots_set(events)
    assert slots["identity_status"] == "verified"
    assert slots["verified_number"] == "1000001"
    assert slots["member_token"].count(".") == 2  # a JWT from the API
    assert slots["membership_number"] is None and slots["date_of_birth"] is None
    assert "Priya" in texts(messages)


@pytest.mark.parametrize(
    "wrong",
    [
        {**PRIYA, "date_of_birth": "1985-03-15"},
        {**PRIYA, "postcode": "LS2 9JT"},
        {**PRIYA, "membership_number": "1999999"},
    ],
    ids=["date of birth", "postcode", "number"],
)
def test_any_wrong_detail_gets_the_same_generic_answer(wrong: dict[str, str]) -> None:
    events, messages = run(VerifyIdentity(), _checking(**wrong, identity_failures=0))

    slots = slots_set(events)
    assert slots["identity_status"] == "failed"
    assert slots["identity_failures"] == 1
    assert "member_token" not in slots
    assert texts(messages) == (
        "Sorry, I couldn't match those details to a membership. Please check them and try again."
    )


def test_three_failures_lock_the_conversation_and_the_member_is_told() -> None:
    wrong = {**PRIYA, "membership_number": "1000030", "postcode": "ZZ1 1ZZ"}
    events: list = []
    for attempt in range(3):
        events, messages = run(VerifyIdentity(), _checking(**wrong, identity_failures=attempt))

    slots = slots_set(events)
    assert slots["identity_status"] == "locked"
    shown = texts(messages)
    assert "utter_identity_locked" in shown or "locked" in shown.lower()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("14/03/1985", "1985-03-14"),
        ("14 March 85", "1985-03-14"),
        ("1985-03-14", "1985-03-14"),
        ("14th of march 1985", "1985-03-14"),
        ("14.3.1985", "1985-03-14"),
    ],
)
def test_dates_of_birth_are_read_as_members_write_them(typed: str, expected: str) -> None:
    form = ValidateIdentityForm()
    result = asyncio.run(
        form.validate_date_of_birth(typed, CollectingDispatcher(), _checking(), {})
    )
    assert result["date_of_birth"] == expected



@pytest.mark.parametrize("typed", ["14/03/2030", "LS1 4AB", "1000001", "14 March"])
def test_a_future_date_a_postcode_or_half_a_date_is_refused_as_a_date_of_birth(
    typed: str,
) -> None:
    dispatcher = CollectingDispatcher()
    result = asyncio.run(
        ValidateIdentityForm().validate_date_of_birth(typed, dispatcher, _checking(), {})
    )
    assert result["date_of_birth"] is None
    assert "couldn't read that as a date" in texts(dispatcher.messages)


HERE = {"conversation_id": "webchat:AbCdEfGhIjKlMnOpQrStUv", "channel": "webchat"}


def _assertion(number: str, *, secret: str = SECRET_KEY, expires_in: float = 300,
               conversation: str = HERE["conversation_id"], channel: str = "webchat") -> dict:
    claims = {"membership_number": number, "exp": time.time() + expires_in,
              "conversation": conversation, "channel": channel}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode()
    sig = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return {"memberdesk_identity": {"payload": payload, "sig": sig}}


def test_only_a_correctly_signed_unexpired_channel_assertion_names_a_member() -> None:
    assert signed_identity(_assertion("1000001"), secret=SECRET_KEY, **HERE) == "1000001"
    assert signed_identity(_assertion("1000001", secret="x" * 40), secret=SECRET_KEY,
                           **HERE) is None
    assert signed_identity(_assertion("1000001", expires_in=-1), secret=SECRET_KEY,
                           **HERE) is None
    assert signed_identity({"memberdesk_identity": {"membership_number": "1000001"}},
                           secret=SECRET_KEY, **HERE) is None
    assert signed_identity({"membership_number": "1000001"}, secret=SECRET_KEY, **HERE) is None


def test_an_assertion_counts_only_in_the_conversation_and_channel_it_was_signed_for() -> None:
    """One read from a tracker store or a log must not start another conversation verified."""
    assert signed_identity(_assertion("1000001", conversation="telegram:4242"),
                           secret=SECRET_KEY, **HERE) is None
    assert signed_identity(_assertion("1000001", channel="rest"), secret=SECRET_KEY,
                           **HERE) is None
