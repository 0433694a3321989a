"""Queues and the case page: taking a case, talking to the member, handing back, resolving."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.cases.models import Case, CaseMessage, CaseStatus, Priority
from api.changes import applying as changes
from api.changes.schemas import PersonalDetailsChange
from api.config import Settings
from api.outbox.models import OutboundEmail
from api.security import Caller
from api.staff.models import Role, StaffUser
from api.timekeeping import utcnow
from tests.api import factories
from tests.api.console.conftest import csrf_token, open_case, sign_in


def _messages(db: Session, case: Case) -> list[CaseMessage]:
    db.expire_all()
    return list(db.scalars(select(CaseMessage).where(CaseMessage.case_id == case.id)
                           .order_by(CaseMessage.id)))


def test_the_queue_lists_live_cases_by_priority_with_business_hour_timers(
    console: TestClient, db: Session, settings: Settings, agent: StaffUser
) -> None:
    normal = open_case(db, settings, conversation_id="c-normal", summary="Normal one")
    urgent = open_case(db, settings, conversation_id="c-urgent", summary="Urgent one")
    urgent.priority = Priority.urgent
    late = open_case(db, settings, conversation_id="c-late", summary="Late one")
    # A week back, so it holds opening hours whatever the day (over a weekend or Christmas, a
    # few days back may hold none, and the case would not be overdue).
    late.sla_due_at = utcnow() - timedelta(days=7)
    done = open_case(db, settings, conversation_id="c-done", summary="Done one")
    done.status = CaseStatus.resolved
    payments = open_case(db, settings, conversation_id="c-pay", intent="payment_failed",
                         summary="Payments one")
    answered = open_case(db, settings, conversation_id="c-answered", summary="Answered one")
    answered.priority = Priority.urgent
    answered.sla_due_at = utcnow() - timedelta(days=1)
    db.add(CaseMessage(case_id=answered.id, sender="staff", text="On it"))
    db.commit()
    sign_in(console, "alex.agent")

    page = console.get("/console/queue").text  # the agent's own team: records

    assert "Queue: Records" in page
    assert page.index(urgent.reference) < page.index(late.reference) < page.index(normal.reference)
    # A first response meets the SLA: an answered case is no longer overdue, and comes last.
    assert page.index(normal.reference) < page.index(answered.reference)
    assert page.count(" overdue</td>") == 1 and "answered</td>" in page
    assert done.reference not in page and payments.reference not in page
    assert "overdue" in page and "left" in page
    every = console.get("/console/queue?team=all").text
    assert payments.reference in every
    rows = console.get("/console/queue/rows?team=payments").text
    assert payments.reference in rows and normal.reference not in rows


def test_the_case_page_has_everything_needed_to_pick_it_up(
    console: TestClient, db: Session, settings: Settings, agent: StaffUser
) -> None:
    member = factories.member(db, first_name="Priya", last_name="Shah")
    case = open_case(db, settings, member_id=member.id)
    changes.request_personal_details_change(
        db_session=db, member=member, caller=Caller(kind="service"), channel="webchat",
        details=PersonalDetailsChange(last_name="Shah-Patel", identity_level="identity_checked"),
    )
    sign_in(console, "alex.agent")

    page = console.get(f"/console/cases/{case.reference}").text

    assert "Priya Shah" in page and member.membership_number in page
    assert "identity checked" in page
    assert "change_address" in page
    assert "LS2 9JT" in page  # collected by the assistant
    assert page.index("I&#39;ve moved house") < page.index("What is the postcode?")
    assert "30 Nov 2026 10:00" in page and "webchat" in page
    assert "Shah-Patel" in page and "personal details" in page  # the held change
    assert "Take this case" in page


def test_taking_a_case_records_who_and_tells_the_member_who_joined(
    console: TestClient, db: Session, settings: Settings, agent: StaffUser
) -> None:
    case = open_case(db, settings, member_id=factories.member(db).id)
    sign_in(console, "alex.agent")

    response = console.post(f"/console/cases/{case.reference}/take",
                            data={"csrf_token": csrf_token(console)})

    assert response.status_code == 303
    db.expire_all()
    taken = db.get(Case, case.id)
    assert taken.assigned_staff_id == agent.id and taken.taken_at is not None
    assert taken.status == CaseStatus.in_progress
    [joined] = _messages(db, case)
    assert joined.sender == "staff" and joined.delivered_at is None
    assert joined.text == "Alex Agent from the Records team has joined the conversation."
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "case.taken",
                                              AuditEvent.actor == "staff:alex.agent"))
    page = console.get(response.headers["location"]).text
    assert "has joined" in page and "Take this case" not in page


def test_a_taken_case_cannot_be_taken_by_someone_else(
    console: TestClient, db: Session, settings: Settings, agent: StaffUser
) -> None:
    other = factories.staff(db, "jo.other", Role.agent)
    case = open_case(db, settings)
    case.assigned_staff_id, case.taken_at, case.status = other.id, utcnow(), CaseStatus.in_progress
    db.commit()
    sign_in(console, "alex.agent")

    response = console.post(f"/console/cases/{case.reference}/take",
                            data={"csrf_token": csrf_token(console)})

    assert "error=" in response.headers["location"]
    assert "Jo Other has already taken it" in console.get(response.headers["location"]).text
    db.expire_all()
    assert db.get(Case, case.id).assigned_staff_id == other.id


def test_a_reply_goes_to_the_member_and_a_note_does_not(
    console: TestClient, db: Session, settings: Settings, agent: StaffUser
) -> None:
    case = open_case(db, settings)
    sign_in(console, "alex.agent")
    token = csrf_token(console)

    reply = console.post(f"/console/cases/{case.reference}/messages",
                         data={"text": "Hello, I can help with that.", "kind": "reply"},
                         headers={"HX-Request": "true", "X-CSRF-Token": token})
    note = console.post(f"/console/cases/{case.reference}/messages",
                        data={"text": "Checked the postcode", "kind": "note",
                              "csrf_token": token})

    assert reply.status_code == 200 and 'id="conversation"' in reply.text
    assert "Hello, I can help with that." in reply.text
    assert note.status_code == 303
    joined, sent, noted = _messages(db, case)
    # Replying to a case nobody had taken takes it first, so the member knows who is there.
    assert "has joined" in joined.text
    assert (sent.sender, sent.text) == ("staff", "Hello, I can help with that.")
    assert (noted.sender, noted.text) == ("note", "Checked the postcode")
    page = console.get(f"/console/cases/{case.reference}/conversation").text
    assert "internal note by Alex Agent" in page


def test_an_empty_reply_is_refused_with_a_message(
    console: TestClient, db: Session, settings: Settings, agent: StaffUser
) -> None:
    case = open_case(db, settings)
    sign_in(console, "alex.agent")

    response = console.post(f"/console/cases/{case.reference}/messages",
                            data={"text": "   ", "kind": "reply",
                                  "csrf_token": csrf_token(console)})

    assert "error=" in response.headers["location"]
    assert _messages(db, case) == []


def test_staff_messages_on_an_email_case_go_out_through_the_outbox(
    console: TestClient, db: Session, settings: Settings, agent: StaffUser
) -> None:
    member = factories.member(db, email="priya@example.org")
    case = open_case(db, settings, member_id=member.id, channel="email", conversation_id=None)
    sign_in(console, "alex.agent")

    console.post(f"/console/cases/{case.reference}/messages",
                 data={"text": "Your address <b>is</b> updated", "kind": "reply",
                       "csrf_token": csrf_token(console)})

    sent = db.scalars(select(OutboundEmail).where(OutboundEmail.to_address == "priya@example.org")
                      .order_by(OutboundEmail.id)).all()
    assert [e.subject for e in sent] == [f"Your case {case.reference}"] * 2
    assert "Your address <b>is</b> updated" in sent[1].body_text
    assert "Your address &lt;b&gt;is&lt;/b&gt; updated" in sent[1].body_html
    assert all(m.delivered_at is not None for m in _messages(db, case))


def test_a_reply_on_an_email_case_from_an_unknown_sender_goes_back_to_that_sender(
    console: TestClient, db: Session, settings: Settings, agent: StaffUser
) -> None:
    case = open_case(db, settings, channel="email", conversation_id=None)
    case.collected_values = {"email_from": "not.a.member@example.net"}
    db.commit()
    sign_in(console, "alex.agent")

    console.post(f"/console/cases/{case.reference}/messages",
                 data={"text": "Could you tell us your membership number?", "kind": "reply",
                       "csrf_token": csrf_token(console)})

    sent = db.scalars(select(OutboundEmail)
                      .where(OutboundEmail.to_address == "not.a.member@example.net")
                      .order_by(OutboundEmail.id)).all()
    assert len(sent) == 2  # who has joined, then the reply
    assert "Could you tell us your membership number?" in sent[1].body_text


def test_a_reply_nobody_would_receive_is_refused_not_shown_as_sent(
    console: TestClient, db: Session, settings: Settings, agent: StaffUser
) -> None:
    case = open_case(db, settings, channel="email", conversation_id=None)
    case.collected_values = {"email_from": "not an address"}
    db.commit()
    sign_in(console, "alex.agent")
    before = len(db.scalars(select(OutboundEmail)).all())

    response = console.post(f"/console/cases/{case.reference}/messages",
                            data={"text": "We have updated it.", "kind": "reply",
                                  "csrf_token": csrf_token(console)})

    assert "error=" in response.headers["location"]
    assert "no+address" in response.headers["location"] or "no%20address" in (
        response.headers["location"])
    db.expire_all()
    assert [m.text for m in _messages(db, case) if m.sender == "staff"] == [
        m.text for m in _messages(db, case) if "has joined" in m.text
    ]
    assert len(db.scalars(select(OutboundEmail)).all()) == before


def test_hand_back_and_resolve(
    console: TestClient, db: Session, settings: Settings, agent: StaffUser
) -> None:
    first = open_case(db, settings, conversation_id="c-1")
    second = open_case(db, settings, conversation_id="c-2")
    sign_in(console, "alex.agent")
    token = csrf_token(console)

    console.post(f"/console/cases/{first.reference}/hand-back",
                 data={"note": "Confirmed the new postcode is LS2 9JT", "csrf_token": token})
    refused = console.post(f"/console/cases/{second.reference}/resolve",
                           data={"outcome": "", "csrf_token": token})
    console.post(f"/console/cases/{second.reference}/resolve",
                 data={"outcome": "Address updated by phone", "csrf_token": token})

    db.expire_all()
    handed = db.get(Case, first.id)
    assert handed.status == CaseStatus.handed_back
    assert handed.handback_note == "Confirmed the new postcode is LS2 9JT"
    assert "passed you back to the membership assistant" in _messages(db, first)[-1].text
    assert "error=" in refused.headers["location"]
    closed = db.get(Case, second.id)
    assert closed.status == CaseStatus.resolved and closed.outcome == "Address updated by phone"
    assert _messages(db, second)[-1].text == (
        f"Your case {second.reference} is resolved: Address updated by phone"
    )
    # Neither is in the queue any more, and nothing more can be sent on them.
    queue = console.get("/console/queue?team=all").text
    assert first.reference not in queue and second.reference not in queue
    late = console.post(f"/console/cases/{first.reference}/messages",
                        data={"text": "hello?", "kind": "reply", "csrf_token": token})
    assert "error=" in late.headers["location"]


def test_a_transcript_with_script_and_template_syntax_renders_escaped_everywhere(
    console: TestClient, db: Session, settings: Settings, agent: StaffUser
) -> None:
    hostile = "<script>alert('x')</script> {{ 7*7 }} {% raw %}"
    case = open_case(
        db, settings, summary=f"Summary {hostile}",
        transcript=[{"at": "2026-11-30T10:00:00+00:00", "sender": "member", "text": hostile}],
    )
    sign_in(console, "alex.agent")
    console.post(f"/console/cases/{case.reference}/messages",
                 data={"text": hostile, "kind": "note", "csrf_token": csrf_token(console)})

    pages = [
        console.get(f"/console/cases/{case.reference}").text,
        console.get(f"/console/cases/{case.reference}/conversation").text,
        console.get("/console/queue").text,
    ]
    [email] = db.scalars(select(OutboundEmail)).all()  # the team's new-case email

    # Escaped, and exactly as typed: the template syntax was shown, never evaluated.
    escaped = str(escape(hostile))
    for text in pages + [email.body_html]:
        assert "<script>alert" not in text
        assert escaped in text
    # Plain text stays as typed (no markup is ever interpreted there), but is never evaluated.
    assert hostile in email.body_text
