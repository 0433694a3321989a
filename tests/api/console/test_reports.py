"""The dashboard and the data-quality report."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.cases.models import CaseMessage, SatisfactionRating
from api.config import Settings
from api.conversations import service as conversations
from api.members.models import Status
from api.payments.models import CollectionStatus, MandateStatus
from api.reports import charts
from api.reports import service as reports
from api.staff.models import StaffUser
from api.timekeeping import utcnow
from tests.api import factories
from tests.api.console.conftest import open_case, sign_in


def _conversations(db: Session, settings: Settings) -> None:
    """Four conversations: two webchat (one escalated), two Telegram; 2 fallbacks in 8 turns.

    w1 changed an address (resolved); w2 complained and was handed to a person; t1 started an
    address change, was asked "what would you like me to do with that?" and gave up
    (abandoned, and a misunderstanding though no fallback); t2 asked nothing we do.
    """
    now = utcnow()
    # (fallback, misunderstood, request started, resolved) per turn
    plan = [
        ("w1", "webchat", "change_address", [(False, False, True, False),
                                             (False, False, False, True)]),
        ("w2", "webchat", "complaint", [(False, False, True, False), (True, False, False, False),
                                        (False, False, False, False)]),
        ("t1", "telegram", "change_address", [(False, True, True, False)]),
        ("t2", "telegram", "ballot_when", [(True, False, False, False),
                                           (False, False, False, False)]),
    ]
    for conversation_id, channel, intent, turns in plan:
        for fallback, misunderstood, started, resolved in turns:
            conversations.record_turn(db_session=db, conversation_id=conversation_id,
                                      channel=channel, intent=None if fallback else intent,
                                      fallback=fallback, misunderstood=misunderstood,
                                      request_started=started, resolved=resolved,
                                      at=now - timedelta(hours=1))
    case = open_case(db, settings, conversation_id="w2", intent="complaint")
    case.created_at = now - timedelta(minutes=50)
    db.add(CaseMessage(case_id=case.id, sender="staff", text="Hello",
                       sent_at=now - timedelta(minutes=30)))
    for score in (5, 5, 4, 1):
        db.add(SatisfactionRating(conversation_id="w1", channel="webchat", score=score))
    db.commit()


def test_the_dashboard_figures(db: Session, settings: Settings) -> None:
    _conversations(db, settings)

    figures = reports.dashboard(db_session=db, settings=settings, days=30)

    assert figures.conversations == 4
    # "Contained" would have said 3 of 4: the member who gave up counted as a success.
    assert figures.outcomes == {"resolved": 1, "escalated": 1, "abandoned": 1,
                                "in progress": 0, "no request": 1}
    assert (figures.fallback_turns, figures.member_turns) == (2, 8)
    assert figures.misunderstood_turns == 3 and figures.misunderstanding_rate == 3 / 8
    by_channel = {row.name: row.counts for row in figures.by_channel}
    assert by_channel["telegram"]["abandoned"] == 1 and by_channel["webchat"]["resolved"] == 1
    assert figures.channels == ["telegram", "webchat"]
    assert len(figures.days) == 30 and figures.days[-1] == figures.last_day
    per_channel = {"webchat": 0, "telegram": 0}
    for counts in figures.per_day.values():
        for channel, count in counts.items():
            per_channel[channel] += count
    assert per_channel == {"webchat": 2, "telegram": 2}
    by_intent = {r.intent: (r.conversations, r.escalated) for r in figures.escalation_by_intent}
    assert by_intent == {"change_address": (2, 0), "complaint": (1, 1), "ballot_when": (1, 0)}
    assert figures.escalation_by_intent[0].intent == "complaint"
    assert figures.satisfaction == {1: 1, 2: 0, 3: 0, 4: 1, 5: 2}
    assert figures.median_first_reply == timedelta(minutes=20)
    assert reports.duration_text(figures.median_first_reply) == "20m"


def test_the_dashboard_page_draws_its_charts(
    console: TestClient, db: Session, settings: Settings, data_user: StaffUser
) -> None:
    _conversations(db, settings)
    sign_in(console, "dana.data")

    page = console.get("/console/dashboard").text

    assert page.count("<svg") == 5
    assert 'id="fig-resolved">25%' in page and 'id="fig-abandoned">25%' in page
    assert 'id="fig-escalated">25%' in page and 'id="fig-misunderstood">38%' in page
    assert 'id="fig-first-reply">20m' in page
    assert "complaint" in page and "100% of 1" in page
    assert console.get("/console/dashboard?days=3").status_code == 422


def test_an_empty_dashboard_says_so(
    console: TestClient, data_user: StaffUser
) -> None:
    sign_in(console, "dana.data")

    page = console.get("/console/dashboard").text

    assert "No conversations in this period" in page and "no replies yet" in page


def test_chart_labels_are_escaped() -> None:
    svg = charts.horizontal_bars(title="<t>", rows=[("<script>x</script>", 1.0, "&")])

    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&amp;" in svg


def _quality_data(db: Session) -> dict[str, str]:
    good = factories.member(db, first_name="Good", last_name="Record")
    no_place = factories.member(db, first_name="No", last_name="Workplace", workplace=None)
    bad_email = factories.member(db, first_name="Bad", last_name="Email", email="not-an-email")
    bad_postcode = factories.member(db, first_name="Bad", last_name="Postcode", postcode="LS1")
    born = date(1990, 1, 1)
    twin_a = factories.member(db, first_name="Sam", last_name="Twin", date_of_birth=born)
    twin_b = factories.member(db, first_name="sam", last_name="TWIN ", date_of_birth=born)
    lapsed = factories.member(db, first_name="Lapsed", last_name="Mandate", status=Status.lapsed)
    factories.mandate(db, lapsed, status=MandateStatus.active)
    lapsed_cancelled = factories.member(db, first_name="Lapsed", last_name="Cancelled",
                                        status=Status.lapsed)
    factories.mandate(db, lapsed_cancelled, status=MandateStatus.cancelled)
    owing = factories.member(db, first_name="Owes", last_name="Money",
                             arrears_brought_forward=Decimal("30.00"))
    factories.collection(db, owing, status=CollectionStatus.failed, amount=Decimal("24.50"))
    little = factories.member(db, first_name="Owes", last_name="Little",
                              arrears_brought_forward=Decimal("10.00"))
    factories.collection(db, little, status=CollectionStatus.failed, amount=Decimal("24.50"),
                         settled_on=date(2026, 2, 1))
    formula = factories.member(db, first_name="=HYPERLINK(\"x\")", last_name="Sheet",
                               workplace=None)
    return {"good": good.membership_number, "no_place": no_place.membership_number,
            "bad_email": bad_email.membership_number,
            "bad_postcode": bad_postcode.membership_number,
            "twin_a": twin_a.membership_number, "twin_b": twin_b.membership_number,
            "lapsed": lapsed.membership_number,
            "lapsed_cancelled": lapsed_cancelled.membership_number,
            "owing": owing.membership_number, "little": little.membership_number,
            "formula": formula.membership_number}


def test_the_data_quality_report_and_its_audited_csv(
    console: TestClient, db: Session, data_user: StaffUser
) -> None:
    n = _quality_data(db)
    sign_in(console, "dana.data")

    page = console.get("/console/data-quality").text
    exported = console.get("/console/data-quality.csv?arrears_over=50")

    assert 'id="count-no_workplace">2<' in page and 'id="count-likely_duplicate">2<' in page
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    found = {(r["issue"], r["membership_number"]) for r in rows}
    assert found == {
        ("no_workplace", n["no_place"]), ("no_workplace", n["formula"]),
        ("invalid_email", n["bad_email"]), ("invalid_postcode", n["bad_postcode"]),
        ("likely_duplicate", n["twin_a"]), ("likely_duplicate", n["twin_b"]),
        ("lapsed_with_live_mandate", n["lapsed"]),
        ("arrears_over_threshold", n["owing"]),
    }
    owing = next(r for r in rows if r["issue"] == "arrears_over_threshold")
    assert owing["detail"] == "£54.50"
    # A name that a spreadsheet would run as a formula is defused.
    assert next(r for r in rows if r["membership_number"] == n["formula"])[
        "first_name"].startswith("'=")
    audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "report.data_quality_exported"))
    assert audit.actor == "staff:dana.data" and "rows=8" in audit.detail
    # A higher threshold drops the member owing £54.50.
    higher = console.get("/console/data-quality.csv?arrears_over=60").text
    assert "arrears_over_threshold" not in higher


def test_a_request_still_open_is_in_progress_until_the_member_has_been_quiet_long_enough(
    db: Session, settings: Settings
) -> None:
    now = utcnow()
    for conversation_id, ago in (("recent", timedelta(minutes=5)), ("quiet", timedelta(hours=2))):
        conversations.record_turn(db_session=db, conversation_id=conversation_id,
                                  channel="webchat", intent="change_address", fallback=False,
                                  request_started=True, at=now - ago)

    figures = reports.dashboard(db_session=db, settings=settings, days=7)

    assert figures.outcomes["in progress"] == 1 and figures.outcomes["abandoned"] == 1
