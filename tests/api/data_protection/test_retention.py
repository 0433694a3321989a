"""The retention purge: conversation data past MEMBERDESK_RETENTION_DAYS goes, cases and the
audit log stay; Rasa's trackers are purged in a real tracker store (SQLite file, PostgreSQL)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from pydantic import ValidationError
from sqlalchemy import (
    Engine,
    create_engine,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session, sessionmaker

from api.audit.models import AuditEvent
from api.cases import service as cases
from api.cases.models import Case, CaseMessage, CaseStatus, SatisfactionRating
from api.cli import cli
from api.config import Settings, get_settings
from api.conversations.models import Conversation
from api.data_protection.retention import purge
from api.data_protection.trackers import TrackerStoreUnusable
from api.mail.models import EmailThreadId, InboundEmail
from api.outbox.models import OutboundEmail
from api.staff.service import ensure_default_teams
from api.timekeeping import aware_utc, utcnow
from tests.api import factories
from tests.api.data_protection.conftest import RASA_EVENTS

NOW = utcnow()
OLD = NOW - timedelta(days=401)  # past the default 400 days
RECENT = NOW - timedelta(days=399)
CARD_FREE_WORDS = "I've moved to 22 Park Lane"


@pytest.fixture
def teams(db: Session) -> None:
    ensure_default_teams(db)


def _case(db: Session, settings: Settings, *, status: CaseStatus, closed_at: datetime | None,
          conversation_id: str, member_id: int | None = None) -> Case:
    case = cases.open_case(
        db_session=db, member_id=member_id, channel="webchat", conversation_id=conversation_id,
        intent="change_address", summary="Member wants to change their address",
        transcript=[{"at": OLD.isoformat(), "sender": "member", "text": CARD_FREE_WORDS}],
        collected_values={"postcode": "LS2 9JT"}, identity_level="identity_checked",
        actor="service:assistant", settings=settings, now=OLD - timedelta(days=30),
    ).case
    db.add_all([CaseMessage(case_id=case.id, sender="member", text=CARD_FREE_WORDS),
                CaseMessage(case_id=case.id, sender="note", text="Checked the postcode")])
    case.status = status
    case.outcome = "Address updated." if status == CaseStatus.resolved else None
    if status == CaseStatus.resolved:
        case.resolved_at = closed_at
    if status == CaseStatus.handed_back:
        case.handed_back_at = closed_at
        case.handback_note = "Member confirmed the new postcode"
    db.commit()
    return case


def _messages(db: Session, case: Case) -> int:
    return db.scalar(select(func.count(CaseMessage.id)).where(CaseMessage.case_id == case.id))


def _email(db: Session, n: int, *, at: datetime, case: Case | None = None) -> InboundEmail:
    email = InboundEmail(
        message_id=f"<m{n}@example.org>", from_address="priya@example.org",
        subject="My new address", outcome="joined_case" if case else "automatic",
        case_id=case.id if case else None, received_at=at,
    )
    db.add(email)
    if case is not None:
        db.add(EmailThreadId(message_id=f"<m{n}@example.org>", case_id=case.id, created_at=at))
    db.commit()
    return email


def _conversation(db: Session, conversation_id: str, *, at: datetime) -> None:
    db.add(Conversation(conversation_id=conversation_id, channel="webchat", started_at=at,
                        last_turn_at=at, member_turns=3, fallback_turns=0))
    db.add(SatisfactionRating(conversation_id=conversation_id, channel="webchat", score=4,
                              comment="Quick and easy", created_at=at))
    db.commit()


def _sent(db: Session, *, sent_at: datetime | None, created_at: datetime) -> None:
    db.add(OutboundEmail(to_address="priya@example.org", subject="Your case",
                         body_text=CARD_FREE_WORDS, sent_at=sent_at, created_at=created_at))
    db.commit()


@pytest.fixture
def estate(db: Session, settings: Settings, teams: None) -> dict[str, Case]:
    """Cases, emails, conversations and sent email either side of the cut-off."""
    member = factories.member(db)
    found = {
        "old_resolved": _case(db, settings, status=CaseStatus.resolved, closed_at=OLD,
                              conversation_id="webchat:old", member_id=member.id),
        "old_handed_back": _case(db, settings, status=CaseStatus.handed_back, closed_at=OLD,
                                 conversation_id="telegram:old"),
        "recent_resolved": _case(db, settings, status=CaseStatus.resolved, closed_at=RECENT,
                                 conversation_id="webchat:recent"),
        # Opened long ago and still being worked: never purged, however old.
        "old_open": _case(db, settings, status=CaseStatus.waiting_on_member, closed_at=None,
                          conversation_id="email:open"),
    }
    _email(db, 1, at=OLD)  # automatic mail, no case
    _email(db, 2, at=OLD, case=found["old_resolved"])
    _email(db, 3, at=OLD, case=found["old_open"])  # kept: its case is open
    _email(db, 4, at=RECENT, case=found["recent_resolved"])
    _conversation(db, "webchat:old", at=OLD)
    _conversation(db, "email:open", at=OLD)  # kept: a case of its is open
    _conversation(db, "webchat:recent", at=RECENT)
    _sent(db, sent_at=OLD, created_at=OLD)
    _sent(db, sent_at=None, created_at=OLD)  # not yet sent: kept for the sender
    _sent(db, sent_at=RECENT, created_at=RECENT)
    return found


EXPECTED = {
    "case_conversations": 2, "case_messages": 4, "inbound_emails": 2, "email_thread_ids": 1,
    "conversations": 1, "satisfaction_ratings": 2, "sent_emails": 1, "tracker_events": None,
}


def test_closed_cases_lose_their_words_and_keep_everything_else(
    db: Session, settings: Settings, estate: dict[str, Case]
) -> None:
    def kept(c: Case) -> tuple[object, ...]:
        return (c.reference, c.team_id, c.status, c.outcome,
                c.resolved_at and aware_utc(c.resolved_at), aware_utc(c.created_at))

    before = {name: kept(c) for name, c in estate.items()}

    report = purge(db_session=db, settings=settings, now=NOW, batch_size=2)

    assert report.counts == EXPECTED
    db.expire_all()
    for name in ("old_resolved", "old_handed_back"):
        case = db.get(Case, estate[name].id)
        assert (case.transcript, case.collected_values, case.summary) == ([], {}, "")
        assert case.handback_note is None and case.conversation_purged_at is not None
        assert _messages(db, case) == 0
        assert kept(case) == before[name]
    for name in ("recent_resolved", "old_open"):
        case = db.get(Case, estate[name].id)
        assert case.transcript[0]["text"] == CARD_FREE_WORDS and case.collected_values
        assert case.conversation_purged_at is None and _messages(db, case) == 2
    assert sorted(db.scalars(select(InboundEmail.message_id))) == [
        "<m3@example.org>", "<m4@example.org>"]
    assert sorted(db.scalars(select(EmailThreadId.message_id))) == [
        "<m3@example.org>", "<m4@example.org>"]
    assert sorted(db.scalars(select(Conversation.conversation_id))) == [
        "email:open", "webchat:recent"]
    assert db.scalar(select(func.count(SatisfactionRating.id))) == 1
    left = db.execute(select(OutboundEmail.sent_at, OutboundEmail.created_at)
                      .where(OutboundEmail.subject == "Your case")).all()
    assert len(left) == 2 and all(sent is None or aware_utc(sent) > OLD for sent, _ in left)


def test_each_run_is_audited_a_second_finds_nothing_and_the_audit_log_is_kept(
    db: Session, settings: Settings, estate: dict[str, Case]
) -> None:
    audit_before = db.scalar(select(func.count(AuditEvent.id)))

    purge(db_session=db, settings=settings, now=NOW)
    again = purge(db_session=db, settings=settings, now=NOW)

    assert set(again.counts.values()) == {0, None}
    runs = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "retention.purged")
                           .order_by(AuditEvent.id)))
    assert db.scalar(select(func.count(AuditEvent.id))) == audit_before + 2
    assert [r.actor for r in runs] == ["system:retention"] * 2
    first = json.loads(runs[0].detail)
    assert first["counts"] == EXPECTED
    assert first["retention_days"] == 400 and first["dry_run"] is False
    assert datetime.fromisoformat(first["cutoff"]) == NOW - timedelta(days=400)


def test_a_dry_run_counts_the_same_and_changes_nothing(
    db: Session, settings: Settings, estate: dict[str, Case]
) -> None:
    report = purge(db_session=db, settings=settings, now=NOW, dry_run=True)

    assert report.counts == EXPECTED
    db.expire_all()
    assert db.get(Case, estate["old_resolved"].id).transcript != []
    assert db.scalar(select(func.count(InboundEmail.id))) == 4
    assert db.scalar(select(func.count(AuditEvent.id))
                     .where(AuditEvent.action == "retention.purged")) == 0


def test_a_shorter_retention_reaches_more(
    db: Session, settings: Settings, estate: dict[str, Case]
) -> None:
    shorter = settings.model_copy(update={"retention_days": 30})

    report = purge(db_session=db, settings=shorter, now=NOW, dry_run=True)

    assert report.counts["case_conversations"] == 3  # the recent one too; never the open one
    assert report.counts["inbound_emails"] == 3


def test_a_case_reopened_after_a_purge_is_purged_again_once_it_closes_again(
    db: Session, settings: Settings, estate: dict[str, Case]
) -> None:
    purge(db_session=db, settings=settings, now=NOW)
    case = db.get(Case, estate["old_resolved"].id)
    # The member wrote again; the case was worked and closed again.
    case.status, case.resolved_at = CaseStatus.resolved, NOW + timedelta(days=1)
    case.transcript = [{"sender": "member", "text": "Me again"}]
    db.add(CaseMessage(case_id=case.id, sender="member", text="Me again"))
    db.commit()

    purge(db_session=db, settings=settings, now=NOW + timedelta(days=2))
    db.expire_all()
    assert db.get(Case, case.id).transcript != [] and _messages(db, case) == 1
    purge(db_session=db, settings=settings, now=NOW + timedelta(days=402))

    db.expire_all()
    assert db.get(Case, case.id).transcript == [] and _messages(db, case) == 0


def test_two_runs_at_once_do_the_work_once_between_them(
    engine: Engine, db: Session, settings: Settings, estate: dict[str, Case]
) -> None:
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    reports = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with factory() as session:
                reports.append(purge(db_session=session, settings=settings, now=NOW,
                                     batch_size=1))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == [] and len(reports) == 2
    totals = {kind: sum(r.counts[kind] or 0 for r in reports) for kind in EXPECTED}
    assert totals == {kind: count or 0 for kind, count in EXPECTED.items()}
    assert db.scalar(select(func.count(InboundEmail.id))) == 2


# --- Rasa's tracker store --------------------------------------------------------------------

@pytest.fixture
def tracker_store(rasa_tracker_store: str) -> str:
    """A tracker store with two conversations, one old, one still going."""
    store = create_engine(rasa_tracker_store)
    with store.begin() as conn:
        for sender, moments in (("webchat:old", (OLD, OLD + timedelta(minutes=1))),
                                ("telegram:42", (OLD, RECENT, NOW))):
            for moment in moments:
                conn.execute(insert(RASA_EVENTS).values(
                    sender_id=sender, type_name="user", timestamp=moment.timestamp(),
                    intent_name="change_address", data=json.dumps({"text": CARD_FREE_WORDS}),
                ))
    store.dispose()
    return rasa_tracker_store


def _events(url: str) -> list[tuple[str, float]]:
    store = create_engine(url)
    try:
        with store.connect() as conn:
            return list(conn.execute(
                select(RASA_EVENTS.c.sender_id, RASA_EVENTS.c.timestamp)
                .order_by(RASA_EVENTS.c.id)).tuples())
    finally:
        store.dispose()


def test_tracker_events_older_than_the_cutoff_go_in_batches(
    db: Session, settings: Settings, tracker_store: str
) -> None:
    configured = settings.model_copy(update={"tracker_store_url": tracker_store})

    counted = purge(db_session=db, settings=configured, now=NOW, dry_run=True)
    assert counted.counts["tracker_events"] == 3 and len(_events(tracker_store)) == 5
    report = purge(db_session=db, settings=configured, now=NOW, batch_size=2)
    again = purge(db_session=db, settings=configured, now=NOW, batch_size=2)

    assert report.counts["tracker_events"] == 3 and again.counts["tracker_events"] == 0
    assert _events(tracker_store) == [("telegram:42", RECENT.timestamp()),
                                      ("telegram:42", NOW.timestamp())]
    # The first run's entry: without an order, PostgreSQL may hand back either.
    audited = json.loads(db.scalars(select(AuditEvent.detail)
                                    .where(AuditEvent.action == "retention.purged")
                                    .order_by(AuditEvent.id)).first())
    assert audited["counts"]["tracker_events"] == 3


def test_a_tracker_store_without_rasas_table_is_refused_clearly_and_the_rest_is_audited(
    db: Session, settings: Settings, estate: dict[str, Case], tmp_path: Path
) -> None:
    configured = settings.model_copy(
        update={"tracker_store_url": f"sqlite:///{tmp_path / 'not-rasa.db'}"})

    with pytest.raises(TrackerStoreUnusable, match="has no `events` table"):
        purge(db_session=db, settings=configured, now=NOW)

    (detail,) = db.scalars(select(AuditEvent.detail)
                           .where(AuditEvent.action == "retention.purged"))
    audited = json.loads(detail)
    assert audited["counts"]["inbound_emails"] == 2 and "tracker_error" in audited


# --- settings and the command line -----------------------------------------------------------


@pytest.mark.parametrize("days", ["29", "0", "-5", "thirty", "40.5", "", "36501"])
def test_a_retention_below_30_days_or_not_a_number_stops_the_service_starting(days: str) -> None:
    with pytest.raises(ValidationError, match="MEMBERDESK_RETENTION_DAYS must be a whole number"):
        Settings(retention_days=days)


def test_retention_settings_default_to_400_days_and_no_tracker_store() -> None:
    settings = Settings(_env_file=None)
    assert settings.retention_days == 400 and settings.tracker_store_url == ""
    assert Settings(retention_days=" 30 ").retention_days == 30


def test_a_tracker_store_url_that_is_not_one_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(tracker_store_url="tracker:hunter2@db:5432/rasa")
    assert "MEMBERDESK_TRACKER_STORE_URL" in str(refused.value)
    assert "hunter2" not in str(refused.value)


@pytest.fixture
def memberdesk(engine: Engine, db: Session) -> Iterator:
    url = engine.url.render_as_string(hide_password=False)

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        get_settings.cache_clear()
        result = CliRunner().invoke(cli, list(args), env={
            "MEMBERDESK_DATABASE_URL": url, "MEMBERDESK_ENV": "test", **(env or {})})
        db.rollback()
        return result

    yield run
    get_settings.cache_clear()


def test_the_command_prints_a_json_report_and_dry_run_deletes_nothing(
    memberdesk, db: Session, estate: dict[str, Case], tracker_store: str
) -> None:
    env = {"MEMBERDESK_TRACKER_STORE_URL": tracker_store}

    dry = memberdesk("retention", "purge", "--dry-run", env=env)
    assert dry.exit_code == 0, dry.output
    assert db.scalar(select(func.count(InboundEmail.id))) == 4
    real = memberdesk("retention", "purge", "--batch-size", "1", env=env)

    assert real.exit_code == 0, real.output
    assert json.loads(dry.output)["dry_run"] is True
    report = json.loads(real.output)
    assert report["counts"] == {**EXPECTED, "tracker_events": 3}
    assert json.loads(dry.output)["counts"] == report["counts"]
    assert db.scalar(select(func.count(InboundEmail.id))) == 2


def test_the_command_refuses_a_retention_too_short(memberdesk) -> None:
    result = memberdesk("retention", "purge", env={"MEMBERDESK_RETENTION_DAYS": "7"})

    assert result.exit_code == 1
    assert "MEMBERDESK_RETENTION_DAYS must be a whole number of days" in result.output
    assert "Traceback" not in result.output
