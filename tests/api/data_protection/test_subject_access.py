"""The subject access export: everything held about a member, for the data team only, audited;
and no table that holds a member's data can be left out of it without a stated reason."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, insert, select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.ballots.models import ReplacementPaperRequest, ReplacementStatus
from api.cases import service as cases
from api.cases.models import Case, CaseMessage, CaseStatus, SatisfactionRating
from api.changes.models import ChangeRequest, ChangeStatus, IdentityLevel
from api.config import Settings
from api.conversations.models import Conversation
from api.data_protection.subject_access import COVERED, EXCLUDED, SECRET_COLUMNS
from api.database import Base
from api.identity.models import IdentityAttempt, Lockout, OneTimeCode, OneTimePurpose
from api.mail.models import InboundEmail
from api.members.models import Member
from api.outbox.models import OutboundEmail
from api.payments.models import PaymentLink, PaymentLinkPurpose, RefundRequest, RefundStatus
from api.staff.models import Role, StaffUser
from api.staff.service import ensure_default_teams
from api.timekeeping import utcnow
from tests.api import factories
from tests.api.conftest import SERVICE_TOKEN, member_headers, real_app_client, staff_headers
from tests.api.console.conftest import sign_in
from tests.api.data_protection.conftest import RASA_EVENTS

MEMBER_KEYS = ("member_id", "membership_number")
CARD = "4111 1111 1111 1111"
CONVERSATION = "webchat:7f3a"


def test_every_table_holding_a_members_data_is_exported_or_excluded_with_a_reason() -> None:
    import api.models  # noqa: F401 - every table in Base.metadata

    about_a_member = {
        table.name for table in Base.metadata.sorted_tables
        if any(key in table.columns for key in MEMBER_KEYS)
    }

    forgotten = about_a_member - set(COVERED) - set(EXCLUDED)
    assert not forgotten, (
        f"{sorted(forgotten)} hold a member's data: export them in "
        "api/data_protection/subject_access.py (COVERED) or list them in EXCLUDED with why")
    assert not set(COVERED) & set(EXCLUDED)
    assert set(COVERED) | set(EXCLUDED) <= about_a_member, "a listed table no longer exists"
    assert all(len(reason) > 30 for reason in EXCLUDED.values())


@pytest.fixture
def member(db: Session, settings: Settings) -> Member:
    """A member with something in every table COVERED names."""
    ensure_default_teams(db)
    found = factories.member(db, membership_number="1000001", email="priya@example.org")
    ballot = factories.ballot(db, employers=[found.employer])
    mandate = factories.mandate(db, found)
    factories.collection(db, found, mandate_id=mandate.id)
    now = utcnow()
    case = cases.open_case(
        db_session=db, member_id=found.id, channel="webchat", conversation_id=CONVERSATION,
        intent="change_address", summary="Member wants to change their address",
        transcript=[{"at": now.isoformat(), "sender": "member", "text": "I've moved house"}],
        collected_values={"postcode": "LS2 9JT"}, identity_level="identity_checked",
        actor="service:assistant", settings=settings,
    ).case
    agent = factories.staff(db, "alex.agent", Role.agent)
    db.add_all([
        CaseMessage(case_id=case.id, sender="staff", staff_id=agent.id, text="Hello Priya"),
        CaseMessage(case_id=case.id, sender="note", staff_id=agent.id, text="Checked the PAF"),
        PaymentLink(token_hash="a" * 64, member_id=found.id,
                    purpose=PaymentLinkPurpose.pay_arrears, amount=Decimal("24.50"),
                    expires_at=now + timedelta(minutes=30)),
        RefundRequest(reference="RF-TEST1", member_id=found.id, amount=Decimal("24.50"),
                      reason="Charged twice", channel="webchat",
                      status=RefundStatus.pending_review, requested_by="member:1000001"),
        ChangeRequest(reference="CR-TEST1", member_id=found.id, field="email",
                      old_value="old@example.org", new_value="priya@example.org",
                      channel="webchat", identity_level=IdentityLevel.identity_checked,
                      status=ChangeStatus.applied, requested_by="member:1000001"),
        ReplacementPaperRequest(reference="RP-TEST1", ballot_id=ballot.id, member_id=found.id,
                                status=ReplacementStatus.pending, channel="webchat",
                                address="1 High Street, Leeds, LS1 4AB"),
        InboundEmail(message_id="<one@example.org>", from_address="priya@example.org",
                     subject="My address", outcome="opened_case", member_id=found.id,
                     case_id=case.id),
        OutboundEmail(to_address="Priya@Example.org", subject="Your case",
                      body_text="We have your email"),
        OutboundEmail(to_address="someone.else@example.org", subject="Not hers",
                      body_text="Another member's reply"),
        IdentityAttempt(membership_number="1000001", succeeded=True, channel="webchat",
                        conversation_id=CONVERSATION),
        IdentityAttempt(membership_number="1000001", succeeded=False, channel="telegram",
                        conversation_id="telegram:999"),
        Lockout(membership_number="1000001", locked_until=now + timedelta(minutes=30)),
        OneTimeCode(member_id=found.id, purpose=OneTimePurpose.link_telegram, subject="tg:42",
                    code_hash="b" * 64, expires_at=now + timedelta(minutes=10)),
        Conversation(conversation_id=CONVERSATION, channel="webchat", member_turns=4,
                     fallback_turns=1),
        Conversation(conversation_id="telegram:999", channel="telegram", member_turns=2,
                     fallback_turns=0),
        SatisfactionRating(conversation_id=CONVERSATION, channel="webchat", score=5,
                           comment="Very helpful"),
    ])
    db.commit()
    return found


def _at(document: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        document = document[part]
    return document


@pytest.fixture
def data_team(db: Session) -> StaffUser:
    return factories.staff(db, "dana.data", Role.data_team)


def _export(client: TestClient, settings: Settings, who: StaffUser, number: str = "1000001"):
    return client.get(f"/api/v1/members/{number}/subject-access-export",
                      headers=staff_headers(settings, who))


def test_the_data_team_gets_everything_held_about_the_member_in_one_document(
    app_client: TestClient, db: Session, settings: Settings, member: Member,
    data_team: StaffUser,
) -> None:
    response = _export(app_client, settings, data_team)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="subject-access-1000001-')
    assert response.headers["cache-control"] == "no-store"
    document = response.json()
    for table, section in COVERED.items():
        assert _at(document, section), f"{table} is not in the export at {section}"
    assert document["member"]["email"] == "priya@example.org"
    assert document["member"]["employer"] == member.employer.name
    assert document["consents"] == {"marketing": True}
    assert document["subscription"]["amount"] == "24.50"
    (case,) = document["cases"]
    assert case["transcript"][0]["text"] == "I've moved house"
    assert [(m["sender"], m["staff_name"], m["text"]) for m in case["messages"]] == [
        ("staff", "Alex Agent", "Hello Priya"), ("note", "Alex Agent", "Checked the PAF")]
    assert [e["subject"] for e in document["emails"]["sent"]] == ["Your case"]
    assert [e["message_id"] for e in document["emails"]["received"]] == ["<one@example.org>"]
    # The conversation they were verified in, not the one where someone failed their number.
    (conversation,) = document["conversations"]
    assert conversation["conversation_id"] == CONVERSATION
    assert conversation["satisfaction_ratings"][0]["comment"] == "Very helpful"
    assert len(document["identity"]["checks"]) == 2
    (entitlement,) = document["ballots"]["entitlement"]
    assert entitlement["ballot_code"] == "IA-2026-PAY" and entitlement["entitled"] is True
    assert {"case.opened"} <= {entry["action"] for entry in document["audit_log"]}
    text = response.text
    for secret in SECRET_COLUMNS:
        assert f'"{secret}"' not in text
    assert "a" * 64 not in text and "b" * 64 not in text


def test_each_export_is_audited_with_who_when_and_which_member(
    app_client: TestClient, db: Session, settings: Settings, member: Member,
    data_team: StaffUser,
) -> None:
    before = utcnow()
    _export(app_client, settings, data_team)
    _export(app_client, settings, data_team)

    audited = list(db.scalars(select(AuditEvent)
                              .where(AuditEvent.action == "member.subject_access_exported")))
    assert [(a.actor, a.member_id) for a in audited] == [("staff:dana.data", member.id)] * 2
    assert all(a.occurred_at.replace(tzinfo=None) >= before.replace(tzinfo=None)
               for a in audited)


@pytest.mark.parametrize("role", [Role.agent, Role.team_lead])
def test_agents_and_team_leads_are_refused(
    role: Role, app_client: TestClient, db: Session, settings: Settings, member: Member
) -> None:
    someone = factories.staff(db, "pat.person", role)

    response = _export(app_client, settings, someone)

    assert response.status_code == 403
    assert db.scalar(select(AuditEvent).where(
        AuditEvent.action == "member.subject_access_exported")) is None


def test_member_and_service_tokens_are_refused_and_nobody_unsigned_gets_in(
    app_client: TestClient, db: Session, settings: Settings, member: Member
) -> None:
    path = "/api/v1/members/1000001/subject-access-export"

    assert app_client.get(path, headers=member_headers(settings, member)).status_code == 403
    assert app_client.get(
        path, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}).status_code == 403
    assert app_client.get(path).status_code == 401


def test_admin_may_export_and_an_unknown_member_is_404(
    app_client: TestClient, db: Session, settings: Settings, member: Member
) -> None:
    admin = factories.staff(db, "ada.admin", Role.admin)

    assert _export(app_client, settings, admin).status_code == 200
    missing = _export(app_client, settings, admin, number="9999999")
    assert missing.status_code == 404 and missing.json()["detail"] == "No such member."


def test_a_card_number_never_leaves_in_an_export_even_from_an_old_row(
    app_client: TestClient, db: Session, settings: Settings, member: Member,
    data_team: StaffUser,
) -> None:
    # Through the API it is masked on the way in ...
    opened = app_client.post("/api/v1/cases", headers=member_headers(settings, member), json={
        "channel": "rest", "summary": f"Wants to pay by card {CARD}",
        "transcript": [{"sender": "member", "text": f"my card is {CARD}"}],
        "collected_values": {"card": CARD},
    })
    assert opened.status_code == 201, opened.text
    # ... and a row written before that rule is masked on the way out.
    case = db.scalar(select(Case).where(Case.member_id == member.id))
    db.add(CaseMessage(case_id=case.id, sender="member", text=f"it is {CARD.replace(' ', '')}"))
    db.commit()

    response = _export(app_client, settings, data_team)

    assert response.status_code == 200
    assert not factories.shows_card_number(response.text, CARD)
    assert "[card number removed]" in response.text


def test_a_purged_case_is_exported_with_when_its_conversation_went(
    app_client: TestClient, db: Session, settings: Settings, member: Member,
    data_team: StaffUser,
) -> None:
    from api.data_protection.retention import purge

    case = db.scalar(select(Case).where(Case.member_id == member.id))
    case.status, case.resolved_at = CaseStatus.resolved, utcnow() - timedelta(days=500)
    db.commit()
    purge(db_session=db, settings=settings)

    (exported,) = _export(app_client, settings, data_team).json()["cases"]

    assert exported["transcript"] == [] and exported["messages"] == []
    assert exported["conversation_purged_at"] and exported["reference"] == case.reference


# --- the staff console -----------------------------------------------------------------------


def test_the_member_page_offers_the_export_to_the_data_team_and_downloads_it(
    console: TestClient, db: Session, member: Member, data_team: StaffUser
) -> None:
    sign_in(console, "dana.data")

    found = console.get("/console/members", params={"number": "1000001"})
    assert found.status_code == 303 and found.headers["location"] == "/console/members/1000001"
    page = console.get("/console/members/1000001")
    assert page.status_code == 200
    link = "/console/members/1000001/subject-access-export"
    assert f'href="{link}"' in page.text
    download = console.get(link)

    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    assert json.loads(download.text)["member"]["membership_number"] == "1000001"
    (audited,) = db.scalars(select(AuditEvent)
                            .where(AuditEvent.action == "member.subject_access_exported"))
    assert (audited.actor, audited.member_id, audited.channel) == (
        "staff:dana.data", member.id, "console")


def test_an_agent_sees_the_member_but_neither_the_button_nor_the_export(
    console: TestClient, db: Session, member: Member
) -> None:
    sign_in(console, "alex.agent")  # made with the member's case

    page = console.get("/console/members/1000001")
    refused = console.get("/console/members/1000001/subject-access-export")

    assert page.status_code == 200 and "subject-access-export" not in page.text
    assert refused.status_code == 403
    assert console.get("/console/members/9999999").status_code == 404
    assert console.get("/console/members", params={"number": "9999999"}).status_code == 404


# --- What was said, from Rasa's tracker store ---------------------------------------------------


def _rasa_wrote(url: str, sender_id: str, events: list[tuple[str, dict[str, Any]]]) -> None:
    """Events as Rasa's SQLTrackerStore writes them: one row each, the event as JSON in `data`."""
    store = create_engine(url)
    with store.begin() as conn:
        for moment, (type_name, event) in enumerate(events, start=1_780_000_000):
            conn.execute(insert(RASA_EVENTS).values(
                sender_id=sender_id, type_name=type_name, timestamp=float(moment),
                intent_name=event.get("parse_data", {}).get("intent", {}).get("name"),
                action_name=event.get("name"),
                data=json.dumps({"event": type_name, "timestamp": float(moment), **event}),
            ))
    store.dispose()


def test_the_export_holds_what_was_said_in_each_of_the_members_conversations(
    engine: Engine, db: Session, settings: Settings, member: Member, data_team: StaffUser,
    rasa_tracker_store: str,
) -> None:
    _rasa_wrote(rasa_tracker_store, CONVERSATION, [
        ("action", {"name": "action_session_start"}),
        ("user", {"text": "I've moved to 22 Park Lane, my card is " + CARD,
                  "parse_data": {"intent": {"name": "change_address"}}}),
        ("slot", {"name": "verified_number", "value": "1000001"}),
        ("bot", {"text": "Shall I update your record?", "data": {"buttons": []}}),
        ("user", {"text": "", "parse_data": {"intent": {"name": "affirm"}}}),
        ("user", {"text": "yes please", "parse_data": {"intent": {"name": "affirm"}}}),
    ])
    # Someone who failed the member's identity check: not the member's words.
    _rasa_wrote(rasa_tracker_store, "telegram:999", [
        ("user", {"text": "I am 1000001, honest", "parse_data": {}}),
    ])
    with_store = settings.model_copy(update={"tracker_store_url": rasa_tracker_store})

    with real_app_client(engine, with_store) as client:
        response = _export(client, with_store, data_team)

    assert response.status_code == 200, response.text
    document = response.json()
    assert document["export"]["conversation_words"] == "read from the assistant's tracker store"
    (conversation,) = document["conversations"]
    assert [(line["sender"], line["text"]) for line in conversation["messages"]] == [
        ("member", "I've moved to 22 Park Lane, my card is [card number removed]"),
        ("assistant", "Shall I update your record?"),
        ("member", "yes please"),
    ]
    assert conversation["messages"][0]["at"].startswith("2026-05-28T")
    assert "honest" not in response.text and not factories.shows_card_number(response.text, CARD)


def test_a_conversation_the_records_never_counted_is_still_exported_with_its_words(
    engine: Engine, db: Session, settings: Settings, member: Member, data_team: StaffUser,
    rasa_tracker_store: str,
) -> None:
    db.add(IdentityAttempt(membership_number="1000001", succeeded=True, channel="telegram",
                           conversation_id="telegram:42"))
    db.commit()
    _rasa_wrote(rasa_tracker_store, "telegram:42", [("user", {"text": "what do I pay?"})])
    with_store = settings.model_copy(update={"tracker_store_url": rasa_tracker_store})

    with real_app_client(engine, with_store) as client:
        document = _export(client, with_store, data_team).json()

    uncounted = [c for c in document["conversations"] if c["conversation_id"] == "telegram:42"]
    assert uncounted == [{"conversation_id": "telegram:42", "messages": [
        {"at": uncounted[0]["messages"][0]["at"], "sender": "member", "text": "what do I pay?"}]}]


def test_without_a_readable_tracker_store_the_export_says_the_words_were_not_read(
    engine: Engine, app_client: TestClient, settings: Settings, member: Member,
    data_team: StaffUser, tmp_path: Path,
) -> None:
    unset = _export(app_client, settings, data_team).json()
    assert unset["export"]["conversation_words"].startswith(
        "not read: MEMBERDESK_TRACKER_STORE_URL is not set")
    assert unset["conversations"][0]["messages"] == []

    wrong = settings.model_copy(update={"tracker_store_url": f"sqlite:///{tmp_path / 'x.db'}"})
    with real_app_client(engine, wrong) as client:
        response = _export(client, wrong, data_team)
    assert response.status_code == 200
    assert "has no `events` table" in response.json()["export"]["conversation_words"]
