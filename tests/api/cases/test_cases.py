"""Cases: routing by intent, priorities and deadlines, the routes, and who may see what."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.cases import service, sla
from api.cases.models import Case, CaseStatus, Priority, SatisfactionRating
from api.config import Settings
from api.members.models import Member
from api.staff.models import Team
from api.timekeeping import local_today, utcnow
from tests.api import factories
from tests.api.conftest import SERVICE_TOKEN, member_headers, staff_headers

UTC = timezone.utc
SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


@pytest.mark.parametrize(
    ("intent", "team"),
    [
        ("change_address", "records"),
        ("change_employment", "records"),
        ("change_circumstances", "records"),
        ("change_payment_method", "payments"),
        ("payment_failed", "payments"),
        ("request_refund", "payments"),
        ("payment_not_recognised", "payments"),
        ("make_payment", "payments"),
        ("check_subscription", "payments"),
        ("ballot_paper_missing", "ballots"),
        ("ballot_eligibility", "ballots"),
        ("industrial_action_info", "ballots"),
        ("complaint", "complaints"),
        ("data_protection_request", "data_protection"),
        ("cancel_membership", "membership"),
        ("membership_status", "membership"),
        ("request_human", "membership"),
        ("opening_hours", "membership"),
        (None, "membership"),
    ],
)
def test_cases_are_routed_to_the_team_for_the_intent(intent: str | None, team: str) -> None:
    assert service.team_code_for(intent) == team


def test_priority_follows_the_intent_and_can_only_be_raised() -> None:
    assert service.priority_for("complaint") == Priority.high
    assert service.priority_for("data_protection_request") == Priority.high
    assert service.priority_for("change_address") == Priority.normal
    assert service.priority_for("payment_failed", Priority.urgent) == Priority.urgent
    assert service.priority_for("complaint", Priority.low) == Priority.high


def _open(
    db: Session, settings: Settings, *, intent: str, now: datetime, **kw: Any
) -> service.OpenedCase:
    return service.open_case(
        db_session=db,
        member_id=kw.pop("member_id", None),
        channel="webchat",
        conversation_id=kw.pop("conversation_id", "conv-1"),
        intent=intent,
        summary="Member asked for help",
        transcript=[],
        collected_values={},
        identity_level="identity_checked",
        actor="service:assistant",
        settings=settings,
        now=now,
        **kw,
    )


def test_a_complaint_carries_its_stage_1_deadline(db: Session, settings: Settings) -> None:
    # Received Thursday 17 December 2026 at 16:00: Christmas, the Boxing Day substitute and
    # New Year's Day are not business days.
    opened = _open(db, settings, intent="complaint", now=datetime(2026, 12, 17, 16, 0, tzinfo=UTC))
    assert opened.case.complaint_deadline_on == date(2027, 1, 5)
    assert opened.case.priority == Priority.high
    # 8 business hours: 1 on Thursday, 7 on Friday.
    assert opened.case.sla_due_at == datetime(2026, 12, 18, 16, 0, tzinfo=UTC)
    assert opened.within_business_hours is True
    assert opened.case.statutory_due_on is None


def test_a_data_protection_request_carries_the_statutory_month(
    db: Session, settings: Settings
) -> None:
    opened = _open(
        db,
        settings,
        intent="data_protection_request",
        now=datetime(2026, 1, 31, 10, 0, tzinfo=UTC),
    )
    assert opened.team.code == "data_protection"
    # No 31 February; 28 February 2026 is a Saturday.
    assert opened.case.statutory_due_on == date(2026, 3, 2)
    assert service.case_deadline(opened.case) == date(2026, 3, 2)


def test_a_case_opened_at_the_weekend_says_when_the_team_opens(
    db: Session, settings: Settings
) -> None:
    opened = _open(
        db, settings, intent="payment_failed", now=datetime(2026, 11, 21, 11, 0, tzinfo=UTC)
    )
    assert opened.within_business_hours is False
    assert opened.next_business_open == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert sla.spoken_opening(opened.next_business_open, settings=settings) == (
        "Monday 23 November at 09:00"
    )
    assert opened.case.sla_due_at == datetime(2026, 11, 24, 17, 0, tzinfo=UTC)


def test_teams_are_created_once_and_reused(db: Session, settings: Settings) -> None:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    first = _open(db, settings, intent="complaint", now=now)
    second = _open(db, settings, intent="complaint", now=now)
    assert first.team.id == second.team.id
    assert first.team.name == "Complaints"
    assert db.scalar(select(func.count()).select_from(Team).where(Team.code == "complaints")) == 1


# Routes


CASE = {
    "conversation_id": "web-abc-123",
    "intent": "change_address",
    "summary": "Member moved house; new postcode not recognised by the form.",
    "transcript": [
        {"at": "2026-11-23T10:00:00Z", "sender": "member", "text": "I've moved house"},
        {"sender": "assistant", "text": "What is your new postcode?"},
    ],
    "collected_values": {"postcode": "LS2 9JT"},
    "identity_level": "identity_checked",
}


def _post_case(  # type: ignore[no-untyped-def]
    client: TestClient, *, headers: dict[str, str] | None = None, **changes: Any
):
    """Open a case as the assistant: with the service token, or a verified member's own."""
    return client.post("/api/v1/cases", json={**CASE, **changes}, headers=headers or SERVICE)


def _as_member(settings: Settings, member: Member) -> dict[str, Any]:
    """A case opened for a verified member: with their token, naming their number."""
    return {"headers": member_headers(settings, member),
            "membership_number": member.membership_number}


def test_the_assistant_opens_a_case_and_learns_what_happens_next(
    service_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)
    response = _post_case(service_client, **_as_member(settings, member), channel="webchat")
    assert response.status_code == 201
    body = response.json()
    assert body["reference"].startswith("CASE-")
    assert body["team"] == "records" and body["team_name"] == "Records"
    assert body["priority"] == "normal" and body["status"] == "open"
    due = datetime.fromisoformat(body["sla_due_at"].replace("Z", "+00:00"))
    next_open = datetime.fromisoformat(body["next_business_open"].replace("Z", "+00:00"))
    # Normal priority: 16 business hours from when the team is next at work.
    assert due == sla.add_business_hours(next_open, 16, settings=settings)
    assert sla.is_open(next_open, settings=settings)
    assert body["next_business_open_text"] == sla.spoken_opening(next_open, settings=settings)
    assert body["within_business_hours"] == sla.is_open(utcnow(), settings=settings)
    assert body["deadline"] is None

    case = db.scalar(select(Case).where(Case.reference == body["reference"]))
    assert case is not None
    assert case.member_id == member.id and case.channel == "webchat"
    assert case.transcript == CASE["transcript"]
    assert case.collected_values == {"postcode": "LS2 9JT"}
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "case.opened"))
    assert event is not None and body["reference"] in (event.detail or "")
    assert "LS2" not in (event.detail or "")


def test_a_complaint_case_answers_with_its_deadline(
    service_client: TestClient, settings: Settings
) -> None:
    body = _post_case(service_client, intent="complaint").json()
    assert body["team"] == "complaints" and body["priority"] == "high"
    received = local_today(now=utcnow(), settings=settings)
    assert body["deadline"] == sla.add_business_days(received, 10, settings=settings).isoformat()
    assert body["statutory_due_on"] is None


def test_the_assistant_may_raise_the_priority(service_client: TestClient) -> None:
    assert _post_case(service_client, priority="urgent").json()["priority"] == "urgent"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"summary": "x" * 501}, "summary"),
        ({"summary": "   "}, "summary"),
        ({"transcript": [{"sender": "member", "text": "x" * 5001}]}, "transcript.0.text"),
        ({"membership_number": "12"}, "membership_number"),
        ({"channel": "carrier-pigeon"}, "channel"),
        ({"identity_level": "trust_me"}, "identity_level"),
        ({"collected_values": {"note": "x" * 1001}}, "collected_values.note"),
    ],
)
def test_bad_case_input_is_refused_naming_the_field(
    service_client: TestClient, db: Session, changes: dict[str, Any], field: str
) -> None:
    response = _post_case(service_client, **changes)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert "x" * 100 not in response.text
    assert db.scalar(select(Case)) is None


def test_the_assistant_opens_cases_but_staff_and_strangers_do_not(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)
    assert app_client.post("/api/v1/cases", json=CASE).status_code == 401
    as_member = app_client.post(
        "/api/v1/cases", json=CASE, headers=member_headers(settings, member)
    )
    assert as_member.status_code == 201
    as_staff = app_client.post(
        "/api/v1/cases", json=CASE, headers=staff_headers(settings, factories.staff(db))
    )
    assert as_staff.status_code == 403


def test_the_service_token_cannot_say_who_a_case_is_about(
    app_client: TestClient, db: Session
) -> None:
    """A forged or careless call with the shared service token names a member: the case is
    opened unverified, about nobody, and the number is kept only as the member's claim."""
    member = factories.member(db)
    response = _post_case(app_client, membership_number=member.membership_number)
    assert response.status_code == 201
    case = db.scalar(select(Case).where(Case.reference == response.json()["reference"]))
    assert case is not None
    assert case.member_id is None and case.identity_level == "none"
    assert case.collected_values["membership_number_claimed"] == member.membership_number
    assert _post_case(app_client, membership_number="9999999").status_code == 201


def test_a_member_token_opens_cases_only_about_that_member(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    me, other = factories.member(db), factories.member(db, first_name="Jo")
    response = _post_case(app_client, headers=member_headers(settings, me),
                          membership_number=other.membership_number)
    assert response.status_code == 403
    assert response.json()["field"] == "membership_number"
    assert db.scalar(select(Case)) is None
    # With no number named, the case is about the token's own member.
    opened = _post_case(app_client, headers=member_headers(settings, me)).json()
    case = db.scalar(select(Case).where(Case.reference == opened["reference"]))
    assert case is not None and case.member_id == me.id


def test_staff_read_a_case_but_neither_the_service_nor_a_member_token_can(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)
    reference = _post_case(app_client, **_as_member(settings, member)).json()["reference"]
    staff = staff_headers(settings, factories.staff(db))
    staff_view = app_client.get(f"/api/v1/cases/{reference}", headers=staff)
    assert staff_view.status_code == 200
    assert staff_view.json()["membership_number"] == member.membership_number
    assert staff_view.json()["collected_values"] == {"postcode": "LS2 9JT"}

    # Every channel process holds the service token: a guessed reference must not open a
    # member's transcript, nor a conversation id list its cases.
    service_view = app_client.get(f"/api/v1/cases/{reference}", headers=SERVICE)
    assert service_view.status_code == 403
    assert member.membership_number not in service_view.text
    listed = app_client.get("/api/v1/cases", params={"conversation_id": "c-1"}, headers=SERVICE)
    assert listed.status_code == 403
    own_member = app_client.get(
        f"/api/v1/cases/{reference}", headers=member_headers(settings, member)
    )
    assert own_member.status_code == 403
    assert app_client.get("/api/v1/cases/CASE-NOPE123", headers=staff).status_code == 404


def test_a_member_lists_only_their_own_cases(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    me, other = factories.member(db), factories.member(db, first_name="Jo")
    mine = _post_case(app_client, **_as_member(settings, me)).json()["reference"]
    _post_case(app_client, **_as_member(settings, other))
    headers = member_headers(settings, me)

    response = app_client.get(f"/api/v1/members/{me.membership_number}/cases", headers=headers)
    assert response.status_code == 200
    assert [c["reference"] for c in response.json()] == [mine]
    assert "transcript" not in response.json()[0]

    theirs = app_client.get(f"/api/v1/members/{other.membership_number}/cases", headers=headers)
    assert theirs.status_code == 404
    assert theirs.json()["detail"] == "No such member."


def test_messages_by_who_may_send_them(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    reference = _post_case(app_client).json()["reference"]
    path = f"/api/v1/cases/{reference}/messages"
    for sender in ("member", "staff"):
        pretending = app_client.post(
            path, json={"sender": sender, "text": "All done"}, headers=SERVICE
        )
        assert pretending.status_code == 403

    staff = staff_headers(settings, factories.staff(db))
    reply = app_client.post(
        path, json={"sender": "staff", "text": "Any news?\nThanks"}, headers=staff
    )
    assert reply.status_code == 201
    assert reply.json()["text"] == "Any news?\nThanks"
    as_the_member = app_client.post(path, json={"sender": "member", "text": "hi"}, headers=staff)
    assert as_the_member.status_code == 422 and as_the_member.json()["field"] == "sender"
    note = app_client.post(
        path, json={"sender": "note", "text": "Checked with payroll"}, headers=staff
    )
    assert note.status_code == 201
    too_long = app_client.post(path, json={"sender": "staff", "text": "x" * 5001}, headers=staff)
    assert too_long.status_code == 422 and too_long.json()["field"] == "text"
    member = factories.member(db)
    as_member = app_client.post(
        path, json={"sender": "member", "text": "hi"}, headers=member_headers(settings, member)
    )
    assert as_member.status_code == 403

    case = app_client.get(f"/api/v1/cases/{reference}", headers=staff).json()
    assert [(m["sender"], m["text"]) for m in case["messages"]] == [
        ("staff", "Any news?\nThanks"),
        ("note", "Checked with payroll"),
    ]


def test_staff_move_a_case_on(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    reference = _post_case(app_client).json()["reference"]
    staff_user = factories.staff(db)
    staff = staff_headers(settings, staff_user)
    path = f"/api/v1/cases/{reference}/status"

    no_outcome = app_client.post(path, json={"status": "resolved"}, headers=staff)
    assert no_outcome.status_code == 422 and no_outcome.json()["field"] == "outcome"
    waiting = app_client.post(path, json={"status": "waiting_on_member"}, headers=staff)
    assert waiting.status_code == 200 and waiting.json()["status"] == "waiting_on_member"

    case = db.scalar(select(Case).where(Case.reference == reference))
    assert case is not None and case.status == CaseStatus.waiting_on_member
    assert case.assigned_staff_id == staff_user.id

    resolved = app_client.post(
        path, json={"status": "resolved", "outcome": "Address updated"}, headers=staff
    )
    assert resolved.status_code == 200
    assert resolved.json()["outcome"] == "Address updated"
    db.refresh(case)
    assert case.resolved_at is not None


def test_case_status_is_staff_only(app_client: TestClient, db: Session, settings: Settings) -> None:
    reference = _post_case(app_client).json()["reference"]
    path = f"/api/v1/cases/{reference}/status"
    assert (
        app_client.post(
            path, json={"status": "resolved", "outcome": "x"}, headers=SERVICE
        ).status_code
        == 403
    )
    member = factories.member(db)
    as_member = app_client.post(
        path, json={"status": "resolved", "outcome": "x"}, headers=member_headers(settings, member)
    )
    assert as_member.status_code == 403
    assert app_client.post(path, json={"status": "resolved", "outcome": "x"}).status_code == 401


def test_the_open_case_of_a_conversation_is_found(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    first = _post_case(app_client).json()["reference"]
    _post_case(app_client, conversation_id="another-conversation")
    staff = staff_headers(settings, factories.staff(db))
    found = app_client.get(
        "/api/v1/cases", params={"conversation_id": "web-abc-123"}, headers=staff
    )
    assert [c["reference"] for c in found.json()] == [first]

    app_client.post(
        f"/api/v1/cases/{first}/status",
        json={"status": "resolved", "outcome": "Done"},
        headers=staff,
    )
    params = {"conversation_id": "web-abc-123"}
    assert app_client.get("/api/v1/cases", params=params, headers=staff).json() == []
    with_resolved = app_client.get(
        "/api/v1/cases", params={**params, "include_resolved": True}, headers=staff
    )
    assert [c["reference"] for c in with_resolved.json()] == [first]
    member = factories.member(db)
    as_member = app_client.get(
        "/api/v1/cases", params=params, headers=member_headers(settings, member)
    )
    assert as_member.status_code == 403


# Ratings


def test_the_assistant_records_a_rating(service_client: TestClient, db: Session) -> None:
    response = service_client.post(
        "/api/v1/ratings",
        json={
            "conversation_id": "web-abc-123",
            "channel": "webchat",
            "score": 4,
            "comment": "Quick and clear",
        },
    )
    assert response.status_code == 201
    assert response.json()["score"] == 4
    rating = db.scalar(select(SatisfactionRating))
    assert rating is not None
    assert (rating.conversation_id, rating.score, rating.comment) == (
        "web-abc-123",
        4,
        "Quick and clear",
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"score": 6}, "score"),
        ({"score": 0}, "score"),
        ({"comment": "x" * 1001}, "comment"),
        ({"conversation_id": ""}, "conversation_id"),
        ({"channel": "fax"}, "channel"),
    ],
)
def test_bad_ratings_are_refused(
    service_client: TestClient, db: Session, changes: dict[str, Any], field: str
) -> None:
    body = {"conversation_id": "c-1", "channel": "telegram", "score": 3, **changes}
    response = service_client.post("/api/v1/ratings", json=body)
    assert response.status_code == 422 and response.json()["field"] == field
    assert db.scalar(select(SatisfactionRating)) is None


def test_only_the_service_records_ratings(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    body = {"conversation_id": "c-1", "channel": "webchat", "score": 5}
    member = factories.member(db)
    assert (
        app_client.post(
            "/api/v1/ratings", json=body, headers=member_headers(settings, member)
        ).status_code
        == 403
    )
    assert app_client.post("/api/v1/ratings", json=body).status_code == 401
