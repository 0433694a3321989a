"""From raw email bytes to a triage decision: parse, make safe, classify.

Nothing here talks to the network: the records API decides the route and acts on it
(bot/email_records.py), so `classify` and `ingest` share exactly this step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from bot.safety import check_message, clean_text, mask_card_numbers
from channels.email.classifier import Classification
from channels.email.mime import ParsedEmail, parse_email

MAX_BODY_CHARACTERS = 5000


class Classifier(Protocol):
    def classify_many(self, emails: list[tuple[str, str]]) -> list[Classification]: ...


@dataclass(frozen=True)
class Triage:
    """An inbound email made safe and classified."""

    parsed: ParsedEmail
    subject: str
    body_text: str
    card_number_removed: bool
    truncated: bool
    classification: Classification | None

    @property
    def automatic_reason(self) -> str | None:
        if self.parsed.automatic_reason:
            return self.parsed.automatic_reason
        if self.parsed.from_address is None:
            # Nobody to acknowledge: recorded for staff, never answered.
            return "no valid sender address"
        return None

    def api_payload(self) -> dict[str, Any]:
        """The body of POST /email/inbound (and /email/triage)."""
        classification = self.classification
        attachments = [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in self.parsed.attachments
        ]
        return {
            "message_id": self.parsed.message_id,
            "from_address": (self.parsed.from_address or "")[:254],
            "from_name": self.parsed.from_name,
            "subject": self.subject,
            "body_text": self.body_text,
            "in_reply_to": self.parsed.in_reply_to,
            "references": self.parsed.references,
            "intent": classification.intent if classification else None,
            "confidence": classification.confidence if classification else None,
            "entities": dict(list(classification.entities.items())[:30]) if classification else {},
            "automatic_reason": self.automatic_reason,
            "attachments": attachments,
            "card_number_removed": self.card_number_removed,
        }

    def report(self) -> dict[str, Any]:
        """What staff see from `classify`: why the email goes where it goes."""
        classification = self.classification
        return {
            "message_id": self.parsed.message_id,
            "from": self.parsed.from_address,
            "subject": self.subject,
            "automatic": self.automatic_reason,
            "intent": classification.intent if classification else None,
            "confidence": classification.confidence if classification else None,
            "intent_ranking": classification.ranking if classification else [],
            "entities": classification.entities if classification else {},
            "in_reply_to": self.parsed.in_reply_to,
            "attachments": [
                {"filename": a.filename, "content_type": a.content_type, "size": a.size}
                for a in self.parsed.attachments
            ],
            "attachments_not_listed": self.parsed.attachments_not_listed,
            "card_number_removed": self.card_number_removed,
            "body_truncated": self.truncated,
            "mime_defects": self.parsed.defects,
            "body_text": self.body_text,
        }


def triage(raw: bytes, *, classifier: Classifier) -> Triage:
    """Parse, clean, mask and classify one email."""
    return triage_many([raw], classifier=classifier)[0]


def triage_many(raws: list[bytes], *, classifier: Classifier) -> list[Triage]:
    """triage() for a batch: parsed one by one, classified in one pass of the model."""
    prepared = []
    for raw in raws:
        parsed = parse_email(raw)
        subject, subject_had_card = mask_card_numbers(
            clean_text(parsed.subject).replace("\n", " ")
        )
        checked = check_message(parsed.body_text, max_characters=MAX_BODY_CHARACTERS)
        prepared.append((parsed, subject.strip()[:300], subject_had_card, checked))
    classifications = classifier.classify_many(
        [(subject, checked.text) for _, subject, _, checked in prepared]
    )
    return [
        Triage(
            parsed=parsed,
            subject=subject,
            body_text=checked.text,
            card_number_removed=checked.card_number_removed or subject_had_card,
            truncated=checked.truncated,
            classification=classification,
        )
        for (parsed, subject, subject_had_card, checked), classification in zip(
            prepared, classifications, strict=True
        )
    ]
