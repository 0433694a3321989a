"""The channels' hand-off API: paused conversations, staff messages out, member messages in."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.cases import handoff as work
from api.cases.models import Case, CaseMessage
from api.config import Settings
from api.conversations.models import Conversation
from api.staff.models import StaffUser
from tests.api.console.conftest import csrf_token, open_case, sign_in

BASE = "/api/v1/conversations"


def test_a_conversation_without_a_case_belongs_to_the_assistant(
    service_client: TestClient,
) -> None:
    body = service_client.get(f"{BASE}/never-escalated/handoff").json()

    assert body["state"] == "assistant" and body["paused"] is False
    assert body["case_reference"] is None


def test_the_whole_hand_off_as_a_channel_sees_it(
    service_client: TestClient, console: TestClient, db: Session, settings: Settings,
    agent: StaffUser,
) -> None:
    case = open_case(db, settings, conversation_id="webchat-42")
    state = service_client.get(f"{BASE}/webchat-42/handoff").json()
    assert (state["state"], state["paused"], state["case_reference"]) == (
        "waiting_for_staff", True, case.reference)

    # The member writes while waiting: it goes to the case, not to the assistant.
    added = service_client.post(f"{BASE}/webchat-42/member-messages",
                                json={"text": "Is anyone there?"})
    assert added.status_code == 201 and added.json()["case_reference"] == case.reference

    sign_in(console, "alex.agent")
    token = csrf_token(console)
    console.post(f"/console/cases/{case.reference}/take", data={"csrf_token": token})
    console.post(f"/console/cases/{case.reference}/messages",
                 data={"text": "Yes, I'm here.", "kind": "reply", "csrf_token": token})
    console.post(f"/console/cases/{case.reference}/messages",
                 data={"text": "internal only", "kind": "note", "csrf_token": token})

    state = service_client.get(f"{BASE}/webchat-42/handoff").json()
    assert (state["state"], state["paused"], state["staff_name"], state["team_name"]) == (
        "with_staff", True, "Alex Agent", "Records")
    waiting = service_client.get(f"{BASE}/webchat-42/staff-messages").json()["messages"]
    assert [m["text"] for m in waiting] == [
        "Alex Agent from the Records team has joined the conversation.", "Yes, I'm here."]
    assert {m["staff_name"] for m in waiting} == {"Alex Agent"}

    # Until marked, the same messages are offered again (nothing lost if a channel crashes).
    assert len(service_client.get(f"{BASE}/webchat-42/staff-messages").json()["messages"]) == 2
    marked = service_client.post(f"{BASE}/webchat-42/staff-messages/delivered",
                                 json={"message_ids": [m["id"] for m in waiting]})
    assert marked.json() == {"marked": 2}
    assert service_client.get(f"{BASE}/webchat-42/staff-messages").json()["messages"] == []

    # The member's answer shows in the console's conversation without a reload.
    service_client.post(f"{BASE}/webchat-42/member-messages", json={"text": "Thanks, LS2 9JT"})
    assert "Thanks, LS2 9JT" in console.get(
        f"/console/cases/{case.reference}/conversation").text

    console.post(f"/console/cases/{case.reference}/hand-back",
                 data={"note": "Postcode confirmed", "csrf_token": token})
    state = service_client.get(f"{BASE}/webchat-42/handoff").json()
    assert (state["state"], state["paused"]) == ("handed_back", False)
    assert state["handback"]["note"] == "Postcode confirmed"
    assert state["handback"]["collected_values"] == {"postcode": "LS2 9JT"}
    assert state["handback"]["intent"] == "change_address"
    farewell = service_client.get(f"{BASE}/webchat-42/staff-messages").json()["messages"]
    assert [m["text"] for m in farewell] == [
        "Alex Agent has passed you back to the membership assistant."]

    # Once the assistant has resumed, the member talks to it again, and only to it.
    resumed = service_client.post(f"{BASE}/webchat-42/handoff/resumed")
    assert resumed.json()["state"] == "assistant"
    assert service_client.post(f"{BASE}/webchat-42/handoff/resumed").status_code == 409
    late = service_client.post(f"{BASE}/webchat-42/member-messages", json={"text": "hi"})
    assert late.status_code == 409


def test_delivered_marks_only_this_conversations_staff_messages(
    service_client: TestClient, db: Session, settings: Settings, agent: StaffUser
) -> None:
    mine = open_case(db, settings, conversation_id="mine")
    theirs = open_case(db, settings, conversation_id="theirs")
    work.take_case(db_session=db, case=mine, user=agent, channel="console")
    work.take_case(db_session=db, case=theirs, user=agent, channel="console")
    their_id = db.scalar(select(CaseMessage.id).where(CaseMessage.case_id == theirs.id))

    marked = service_client.post(f"{BASE}/mine/staff-messages/delivered",
                                 json={"message_ids": [their_id]})

    assert marked.json() == {"marked": 0}
    assert len(service_client.get(f"{BASE}/theirs/staff-messages").json()["messages"]) == 1


def test_a_newer_case_decides_the_state(
    service_client: TestClient, db: Session, settings: Settings, agent: StaffUser
) -> None:
    old = open_case(db, settings, conversation_id="again")
    work.resolve(db_session=db, case=old, user=agent, outcome="Sorted", channel="console")
    assert service_client.get(f"{BASE}/again/handoff").json()["state"] == "assistant"

    new = open_case(db, settings, conversation_id="again")

    body = service_client.get(f"{BASE}/again/handoff").json()
    assert (body["state"], body["case_reference"]) == ("waiting_for_staff", new.reference)
    db.expire_all()
    assert db.get(Case, old.id).outcome == "Sorted"


def test_turns_are_counted_per_conversation(service_client: TestClient, db: Session) -> None:
    for intent, fallback in (("greet", False), (None, True), ("change_address", False)):
        response = service_client.post(f"{BASE}/tg-7/turns", json={
            "channel": "telegram", "intent": intent, "fallback": fallback})
        assert response.status_code == 201

    counted = db.scalar(select(Conversation).where(Conversation.conversation_id == "tg-7"))
    assert (counted.channel, counted.member_turns, counted.fallback_turns, counted.intent) == (
        "telegram", 3, 1, "greet")
    refused = service_client.post(f"{BASE}/tg-7/turns", json={"channel": "carrier-pigeon"})
    assert refused.status_code == 422


def test_the_service_token_cannot_write_on_a_case_by_its_reference(
    service_client: TestClient, db: Session, settings: Settings, agent: StaffUser
) -> None:
    """Words on a case come from staff, or from the member through their own conversation."""
    case = open_case(db, settings, conversation_id="quiet")

    for sender in ("member", "assistant", "staff", "note"):
        forged = service_client.post(f"/api/v1/cases/{case.reference}/messages",
                                     json={"sender": sender, "text": "I withdraw my complaint"})
        assert forged.status_code == 403, (sender, forged.text)
    db.expire_all()
    assert db.scalars(select(CaseMessage).where(CaseMessage.case_id == case.id)).all() == []
