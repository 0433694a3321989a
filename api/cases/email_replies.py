"""Staff messages on an email case: emailed to whoever wrote, or refused, never shown as sent.

A chat case's staff messages wait for the member's channel to fetch them; an email case has no
channel to fetch them, so they go straight into the outbox, whichever route wrote them (the
console or the JSON API). The email carries the case reference in `X-Memberdesk-Case` and no
Message-ID: the sender (api.mail.sender) threads it into the case's email thread when it sends
it, because the thread's Message-IDs belong to the mail domain, above this one.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.cases.models import Case
from api.errors import Conflict
from api.members.models import Member
from api.outbox.models import OutboundEmail
from api.outbox.rendering import queue_rendered
from api.staff.models import Team
from api.validation import usable_email

# The outbox header that names the case an email belongs to (and asks the sender to thread it).
CASE_HEADER = "X-Memberdesk-Case"
NO_ADDRESS = (
    "This email case has no address to reply to: nobody would receive the reply, so it was "
    "not sent. Add a note, and contact the member another way."
)


def reply_address(*, db_session: Session, case: Case) -> str | None:
    """Where a staff reply on an email case goes: the address its emails came from (even when
    it matched no member), else the member's email on record; None when neither is usable."""
    collected = case.collected_values or {}
    member = db_session.get(Member, case.member_id) if case.member_id else None
    for candidate in (
        collected.get("email_from"), member.email if member else None, collected.get("email"),
    ):
        address = str(candidate or "").strip()
        if address and usable_email(address):
            return address
    return None


def check_reachable(*, db_session: Session, case: Case) -> str:
    """The address a reply on this email case goes to; Conflict when there is none."""
    address = reply_address(db_session=db_session, case=case)
    if address is None:
        raise Conflict(NO_ADDRESS)
    return address


def email_staff_message(
    *, db_session: Session, case: Case, address: str, staff_name: str, text: str
) -> OutboundEmail:
    """Queue a staff message on an email case to `address`, in the caller's transaction."""
    team = db_session.get(Team, case.team_id)
    return queue_rendered(
        db_session=db_session, to_address=address, name="staff_message",
        headers={CASE_HEADER: case.reference}, reference=case.reference,
        staff_name=staff_name, team_name=team.name if team else "membership", text=text,
    )
