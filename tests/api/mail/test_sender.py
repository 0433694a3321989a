"""The SMTP sender against a real SMTP server (aiosmtpd): sent once, an outage loses nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.mail.sender import backoff, send_due
from api.mail.settings import EmailSettings
from api.outbox.models import OutboundEmail
from api.outbox.service import queue_email
from api.timekeeping import utcnow
from harness.processes import free_port


class Inbox:
    """What an SMTP server received: (envelope recipients, parsed message)."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def smtp_server(smtp_port: int) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def settings_for(port: int) -> EmailSettings:
    return EmailSettings(env="test", email_from="Membership team <members@union.example>",
                         smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                         smtp_timeout=5)


def queue(db: Session, n: int = 1) -> list[OutboundEmail]:
    rows = [
        queue_email(
            db_session=db, to_address=f"member{i}@example.org", subject=f"Re: help [CASE-{i}]",
            body_text=f"Your reference is CASE-{i}.",
            body_html=f"<p>Your reference is CASE-{i}.</p>",
            headers={"Message-ID": f"<ack{i}@union.example>", "In-Reply-To": f"<in{i}@x.example>",
                     "References": f"<in{i}@x.example>", "Auto-Submitted": "auto-replied",
                     "X-Memberdesk-Case": f"CASE-{i}", "Bcc": "someone@else.example"},
        )
        for i in range(n)
    ]
    db.commit()
    return rows


def test_queued_mail_is_sent_once_with_its_threading_headers(
    db: Session, smtp_server: Inbox, smtp_port: int
) -> None:
    queue(db, 3)

    report = send_due(db_session=db, email_settings=settings_for(smtp_port))
    again = send_due(db_session=db, email_settings=settings_for(smtp_port))

    assert (report.sent, report.failed, report.waiting) == (3, 0, 0)
    assert again.sent == 0
    assert len(smtp_server.received) == 3
    recipients, message = smtp_server.received[0]
    assert recipients == ["member0@example.org"]
    assert message["From"] == "Membership team <members@union.example>"
    assert message["Message-ID"] == "<ack0@union.example>"
    assert message["In-Reply-To"] == "<in0@x.example>"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["Bcc"] is None  # only the headers the outbox is allowed to set
    assert message.get_body(("plain",)).get_content().strip() == "Your reference is CASE-0."
    assert "<p>" in message.get_body(("html",)).get_content()
    db.rollback()
    assert all(row.sent_at is not None for row in db.scalars(select(OutboundEmail)))


def test_a_row_that_cannot_be_made_into_a_message_fails_alone(
    db: Session, smtp_server: Inbox, smtp_port: int
) -> None:
    [broken, fine] = queue(db, 2)
    broken.headers = {**(broken.headers or {}), "In-Reply-To": "<in0@x.example>\nBcc: x@y.example"}
    db.commit()

    report = send_due(db_session=db, email_settings=settings_for(smtp_port))

    assert (report.sent, report.failed) == (1, 1)
    assert [recipients for recipients, _ in smtp_server.received] == [["member1@example.org"]]
    db.rollback()
    db.refresh(broken)
    assert broken.sent_at is None and broken.attempts == 1
    assert (broken.last_error or "").startswith("not sendable")


def test_an_smtp_outage_delays_mail_and_loses_none(db: Session, smtp_port: int) -> None:
    queue(db, 4)
    down = send_due(db_session=db, email_settings=settings_for(smtp_port))

    assert (down.sent, down.failed, down.waiting) == (0, 1, 4)
    db.rollback()
    rows = list(db.scalars(select(OutboundEmail).order_by(OutboundEmail.id)))
    assert all(row.sent_at is None for row in rows)
    assert rows[0].attempts == 1 and rows[0].last_error
    assert "Connection refused" in rows[0].last_error or "Errno" in rows[0].last_error
    # The failed row backs off; the rest were never tried and stay due.
    assert send_due(db_session=db, email_settings=settings_for(smtp_port)).failed == 1

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        later = utcnow() + timedelta(hours=2)
        back = send_due(db_session=db, email_settings=settings_for(smtp_port), now=later)
    finally:
        controller.stop()

    assert (back.sent, back.waiting) == (4, 0)
    assert sorted(r[0][0] for r in inbox.received) == [f"member{i}@example.org" for i in range(4)]


def test_failed_attempts_back_off_up_to_an_hour() -> None:
    assert backoff(1) == timedelta(seconds=30)
    assert backoff(2) == timedelta(minutes=1)
    assert backoff(3) == timedelta(minutes=2)
    assert backoff(30) == timedelta(hours=1)


def test_plain_text_smtp_is_refused_across_a_network_outside_development() -> None:
    with pytest.raises(ValueError, match="plain text"):
        EmailSettings(env="production", smtp_host="smtp.example.org", smtp_security="none")
    assert EmailSettings(env="production", smtp_host="localhost", smtp_security="none")
    assert EmailSettings(env="development", smtp_host="mail.test", smtp_security="none")
