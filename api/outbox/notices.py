"""Emails that tell a member what a reviewer decided, for every kind of held request.

Change requests and refund requests are decided in different domains; both tell the member the
same way, so the telling lives here, below both of them.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.audit.service import record
from api.members.models import Member
from api.outbox.rendering import queue_rendered


def tell_member_of_decision(
    *,
    db_session: Session,
    member: Member,
    reference: str,
    what: str,
    approved: bool,
    reason: str | None,
) -> None:
    """Email the member a reviewer's decision (in the decision's own transaction)."""
    if not member.email:
        return
    queue_rendered(
        db_session=db_session, to_address=member.email, name="change_decided",
        first_name=member.first_name, reference=reference, what=what, approved=approved,
        reason=reason or "",
    )
    record(
        db_session=db_session, actor="system:notifications", action="member_told_of_decision",
        member_id=member.id, channel="email", detail=reference,
    )
