"""The team's emails: one for each new case, and a daily digest of cases past their SLA."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.cases import handoff as work
from api.cases import sla
from api.cases.models import Case, CaseMessage
from api.config import Settings
from api.outbox.models import OutboundEmail
from api.staff.models import Team
from api.timekeeping import utcnow
from tests.api import factories
from tests.api.conftest import member_headers
from tests.api.console.conftest import open_case

UTC = timezone.utc  # in December, London time is UTC


def test_each_new_case_emails_its_team_with_the_transcript(
    service_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db, first_name="Priya", last_name="Shah")
    # Opened as the verified member, as the assistant does, so the case names them.
    response = service_client.post("/api/v1/cases", headers=member_headers(settings, member),
                                   json={
        "membership_number": member.membership_number, "channel": "webchat",
        "conversation_id": "w-9", "intent": "payment_failed",
        "summary": "Direct Debit failed <again>",
        "transcript": [{"at": "2026-11-30T10:00:00+00:00", "sender": "member",
                        "text": "My payment failed & I'm worried"}],
        "collected_values": {"amount": "24.50"}, "identity_level": "identity_checked",
    })
    assert response.status_code == 201
    reference = response.json()["reference"]

    [email] = db.scalars(select(OutboundEmail)).all()

    assert email.to_address == "payments@union.example"
    assert email.subject == f"New case {reference} for Payments: Direct Debit failed <again>"
    text, page = email.body_text, email.body_html
    assert "Priya Shah" in text and "identity_checked" in text and "amount: 24.50" in text
    assert "member: My payment failed & I'm worried" in text
    assert f"/console/cases/{reference}" in text
    assert "My payment failed &amp; I&#39;m worried" in page
    assert "Direct Debit failed &lt;again&gt;" in page


def test_the_digest_lists_each_teams_cases_past_their_sla_once_a_day(
    db: Session, settings: Settings
) -> None:
    late = open_case(db, settings, conversation_id="late", summary="Late <one>")
    on_time = open_case(db, settings, conversation_id="fine", summary="On time")
    late_payment = open_case(db, settings, conversation_id="pay", intent="payment_failed",
                             summary="Late payment one")
    answered_late = open_case(db, settings, conversation_id="answered", summary="Answered")
    now = utcnow()
    # Overdue is counted in opening hours, so a week back: two days back from a Sunday (or
    # Monday before opening) ends in a closed weekend and is not overdue at all.
    late.sla_due_at = late_payment.sla_due_at = now - timedelta(days=7)
    answered_late.sla_due_at = now - timedelta(days=7)
    on_time.sla_due_at = now + timedelta(days=2)
    db.add(CaseMessage(case_id=answered_late.id, sender="staff", text="Looking at it now"))
    db.query(OutboundEmail).delete()
    db.commit()

    emails = work.queue_sla_digest(db_session=db, settings=settings, now=now)

    by_team = {e.to_address: e for e in emails}
    assert set(by_team) == {"records@union.example", "payments@union.example"}
    records = by_team["records@union.example"]
    assert late.reference in records.body_text
    assert on_time.reference not in records.body_text
    assert answered_late.reference not in records.body_text
    assert "overdue" in records.body_text and "Late &lt;one&gt;" in records.body_html
    assert records.subject.startswith("1 Records case past their SLA")
    assert work.queue_sla_digest(db_session=db, settings=settings, now=now) == []


def test_the_digest_command(
    db: Session, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.cli import cli
    from api.config import get_settings

    case = open_case(db, settings)
    # A week back: the command reads the real clock, and a day back from a weekend or before
    # opening holds no opening hours, so the case would not be overdue.
    case.sla_due_at = utcnow() - timedelta(days=7)
    db.commit()
    monkeypatch.setenv("MEMBERDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["cases", "sla-digest"])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    assert "queued 1 SLA digest email(s)" in result.output
    assert db.scalar(select(OutboundEmail).where(OutboundEmail.subject.like("%past their SLA%")))


def test_a_team_without_an_address_gets_no_email(db: Session, settings: Settings) -> None:
    open_case(db, settings, conversation_id="x")  # creates the default teams
    team = db.scalar(select(Team).where(Team.code == "records"))
    team.email = None
    db.query(OutboundEmail).delete()
    db.commit()

    case = open_case(db, settings, conversation_id="y")

    assert db.get(Case, case.id) is not None
    assert db.scalars(select(OutboundEmail)).all() == []


def test_business_hours_between_skips_nights_weekends_and_bank_holidays(
    settings: Settings,
) -> None:
    friday_4pm = datetime(2026, 12, 18, 16, 0, tzinfo=UTC)
    tuesday_10am = datetime(2026, 12, 29, 10, 0, tzinfo=UTC)

    hours = sla.business_hours_between(friday_4pm, tuesday_10am, settings=settings)

    # Friday 16-17, Monday 21 to Thursday 24 (Christmas is Friday 25, Boxing Day's substitute
    # Monday 28), then Tuesday 29 9-10.
    holidays = sla.bank_holidays(2026, "england-and-wales")
    assert {d.day for d in holidays if d.month == 12} == {25, 28}
    assert hours == 1 + 4 * 8 + 1
    assert sla.business_hours_between(tuesday_10am, friday_4pm, settings=settings) == -hours
    assert sla.sla_timer_text(-1.5) == "1h 30m overdue"
    assert sla.sla_timer_text(3.25) == "3h 15m left"
