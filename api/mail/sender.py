"""The SMTP sender: drains the outbox, so an SMTP outage delays mail and loses none.

Each row is claimed before it is sent (its next_attempt_at moved a lease ahead in its own
commit), so two senders never send the same row at once. A row is marked sent only after the
mail server accepted it; a crash between the two means the row goes again when its lease ends,
with the same Message-ID, so delivery is at least once and receivers can tell a repeat. A failed
attempt is counted, its error kept (without the server's text beyond 500 characters) and the
row backs off exponentially, up to an hour, until MEMBERDESK_SMTP_MAX_ATTEMPTS.

A row that names its case (`X-Memberdesk-Case`) but has no Message-ID yet, as staff messages
on email cases are queued, is threaded here before its first attempt: it answers the newest
Message-ID of the case's thread, and its own Message-ID joins the thread, so the member's
reply finds the case. Both are kept on the row, so a retry sends the same message.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from api.cases.models import Case
from api.mail.models import EmailThreadId
from api.mail.settings import EmailSettings
from api.outbox.models import OutboundEmail
from api.timekeeping import utcnow

CLAIM_LEASE = timedelta(minutes=5)
_MAX_BACKOFF = timedelta(hours=1)
# Headers the outbox may set; anything else in a row is ignored rather than trusted.
_ALLOWED_HEADERS = frozenset(
    {"Message-ID", "In-Reply-To", "References", "Auto-Submitted", "X-Auto-Response-Suppress",
     "X-Memberdesk-Case"}
)


class MailServerUnavailable(Exception):
    """The SMTP server could not be reached or refused the session (not one message)."""


@dataclass(frozen=True)
class SendReport:
    sent: int
    failed: int
    waiting: int


def backoff(attempts: int) -> timedelta:
    """How long a row waits after its `attempts`-th failure: 30 s, 1 min, 2 min... up to 1 h."""
    return min(timedelta(seconds=30 * 2 ** max(0, attempts - 1)), _MAX_BACKOFF)


def build_message(row: OutboundEmail, *, email_settings: EmailSettings) -> EmailMessage:
    """The outbox row as a MIME message: plain text, with the HTML as an alternative."""
    message = EmailMessage()
    message["From"] = email_settings.email_from
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at or utcnow())
    for name, value in (row.headers or {}).items():
        if name in _ALLOWED_HEADERS and value:
            message[name] = value
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    return message


def thread_into_case(*, db_session: Session, row: OutboundEmail,
                     email_settings: EmailSettings) -> None:
    """Give a case's email with no Message-ID one, threaded under the case's thread (committed
    with the row, so every attempt sends the same message)."""
    headers = dict(row.headers or {})
    reference = headers.get("X-Memberdesk-Case")
    if not reference or headers.get("Message-ID"):
        return
    case_id = db_session.scalar(select(Case.id).where(Case.reference == reference))
    message_id = f"<{uuid.uuid4().hex}@{email_settings.message_id_domain}>"
    if case_id is not None:
        thread = list(db_session.scalars(
            select(EmailThreadId.message_id).where(EmailThreadId.case_id == case_id)
            .order_by(EmailThreadId.id.desc()).limit(20)
        ))[::-1]
        if thread:
            headers["In-Reply-To"] = thread[-1]
            headers["References"] = " ".join(thread)
        db_session.add(EmailThreadId(message_id=message_id, case_id=case_id))
    headers["Message-ID"] = message_id
    row.headers = headers
    db_session.commit()


def _due(*, db_session: Session, now: datetime, email_settings: EmailSettings, limit: int
         ) -> list[int]:
    return list(
        db_session.scalars(
            select(OutboundEmail.id)
            .where(
                OutboundEmail.sent_at.is_(None),
                OutboundEmail.attempts < email_settings.smtp_max_attempts,
                or_(OutboundEmail.next_attempt_at.is_(None), OutboundEmail.next_attempt_at <= now),
            )
            .order_by(OutboundEmail.id)
            .limit(limit)
        )
    )


def _claim(*, db_session: Session, row_id: int, now: datetime) -> bool:
    claimed = db_session.execute(
        update(OutboundEmail)
        .where(
            OutboundEmail.id == row_id,
            OutboundEmail.sent_at.is_(None),
            or_(OutboundEmail.next_attempt_at.is_(None), OutboundEmail.next_attempt_at <= now),
        )
        .values(next_attempt_at=now + CLAIM_LEASE)
        .execution_options(synchronize_session=False)
    )
    db_session.commit()
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def _connect(email_settings: EmailSettings) -> smtplib.SMTP:
    host = email_settings.smtp_host
    if not host:
        raise MailServerUnavailable("MEMBERDESK_SMTP_HOST is not set")
    context = ssl.create_default_context(cafile=email_settings.smtp_ca_file)
    try:
        server: smtplib.SMTP
        if email_settings.smtp_security == "tls":
            server = smtplib.SMTP_SSL(host, email_settings.smtp_port, context=context,
                                      timeout=email_settings.smtp_timeout)
        else:
            server = smtplib.SMTP(host, email_settings.smtp_port,
                                  timeout=email_settings.smtp_timeout)
            if email_settings.smtp_security == "starttls":
                server.starttls(context=context)
        if email_settings.smtp_user:
            server.login(email_settings.smtp_user, email_settings.smtp_password or "")
    except (OSError, smtplib.SMTPException) as exc:
        raise MailServerUnavailable(f"{exc.__class__.__name__}: {exc}"[:500]) from exc
    return server


def _failed(*, db_session: Session, row: OutboundEmail, error: str, now: datetime) -> None:
    row.attempts += 1
    row.last_error = error[:500]
    row.next_attempt_at = now + backoff(row.attempts)
    db_session.commit()


def send_due(
    *,
    db_session: Session,
    email_settings: EmailSettings,
    batch: int = 100,
    now: datetime | None = None,
) -> SendReport:
    """Send up to `batch` due outbox rows over one SMTP session."""
    started = now or utcnow()
    due = _due(db_session=db_session, now=started, email_settings=email_settings, limit=batch)
    sent = failed = 0
    server: smtplib.SMTP | None = None
    try:
        for row_id in due:
            if not _claim(db_session=db_session, row_id=row_id, now=started):
                continue
            row = db_session.get(OutboundEmail, row_id)
            assert row is not None  # just claimed
            try:
                thread_into_case(db_session=db_session, row=row, email_settings=email_settings)
                message = build_message(row, email_settings=email_settings)
            except ValueError as exc:
                # A row no mail library can turn into a message (a header with a line break,
                # written before inbound headers were cleaned) fails alone; the rest go out.
                _failed(db_session=db_session, row=row, error=f"not sendable: {exc}", now=started)
                failed += 1
                continue
            try:
                if server is None:
                    server = _connect(email_settings)
                server.send_message(message)
            except MailServerUnavailable as exc:
                _failed(db_session=db_session, row=row, error=str(exc), now=started)
                failed += 1
                break  # the server is down: the rest wait for the next round
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError,
                    smtplib.SMTPSenderRefused) as exc:
                _failed(db_session=db_session, row=row, error=f"{exc.__class__.__name__}: {exc}",
                        now=started)
                failed += 1
                continue
            except (OSError, smtplib.SMTPException) as exc:
                _failed(db_session=db_session, row=row, error=f"{exc.__class__.__name__}: {exc}",
                        now=started)
                failed += 1
                server = None
                break
            row.sent_at = utcnow()
            row.attempts += 1
            row.last_error = None
            db_session.commit()
            sent += 1
    finally:
        if server is not None:
            try:
                server.quit()
            except (OSError, smtplib.SMTPException):
                server.close()
    waiting = len(_due(db_session=db_session, now=utcnow() + _MAX_BACKOFF,
                       email_settings=email_settings, limit=100_000))
    return SendReport(sent=sent, failed=failed, waiting=waiting)
