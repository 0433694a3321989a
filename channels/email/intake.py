"""From a raw email to a recorded one: triage it, then hand it to the records API.

Shared by `ingest`, the mailbox poller and the email benchmark; the records API opens or joins
the case and queues the reply (bot.email_records).
"""

from __future__ import annotations

import os
from typing import Any

from bot.email_records import EmailRecords
from channels.email.imap import MailboxPoller
from channels.email.settings import MailboxSettings
from channels.email.triage import Classifier, Triage, triage, triage_many


def ingest_raw(raw: bytes, *, classifier: Classifier, records: EmailRecords) -> dict[str, Any]:
    """Triage one email and record it; the API's outcome, with what the poller needs."""
    return record_triaged(triage(raw, classifier=classifier), records=records)


def record_triaged(triaged: Triage, *, records: EmailRecords) -> dict[str, Any]:
    """Record a triaged email: the API's outcome, with what the poller needs."""
    outcome = records.record(triaged.api_payload())
    return {
        "message_id": triaged.parsed.message_id,
        "intent": triaged.classification.intent if triaged.classification else None,
        "confidence": triaged.classification.confidence if triaged.classification else None,
        **outcome,
        "card_number_removed": triaged.card_number_removed,
    }


def mailbox_poller(
    settings: MailboxSettings, *, classifier: Classifier, records: EmailRecords
) -> MailboxPoller:
    """A poller that triages the mailbox's new mail in chunks and records each email."""
    delete = os.environ.get("MEMBERDESK_IMAP_DELETE_CARD_NUMBERS", "1") != "0"
    return MailboxPoller(
        settings,
        triage_chunk=lambda raws: triage_many(raws, classifier=classifier),
        record=lambda triaged: record_triaged(triaged, records=records),
        delete_card_numbers=delete,
    )
