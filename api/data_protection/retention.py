"""The retention purge: conversation data older than MEMBERDESK_RETENTION_DAYS is removed.

What goes (each a kind in the report):

- case_conversations: the transcript, collected values, summary and hand-back note of a case
  closed (resolved, or handed back to the assistant) before the cut-off, and its messages
  (`case_messages`). The case row stays, with its reference, team, intent, status, outcome and
  dates, and `conversation_purged_at` says when its words went. A case that is still open is
  never touched, however old; one reopened and closed again is purged again once that close
  is older than the cut-off.
- inbound_emails and email_thread_ids received before the cut-off, unless their case is open.
- conversations (the per-conversation counts) whose last turn was before the cut-off, unless
  a case of theirs is open; satisfaction_ratings given before it.
- sent_emails: outgoing email sent before the cut-off (unsent email waits for its sender).
- tracker_events: Rasa's tracker events older than the cut-off, when
  MEMBERDESK_TRACKER_STORE_URL names the tracker store (api.data_protection.trackers).

The audit log and the member's record are never touched. Every kind goes in batches, each its
own transaction, and every change re-checks its condition, so a run can be stopped and run
again, and two runs at once do the work once between them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from api.audit.service import record
from api.cases.handoff import LIVE_STATUSES
from api.cases.models import Case, CaseMessage, CaseStatus, SatisfactionRating
from api.config import Settings
from api.conversations.models import Conversation
from api.data_protection import trackers
from api.mail.models import EmailThreadId, InboundEmail
from api.outbox.models import OutboundEmail
from api.timekeeping import utcnow

ACTOR = "system:retention"
DEFAULT_BATCH_SIZE = 500
KINDS = (
    "case_conversations", "case_messages", "inbound_emails", "email_thread_ids",
    "conversations", "satisfaction_ratings", "sent_emails", "tracker_events",
)


@dataclass
class PurgeReport:
    """What one run removed (or, in a dry run, would remove), kind by kind."""

    cutoff: datetime
    retention_days: int
    dry_run: bool
    # None for the tracker events when no tracker store is configured (or it failed).
    counts: dict[str, int | None] = field(default_factory=dict)
    # Why the tracker store was not purged, when it was configured and could not be.
    tracker_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The report as printed and audited."""
        return {
            "cutoff": self.cutoff.isoformat(),
            "retention_days": self.retention_days,
            "dry_run": self.dry_run,
            "counts": dict(self.counts),
            **({"tracker_error": self.tracker_error} if self.tracker_error else {}),
        }


def cutoff_for(*, settings: Settings, now: datetime) -> datetime:
    """Anything closed or received before this moment is past its retention."""
    return now - timedelta(days=settings.retention_days)


def _live_case_ids() -> Any:
    return select(Case.id).where(Case.status.in_(LIVE_STATUSES))


def _closed_before(cutoff: datetime) -> ColumnElement[bool]:
    """Cases closed before the cut-off whose conversation is still there (or came back)."""

    def closed(status: CaseStatus, at: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
        return and_(
            Case.status == status,
            at < cutoff,
            # Purged once already, then reopened by the member and closed again: purge again.
            or_(Case.conversation_purged_at.is_(None), Case.conversation_purged_at < at),
        )

    return or_(
        closed(CaseStatus.resolved, Case.resolved_at),
        closed(CaseStatus.handed_back, Case.handed_back_at),
    )


def _conditions(cutoff: datetime) -> dict[str, tuple[Any, ColumnElement[bool]]]:
    """Each kind deleted row by row: its table's id column and what makes a row past it."""
    live = _live_case_ids()
    live_conversations = select(Case.conversation_id).where(
        Case.status.in_(LIVE_STATUSES), Case.conversation_id.is_not(None)
    )
    return {
        "inbound_emails": (InboundEmail.id, and_(
            InboundEmail.received_at < cutoff,
            or_(InboundEmail.case_id.is_(None), InboundEmail.case_id.not_in(live)),
        )),
        "email_thread_ids": (EmailThreadId.id, and_(
            EmailThreadId.created_at < cutoff, EmailThreadId.case_id.not_in(live)
        )),
        "conversations": (Conversation.id, and_(
            Conversation.last_turn_at < cutoff,
            Conversation.conversation_id.not_in(live_conversations),
        )),
        "satisfaction_ratings": (SatisfactionRating.id, SatisfactionRating.created_at < cutoff),
        "sent_emails": (OutboundEmail.id, OutboundEmail.sent_at < cutoff),
    }


def _count(db_session: Session, id_column: Any, condition: ColumnElement[bool]) -> int:
    return int(db_session.scalar(select(func.count(id_column)).where(condition)) or 0)


def _delete_in_batches(
    db_session: Session, id_column: Any, condition: ColumnElement[bool], batch_size: int
) -> int:
    deleted = 0
    while True:
        ids = list(db_session.scalars(
            select(id_column).where(condition).order_by(id_column).limit(batch_size)
        ))
        if not ids:
            return deleted
        # The condition is checked again: a row may have changed since it was picked.
        done = db_session.execute(
            delete(id_column.class_).where(id_column.in_(ids), condition)
            .execution_options(synchronize_session=False)
        )
        db_session.commit()
        deleted += done.rowcount or 0


def _purge_case_conversations(
    db_session: Session, cutoff: datetime, now: datetime, batch_size: int
) -> tuple[int, int]:
    cases = messages = 0
    condition = _closed_before(cutoff)
    while True:
        ids = list(db_session.scalars(
            select(Case.id).where(condition).order_by(Case.id).limit(batch_size)
        ))
        if not ids:
            return cases, messages
        blanked = list(db_session.scalars(
            update(Case).where(Case.id.in_(ids), condition)
            .values(transcript=[], collected_values={}, summary="", handback_note=None,
                    # The run's own time, after the cut-off and so after every close it
                    # purged: the case no longer matches, and the loop moves on.
                    conversation_purged_at=now)
            .returning(Case.id)
            .execution_options(synchronize_session=False)
        ))
        # Only the cases this run blanked, in the same transaction: a case reopened since it
        # was picked keeps its messages.
        removed = db_session.execute(
            delete(CaseMessage).where(CaseMessage.case_id.in_(blanked))
            .execution_options(synchronize_session=False)
        ) if blanked else None
        db_session.commit()
        cases += len(blanked)
        messages += removed.rowcount if removed is not None else 0


def purge(
    *,
    db_session: Session,
    settings: Settings,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: datetime | None = None,
) -> PurgeReport:
    """Remove conversation data past its retention (or count it, dry_run); audited if real."""
    now = now or utcnow()
    cutoff = cutoff_for(settings=settings, now=now)
    report = PurgeReport(cutoff=cutoff, retention_days=settings.retention_days, dry_run=dry_run)
    counts = report.counts
    conditions = _conditions(cutoff)
    if dry_run:
        counts["case_conversations"] = _count(db_session, Case.id, _closed_before(cutoff))
        counts["case_messages"] = int(db_session.scalar(
            select(func.count(CaseMessage.id)).join(Case, Case.id == CaseMessage.case_id)
            .where(_closed_before(cutoff))
        ) or 0)
        for kind, (id_column, condition) in conditions.items():
            counts[kind] = _count(db_session, id_column, condition)
        counts["tracker_events"] = (
            trackers.count_old_events(url=settings.tracker_store_url, before=cutoff)
            if settings.tracker_store_url else None
        )
        db_session.rollback()
        return report
    counts["case_conversations"], counts["case_messages"] = _purge_case_conversations(
        db_session, cutoff, now, batch_size
    )
    for kind, (id_column, condition) in conditions.items():
        counts[kind] = _delete_in_batches(db_session, id_column, condition, batch_size)
    counts["tracker_events"] = None
    try:
        if settings.tracker_store_url:
            counts["tracker_events"] = trackers.purge_old_events(
                url=settings.tracker_store_url, before=cutoff, batch_size=batch_size
            )
    except trackers.TrackerStoreUnusable as exc:
        report.tracker_error = exc.message
        raise
    finally:
        # What was removed is audited even when the tracker store could not be reached.
        record(db_session=db_session, actor=ACTOR, action="retention.purged",
               detail=json.dumps(report.as_dict(), separators=(",", ":")))
        db_session.commit()
    return report
