"""The append-only audit log. Rows are only ever inserted (see audit.service)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, event
from sqlalchemy.orm import Mapped, mapped_column

from api.database import Base
from api.timekeeping import utcnow


class AuditEvent(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    # "member:1234567", "service:assistant", "staff:jo.bloggs", "system:import" ...
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    # Names of the fields touched; never their values when they are sensitive.
    fields: Mapped[str | None] = mapped_column(String(500))
    channel: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(1000))


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_rewriting_history(_mapper, _connection, _target) -> None:  # type: ignore[no-untyped-def]
    raise PermissionError("The audit log is append-only.")
