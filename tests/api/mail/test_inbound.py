"""Inbound email on the records side: recorded once, routed or threaded, acknowledged safely."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.cases.models import Case, CaseMessage, CaseStatus
from api.config import Settings
from api.mail.models import InboundEmail
from api.mail.sender import build_message, thread_into_case
from api.mail.settings import EmailSettings, get_email_settings
from api.members.models import Category, Frequency
from api.outbox.models import OutboundEmail
from api.staff.models import Role
from tests.api import factories
from tests.api.conftest import member_headers, staff_headers

SUPPORT = "Membership team <members@union.example>"


@pytest.fixture
def email_api(service_client: TestClient) -> Iterator[TestClient]:
    """The API as the email channel sees it, with a known support address and reply limit."""
    settings = EmailSettings(env="test", email_from=SUPPORT, webchat_url="https://union.example/chat",
                             email_replies_per_sender_per_hour=5)
    service_client.app.dependency_overrides[get_email_settings] = lambda: settings  # type: ignore[attr-defined]
    service_client.headers["X-Memberdesk-Channel"] = "email"
    yield service_client


def inbound(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message_id": "<first.1@mail.example.net>",
        "from_address": "alex.morgan@example.org",
        "subject": "I've moved house",
        "body_text": "Hello, I have moved to 22 Park Lane, Leeds LS2 9JT. Alex",
        "intent": "change_address",
        "confidence": 0.97,
        "entities": {"postcode": "LS2 9JT"},
    }
    body.update(overrides)
    return body


def outbox(db: Session) -> list[OutboundEmail]:
    """The replies queued to senders (not the teams' own new-case notices)."""
    db.rollback()
    return [
        row for row in db.scalars(select(OutboundEmail).order_by(OutboundEmail.id))
        if (row.headers or {}).get("X-Memberdesk-Case")
    ]


def count(db: Session, model: type) -> int:
    db.rollback()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_an_email_opens_a_routed_case_and_queues_an_acknowledgement_with_its_reference(
    email_api: TestClient, db: Session
) -> None:
    member = factories.member(db)

    response = email_api.post("/api/v1/email/inbound", json=inbound())

    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["outcome"] == "opened_case"
    assert answer["team"] == "records"
    assert answer["matched_member"] == member.membership_number
    assert answer["acknowledge"] is True and answer["answer"] is False
    case = db.scalar(select(Case).where(Case.reference == answer["reference"]))
    assert case is not None
    assert case.channel == "email" and case.member_id == member.id
    # Matching the From address is not an identity check.
    assert case.identity_level == "none"
    assert "22 Park Lane" in case.transcript[0]["text"]
    assert case.collected_values["email_postcode"] == "LS2 9JT"
    [reply] = outbox(db)
    assert reply.to_address == "alex.morgan@example.org"
    assert answer["reference"] in reply.subject and answer["reference"] in reply.body_text
    assert reply.headers is not None
    assert reply.headers["In-Reply-To"] == "<first.1@mail.example.net>"
    assert reply.headers["Auto-Submitted"] == "auto-replied"
    assert reply.headers["Message-ID"].endswith("@union.example>")
    assert reply.body_html is not None and answer["reference"] in reply.body_html


def test_the_acknowledgement_discloses_nothing_from_the_record_and_points_to_webchat(
    email_api: TestClient, db: Session
) -> None:
    member = factories.member(db, first_name="Rosalind", last_name="Featherstone")

    email_api.post("/api/v1/email/inbound", json=inbound(
        from_address=member.email, intent="check_subscription", subject="How much are my subs?",
        body_text="How much do I pay?",
    ))

    [reply] = outbox(db)
    for text in (reply.body_text, reply.body_html or ""):
        assert "Rosalind" not in text and "Featherstone" not in text
        assert member.membership_number not in text
        assert "24.50" not in text  # the member's own amount, not a published rate here
        assert "https://union.example/chat" in text


def test_the_same_message_id_is_recorded_routed_and_answered_once(
    email_api: TestClient, db: Session
) -> None:
    first = email_api.post("/api/v1/email/inbound", json=inbound())
    again = email_api.post("/api/v1/email/inbound", json=inbound())

    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["reference"] == first.json()["reference"]
    assert count(db, Case) == 1
    assert count(db, InboundEmail) == 1
    assert len(outbox(db)) == 1


def test_a_reply_to_the_acknowledgement_joins_the_case_instead_of_opening_one(
    email_api: TestClient, db: Session
) -> None:
    first = email_api.post("/api/v1/email/inbound", json=inbound()).json()
    [ack] = outbox(db)
    assert ack.headers is not None

    reply = email_api.post("/api/v1/email/inbound", json=inbound(
        message_id="<reply.2@mail.example.net>", subject="Re: I've moved house",
        body_text="Sorry, the postcode is LS2 9JU.", in_reply_to=ack.headers["Message-ID"],
        references=["<first.1@mail.example.net>", ack.headers["Message-ID"]],
        intent="inform", confidence=0.8,
    )).json()

    assert reply["outcome"] == "joined_case"
    assert reply["joins_case"] == reply["reference"] == first["reference"]
    assert count(db, Case) == 1
    case = db.scalar(select(Case).where(Case.reference == first["reference"]))
    assert case is not None
    assert [m.sender for m in case.messages] == ["member"]
    assert "LS2 9JU" in case.messages[0].text
    second_ack = outbox(db)[1]
    assert "added it to your case" in second_ack.body_text
    assert second_ack.headers is not None
    assert second_ack.headers["In-Reply-To"] == "<reply.2@mail.example.net>"


def test_a_case_reference_in_the_subject_joins_and_reopens_an_answered_case(
    email_api: TestClient, db: Session
) -> None:
    employer = factories.employer(db)
    factories.ballot(db, employers=[employer], opens_on=date(2026, 1, 1),
                     closes_on=date(2099, 12, 31), title="Pay ballot for Northshire")
    first = email_api.post("/api/v1/email/inbound", json=inbound(
        intent="ballot_info", subject="When does the ballot close?", body_text="When?",
    )).json()
    assert first["answer"] is True
    db.rollback()
    case = db.scalar(select(Case).where(Case.reference == first["reference"]))
    assert case is not None and case.status == CaseStatus.resolved

    follow_up = email_api.post("/api/v1/email/inbound", json=inbound(
        message_id="<new-thread.3@mail.example.net>",
        subject=f"Still confused [{first['reference']}]", intent="ballot_info",
        body_text="Does the paper need a stamp?",
    )).json()

    assert follow_up["outcome"] == "joined_case"
    assert follow_up["reference"] == first["reference"]
    assert follow_up["answer"] is False  # a thread is for a person now
    db.rollback()
    db.refresh(case)
    assert case.status == CaseStatus.open


def test_a_case_reference_from_another_sender_opens_a_flagged_case_of_its_own(
    email_api: TestClient, db: Session
) -> None:
    """A reference is printed in every reply and easy to copy: quoting it proves nothing."""
    first = email_api.post("/api/v1/email/inbound", json=inbound()).json()

    forged = email_api.post("/api/v1/email/inbound", json=inbound(
        message_id="<forged.1@mail.example.net>", from_address="someone.else@example.com",
        subject=f"Re: I've moved house [{first['reference']}]",
        body_text="Please send everything on this case to me instead.",
    )).json()

    assert forged["outcome"] == "opened_case"
    assert forged["reference"] != first["reference"]
    db.rollback()
    original = db.scalar(select(Case).where(Case.reference == first["reference"]))
    assert original is not None
    assert all("everything on this case" not in m.text for m in original.messages)
    flagged = db.scalar(select(Case).where(Case.reference == forged["reference"]))
    assert flagged is not None
    assert first["reference"] in flagged.collected_values["email_quoted_case"]
    # The acknowledgement to the other address says nothing about the quoted case.
    [reply] = [m for m in outbox(db) if m.to_address == "someone.else@example.com"]
    assert "22 Park Lane" not in reply.body_text and "LS2 9JT" not in reply.body_text


def test_a_reply_in_the_thread_from_a_new_address_joins_but_is_marked_for_staff(
    email_api: TestClient, db: Session
) -> None:
    """A Message-ID is not guessable, but a References line can be copied from a forwarded
    email: the reply joins its thread, and staff see that its writer is new to the case."""
    first = email_api.post("/api/v1/email/inbound", json=inbound()).json()
    [ack] = outbox(db)
    own = email_api.post("/api/v1/email/inbound", json=inbound(
        message_id="<first.2@mail.example.net>", subject="Re: moved",
        body_text="The move is from the 14th.", references=[ack.headers["Message-ID"]],
    )).json()
    other = email_api.post("/api/v1/email/inbound", json=inbound(
        message_id="<other.1@mail.example.net>", from_address="someone.else@example.com",
        subject="Re: moved", body_text="Send the membership card to me instead.",
        references=[ack.headers["Message-ID"]],
    )).json()

    assert own["reference"] == other["reference"] == first["reference"]
    db.rollback()
    case = db.scalar(select(Case).where(Case.reference == first["reference"]))
    assert case is not None
    [from_member, from_other] = [m.text for m in case.messages if m.sender == "member"]
    assert not from_member.startswith("[")
    assert from_other.startswith("[Written from someone.else@example.com, an address new to")
    assert "Send the membership card to me instead." in from_other


@pytest.mark.parametrize("field", ["message_id", "from_address", "subject", "body_text"])
def test_a_nul_byte_anywhere_is_taken_out_and_the_email_recorded(
    email_api: TestClient, db: Session, field: str
) -> None:
    values = {"message_id": "<nul\x00.1@mail.example.net>",
              "from_address": "alex.morgan\x00@example.org",
              "subject": "Moved\x00 house\x07", "body_text": "Hello\x00\nNew address\tbelow"}
    response = email_api.post("/api/v1/email/inbound", json=inbound(**{field: values[field]}))

    assert response.status_code == 201, response.text
    db.rollback()
    [stored] = db.scalars(select(InboundEmail)).all()
    for column in ("message_id", "from_address", "subject"):
        assert "\x00" not in getattr(stored, column) and "\x07" not in getattr(stored, column)


@pytest.mark.parametrize("field, value, stored", [
    ("message_id", "<injected.1@mail.example.net>\r\nBcc: everyone@example.com",
     "<injected.1@mail.example.net> Bcc: everyone@example.com"),
    ("subject", "Moved\r\n house\tsoon", "Moved  house soon"),
    ("subject", "Moved \ud800house", "Moved \ufffdhouse"),
    ("from_address", "Alex.Morgan@example.org\x00\r\n", "alex.morgan@example.org"),
])
def test_a_header_keeps_to_one_line_and_the_reply_to_it_can_still_be_sent(
    email_api: TestClient, db: Session, field: str, value: str, stored: str
) -> None:
    """A line break in a header would reach our reply's headers, where the sender cannot send
    it (and must not: it would add a header); a lone surrogate is not text PostgreSQL takes."""
    response = email_api.post(
        "/api/v1/email/inbound", content=json.dumps(inbound(**{field: value})),
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 201, response.text
    db.rollback()
    [row] = db.scalars(select(InboundEmail)).all()
    assert getattr(row, field) == stored
    [reply] = outbox(db)
    message = build_message(reply, email_settings=EmailSettings(env="test", email_from=SUPPORT))
    assert message["Bcc"] is None
    assert all("\n" not in str(v) and "\r" not in str(v) for v in message.values())


def test_a_body_keeps_its_line_breaks_and_tabs_and_loses_other_control_characters(
    email_api: TestClient, db: Session
) -> None:
    response = email_api.post("/api/v1/email/inbound", json=inbound(
        body_text="Hello\x00\r\nNew address:\t22 Park Lane\x1b[31m\rLeeds\x85"))

    assert response.status_code == 201, response.text
    db.rollback()
    case = db.scalar(select(Case).where(Case.reference == response.json()["reference"]))
    assert case is not None
    assert case.transcript[0]["text"].endswith("Hello\nNew address:\t22 Park Lane[31m\nLeeds")


def test_informational_questions_are_answered_from_the_published_facts(
    email_api: TestClient, db: Session
) -> None:
    employer = factories.employer(db)
    factories.ballot(db, employers=[employer], opens_on=date(2026, 1, 1),
                     closes_on=date(2099, 12, 31), title="Pay ballot for Northshire")
    factories.rate(db, Category.full, Frequency.monthly, amount="21.30")
    factories.category_info(db, Category.full, "Full", "Working more than 30 hours a week")

    ballot = email_api.post("/api/v1/email/inbound", json=inbound(
        message_id="<b@x.example>", intent="ballot_info", subject="Ballot dates?", body_text="?"
    )).json()
    join = email_api.post("/api/v1/email/inbound", json=inbound(
        message_id="<j@x.example>", from_address="new.person@example.com",
        intent="join_membership", subject="How do I join?", body_text="How do I join?",
    )).json()
    unsure = email_api.post("/api/v1/email/inbound", json=inbound(
        message_id="<u@x.example>", from_address="unsure@example.com", intent="ballot_info",
        confidence=0.41, subject="hmm", body_text="ballot maybe",
    )).json()

    ballot_reply, join_reply, unsure_reply = outbox(db)
    assert ballot["answer"] is True and "Pay ballot for Northshire" in ballot_reply.body_text
    assert "31 December 2099" in ballot_reply.body_text
    assert "Turnout threshold: 50%" in ballot_reply.body_text
    assert join["answer"] is True and "£21.30 monthly" in join_reply.body_text
    assert "£21.30 monthly" in (join_reply.body_html or "")
    assert unsure["answer"] is False and "Pay ballot" not in unsure_reply.body_text
    assert unsure["reference"] in unsure_reply.body_text


def test_an_email_asking_the_opening_hours_is_answered_and_closed(
    email_api: TestClient, db: Session
) -> None:
    asked = email_api.post("/api/v1/email/inbound", json=inbound(
        intent="opening_hours", subject="Opening times", body_text="What time are you open till?",
    )).json()

    (reply,) = outbox(db)
    assert asked["answer"] is True
    assert "open Monday to Friday, 09:00 to 17:00, UK time" in reply.body_text
    assert "Monday to Friday, 09:00 to 17:00, UK time" in (reply.body_html or "")
    assert "https://union.example/chat" in reply.body_text
    case = db.scalar(select(Case).where(Case.reference == asked["reference"]))
    assert case is not None and case.status == CaseStatus.resolved


@pytest.mark.parametrize(
    ("intent", "team", "priority", "deadline_field"),
    [
        ("complaint", "complaints", "high", "complaint_deadline_on"),
        ("data_protection_request", "data_protection", "high", "statutory_due_on"),
        ("payment_failed", "payments", "normal", None),
        ("greet", "membership", "normal", None),
    ],
)
def test_emails_are_routed_by_intent_with_a_priority_and_an_sla(
    email_api: TestClient, db: Session, intent: str, team: str, priority: str,
    deadline_field: str | None,
) -> None:
    answer = email_api.post("/api/v1/email/inbound", json=inbound(intent=intent)).json()

    assert answer["team"] == team and answer["priority"] == priority
    assert answer["sla_due_at"]
    case = db.scalar(select(Case).where(Case.reference == answer["reference"]))
    assert case is not None
    if deadline_field:
        assert getattr(case, deadline_field) is not None


@pytest.mark.parametrize(
    "overrides",
    [
        {"automatic_reason": "Auto-Submitted: auto-replied"},
        {"from_address": "members@union.example"},
        {"from_address": "Members@Union.Example"},
        {"from_address": "not an address"},
    ],
    ids=["out-of-office", "our-own-address", "our-own-address-other-case", "unusable-sender"],
)
def test_automatic_mail_is_recorded_but_never_answered_or_routed(
    email_api: TestClient, db: Session, overrides: dict[str, Any]
) -> None:
    answer = email_api.post("/api/v1/email/inbound", json=inbound(**overrides)).json()

    assert answer["outcome"] == "automatic"
    assert answer["acknowledge"] is False and answer["reference"] is None
    assert answer["no_reply_reason"].startswith("automatic mail")
    assert outbox(db) == []
    assert count(db, Case) == 0
    assert count(db, InboundEmail) == 1


def test_one_sender_gets_at_most_the_hourly_reply_limit_and_every_email_is_still_routed(
    email_api: TestClient, db: Session
) -> None:
    answers = [
        email_api.post("/api/v1/email/inbound", json=inbound(
            message_id=f"<loop.{n}@mail.example.net>", subject=f"Re: your email {n}",
        )).json()
        for n in range(8)
    ]

    assert len(outbox(db)) == 5
    assert [a["acknowledge"] for a in answers] == [True] * 5 + [False] * 3
    assert all(a["reference"] for a in answers)
    assert "reply limit" in answers[-1]["no_reply_reason"]


def test_a_preview_says_what_would_happen_and_writes_nothing(
    email_api: TestClient, db: Session
) -> None:
    member = factories.member(db)

    preview = email_api.post("/api/v1/email/triage", json=inbound(intent="request_refund"))

    assert preview.status_code == 200
    assert preview.json()["team"] == "payments"
    assert preview.json()["matched_member"] == member.membership_number
    assert preview.json()["acknowledge"] is True
    assert count(db, InboundEmail) == 0 and count(db, Case) == 0 and outbox(db) == []


def test_a_card_number_notice_goes_in_the_reply(email_api: TestClient, db: Session) -> None:
    email_api.post("/api/v1/email/inbound", json=inbound(
        intent="make_payment", body_text="Take it from [card number removed] please",
        card_number_removed=True,
    ))

    [reply] = outbox(db)
    assert "Please don't send card details by email" in reply.body_text


def test_only_the_service_may_record_or_preview_email(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)

    assert app_client.post("/api/v1/email/inbound", json=inbound()).status_code == 401
    for path in ("/api/v1/email/inbound", "/api/v1/email/triage"):
        refused = app_client.post(path, json=inbound(), headers=member_headers(settings, member))
        assert refused.status_code == 403
    assert count(db, InboundEmail) == 0


def _staff_reply(email_api: TestClient, db: Session, settings: Settings, reference: str,
                 text: str) -> Any:
    agent = factories.staff(db, "jo.agent", Role.agent)
    return email_api.post(f"/api/v1/cases/{reference}/messages",
                          json={"sender": "staff", "text": text},
                          headers=staff_headers(settings, agent))


def _as_sent(row: OutboundEmail, db: Session) -> EmailMessage:
    """The row as the sender would send it: threaded into its case first."""
    email_settings = EmailSettings(env="test", email_from=SUPPORT)
    thread_into_case(db_session=db, row=row, email_settings=email_settings)
    return build_message(row, email_settings=email_settings)


def test_a_staff_reply_through_the_json_api_goes_to_an_unknown_sender_in_their_thread(
    email_api: TestClient, db: Session, settings: Settings
) -> None:
    """The sender matched no member: the reply still reaches them, threaded, and their answer
    to it joins the case."""
    first = email_api.post("/api/v1/email/inbound", json=inbound()).json()
    [ack] = outbox(db)

    response = _staff_reply(email_api, db, settings, first["reference"],
                            "Which town did you move to?")

    assert response.status_code == 201, response.text
    [_, staff_reply] = outbox(db)
    assert staff_reply.to_address == "alex.morgan@example.org"
    sent = _as_sent(staff_reply, db)
    assert "Which town did you move to?" in sent.get_body(("plain",)).get_content()
    assert sent["In-Reply-To"] == ack.headers["Message-ID"]
    assert "<first.1@mail.example.net>" in sent["References"]
    answer = email_api.post("/api/v1/email/inbound", json=inbound(
        message_id="<first.2@mail.example.net>", subject="Re: your email",
        body_text="Leeds.", in_reply_to=sent["Message-ID"], references=[sent["Message-ID"]],
    )).json()
    assert (answer["outcome"], answer["reference"]) == ("joined_case", first["reference"])


def test_a_staff_reply_nobody_would_receive_is_refused_by_the_json_api(
    email_api: TestClient, db: Session, settings: Settings
) -> None:
    opened = email_api.post("/api/v1/email/inbound", json=inbound()).json()
    case = db.scalar(select(Case).where(Case.reference == opened["reference"]))
    assert case is not None
    case.collected_values = {**case.collected_values, "email_from": "not an address"}
    db.commit()
    before = count(db, OutboundEmail)

    response = _staff_reply(email_api, db, settings, opened["reference"], "We have updated it.")

    assert response.status_code == 409
    assert "not sent" in response.json()["detail"]
    assert count(db, OutboundEmail) == before
    db.rollback()
    assert [m.sender for m in db.scalars(select(CaseMessage).where(
        CaseMessage.case_id == case.id))] == []
