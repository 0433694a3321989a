"""Recognising automatic mail, which is never answered: no mail loops.

Checked in order: the RFC 3834 `Auto-Submitted` header; delivery reports (bounces); the null
or daemon senders bounces come from; mailing-list and bulk mail; the vendor headers
out-of-office replies carry; our own acknowledgements coming back; and, last, the subject
lines autoresponders use when they set no header at all.
"""

from __future__ import annotations

import re
from email.message import Message
from email.utils import parseaddr

_DAEMON_SENDERS = re.compile(
    r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon|no-?reply|do-?not-?reply"
    r"|bounces?|autoreply|auto-reply)([+.\-].*)?@",
    re.IGNORECASE,
)
_AUTOMATIC_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response)|out of (the )?office|ooo\b|away from the office"
    r"|undeliverable|undelivered mail|delivery status notification|delivery failure"
    r"|mail delivery (failed|failure|system)|returned mail|failure notice"
    r"|(i am|i'm) (currently )?(out of the office|on (annual )?leave|away))",
    re.IGNORECASE,
)


def _get(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, AttributeError, LookupError):
        return ""
    return str(value).strip() if value is not None else ""


def automatic_reason(message: Message, *, from_address: str | None) -> str | None:
    """Why `message` is automatic mail, or None when a person wrote it."""
    auto_submitted = _get(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted[:40]}"
    content_type = message.get_content_type()
    if content_type == "multipart/report" or any(
        part.get_content_type() in ("message/delivery-status", "message/disposition-notification")
        for part in message.walk()
    ):
        return "delivery or read report (bounce)"
    return_path = _get(message, "Return-Path")
    if return_path.replace(" ", "") == "<>":
        return "null return path (bounce)"
    for sender in (from_address or "", parseaddr(_get(message, "Sender"))[1]):
        if sender and _DAEMON_SENDERS.match(sender):
            return f"sent by {sender.split('@')[0].lower()}"
    precedence = _get(message, "Precedence").lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return f"Precedence: {precedence}"
    if _get(message, "List-Id") or _get(message, "List-Unsubscribe") or _get(message, "List-Post"):
        return "mailing-list mail"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if _get(message, name):
            return f"{name} header"
    if _get(message, "X-Auto-Response-Suppress").lower() in ("all", "oof", "autoreply"):
        # Exchange marks its own out-of-office replies this way.
        return "X-Auto-Response-Suppress (Exchange automatic reply)"
    if _get(message, "X-Memberdesk-Case"):
        return "one of our own replies came back"
    if _AUTOMATIC_SUBJECT.match(_get(message, "Subject")):
        return "automatic-reply subject line"
    return None
