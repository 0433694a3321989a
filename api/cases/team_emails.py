"""Emails to a team about its cases: a new case has arrived.

Opening a case sends it in the same transaction, so this module sits below both the case
service and the hand-off, and imports neither.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.cases import sla
from api.cases.models import Case
from api.config import Settings
from api.members.models import Member
from api.outbox.models import OutboundEmail
from api.outbox.rendering import queue_rendered
from api.staff.models import Team
from api.timekeeping import aware_utc


def console_url(settings: Settings, path: str) -> str:
    """An absolute link to a console page."""
    # Team emails are read outside the console, so their links must be absolute.
    return f"{settings.public_url.rstrip('/')}/console/{path}"


def queue_new_case_email(
    *, db_session: Session, case: Case, team: Team, settings: Settings
) -> OutboundEmail | None:
    """Tell the team a case has arrived, with its transcript (not committed)."""
    if not team.email:
        return None
    member = db_session.get(Member, case.member_id) if case.member_id else None
    return queue_rendered(
        db_session=db_session,
        to_address=team.email,
        name="new_case",
        case=case,
        team=team,
        member=member,
        sla_due=sla.spoken_opening(aware_utc(case.sla_due_at), settings=settings),
        console_url=console_url(settings, f"cases/{case.reference}"),
    )
