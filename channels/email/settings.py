"""The support mailbox's IMAP settings, read from MEMBERDESK_IMAP_* when the poller starts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Where the poller marks a message it has recorded; staff reading the mailbox are not affected.
PROCESSED_KEYWORD = "$MemberdeskTriaged"
# A message that failed on its own account (refused by the records API, unreadable, or a
# server error while others went through) carries one of these per failure, so the count
# survives a restart; after `quarantine_after` failures it is quarantined and never retried:
# one bad message must not hold the mailbox up. Staff find it by the keyword.
FAILED_KEYWORD = "$MemberdeskFailed"
QUARANTINED_KEYWORD = "$MemberdeskQuarantined"


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
    quarantine_after: int = 3


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
            quarantine_after=max(1, int(env("MEMBERDESK_IMAP_QUARANTINE_AFTER", "3"))),
        )
    except ValueError as exc:
        raise MailboxNotConfigured(f"an IMAP setting is not a number: {exc}") from None
