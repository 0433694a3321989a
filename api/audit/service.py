"""Writing to the append-only audit log."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from api.audit.models import AuditEvent

# Values of these fields never go into the audit log, only their names.
SENSITIVE_FIELDS = frozenset(
    {"date_of_birth", "email", "phone", "address", "address_line1", "address_line2", "town",
     "postcode", "password", "account_last_two"}
)


def record(
    *,
    db_session: Session,
    actor: str,
    action: str,
    member_id: int | None = None,
    fields: Iterable[str] = (),
    channel: str | None = None,
    detail: str | None = None,
) -> AuditEvent:
    """Append one audit event (flushed with the caller's transaction)."""
    event = AuditEvent(
        actor=actor[:100],
        action=action,
        member_id=member_id,
        fields=",".join(sorted(set(fields))) or None,
        channel=channel,
        detail=(detail or None) and detail[:1000],
    )
    db_session.add(event)
    return event
