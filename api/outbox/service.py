"""Putting emails in the outbox. Sending them is a separate worker's job."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.outbox.models import OutboundEmail


def queue_email(
    *,
    db_session: Session,
    to_address: str,
    subject: str,
    body_text: str,
    body_html: str | None = None,
    headers: dict[str, str] | None = None,
) -> OutboundEmail:
    """Add an email to the outbox (flushed with the caller's transaction, not committed)."""
    email = OutboundEmail(
        to_address=to_address,
        subject=subject[:200],
        body_text=body_text,
        body_html=body_html,
        headers=headers,
    )
    db_session.add(email)
    db_session.flush()
    return email
