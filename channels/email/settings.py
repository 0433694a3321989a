"""The support mailbox's IMAP settings, read from MEMBERDESK_IMAP_* when the poller starts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Where the poller marks a message it has recorded; staff reading the mailbox are not affected.
PROCESSED_KEYWORD = "$MemberdeskTriaged"
# A message that failed `max_failures` passes is given this keyword and not tried again (the
# poll report counts it, the log says why); removing the keyword puts it back in the queue.
QUARANTINED_KEYWORD = "$MemberdeskQuarantined"
# How many passes a message has failed, kept on the message so a restart does not forget it:
# $MemberdeskFailed1, $MemberdeskFailed2, ... (one keyword each, hence the small limit: a
# Maildir folder holds at most 26 keywords).
FAILED_KEYWORD_PREFIX = "$MemberdeskFailed"
MAX_FAILURES_LIMIT = 10


class MailboxNotConfigured(RuntimeError):
    """A setting the poller needs is missing or malformed."""


@dataclass(frozen=True)
class MailboxSettings:
    host: str
    port: int
    user: str
    password: str
    folder: str
    # A CA bundle for a server with a private certificate authority (the system's otherwise).
    ca_file: str | None
    poll_seconds: float
    batch: int
    timeout: float
    # Failed passes (the API refused it or failed on it, or it could not be parsed) before a
    # message is quarantined. The API being unreachable or away never counts.
    max_failures: int = 3


def mailbox_settings() -> MailboxSettings:
    """The IMAP settings; TLS is always on (IMAPS), there is no plain-text option."""
    env = os.environ.get
    host, user, password = env("MEMBERDESK_IMAP_HOST"), env("MEMBERDESK_IMAP_USER"), env(
        "MEMBERDESK_IMAP_PASSWORD"
    )
    missing = [name for name, value in (("MEMBERDESK_IMAP_HOST", host),
                                        ("MEMBERDESK_IMAP_USER", user),
                                        ("MEMBERDESK_IMAP_PASSWORD", password)) if not value]
    if missing:
        raise MailboxNotConfigured(f"set {', '.join(missing)} to poll a mailbox")
    ca_file = env("MEMBERDESK_IMAP_CA_FILE") or None
    if ca_file and not Path(ca_file).is_file():
        raise MailboxNotConfigured(f"MEMBERDESK_IMAP_CA_FILE {ca_file} is not a file")
    try:
        return MailboxSettings(
            host=host or "",
            port=int(env("MEMBERDESK_IMAP_PORT", "993")),
            user=user or "",
            password=password or "",
            folder=env("MEMBERDESK_IMAP_FOLDER", "INBOX"),
            ca_file=ca_file,
            poll_seconds=float(env("MEMBERDESK_IMAP_POLL_SECONDS", "60")),
            batch=int(env("MEMBERDESK_IMAP_BATCH", "50")),
            timeout=float(env("MEMBERDESK_IMAP_TIMEOUT", "30")),
            max_failures=_max_failures(env("MEMBERDESK_IMAP_MAX_FAILURES", "3")),
        )
    except ValueError as exc:
        raise MailboxNotConfigured(f"an IMAP setting is not a number: {exc}") from None


def _max_failures(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= MAX_FAILURES_LIMIT:
        raise MailboxNotConfigured(
            f"MEMBERDESK_IMAP_MAX_FAILURES must be from 1 to {MAX_FAILURES_LIMIT}"
        )
    return value
