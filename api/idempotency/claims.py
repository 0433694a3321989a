"""Claiming an idempotency key for a request, or answering a repeat with the first answer.

The key is claimed by adding a row to the request's own database session, so the claim is
committed with the change it guards or not at all: a request refused before it changed anything
leaves the key free for the retry, and a change that was committed can never be made again under
the same key, even when the process died before it could answer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from api.errors import Conflict, InvalidValue
from api.idempotency.models import IdempotentRequest
from api.timekeeping import aware_utc, utcnow

KEY_HEADER = "idempotency-key"
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Long enough for any retry, replay after an outage or double click; short enough that the
# table stays small (older keys are free again).
KEEP_FOR = timedelta(days=2)
MAX_KEY_LENGTH = 100
# What the key-holding request stores under `request.state` for the middleware to finish.
STATE_NAME = "idempotency_claim"
IN_PROGRESS = (
    "This request was already received and is being dealt with, or was already applied. "
    "Read the record again before asking again."
)


class StoredAnswer(Exception):
    """A repeat of a request already answered: its first answer, to be sent again."""

    def __init__(self, status_code: int, body: str, media_type: str | None) -> None:
        super().__init__("repeat of an answered request")
        self.status_code = status_code
        self.body = body
        self.media_type = media_type or "application/json"


@dataclass(frozen=True)
class Claim:
    """Where the first answer is to be kept once it is known."""

    bind: Engine | Connection
    scope: str
    key: str


def checked_key(key: str) -> str:
    """The key as sent, or a clear 422: printable ASCII, 1 to 100 characters."""
    if not 0 < len(key) <= MAX_KEY_LENGTH or not all(" " < ch < "\x7f" for ch in key):
        raise InvalidValue(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters with no spaces.",
            field="Idempotency-Key",
        )
    return key


def scope_of(*, actor: str, method: str, path: str) -> str:
    """One caller's requests to one route: the same key from another caller is another key.

    The caller as the audit log names it, not its token: a member's token is re-issued when
    they check their identity again, and their retry is still theirs.
    """
    return hashlib.sha256(f"{actor}\n{method}\n{path}".encode()).hexdigest()


def claim(
    *, db_session: Session, scope: str, key: str, body: bytes
) -> Claim:
    """Claim `key` in `db_session`, or raise StoredAnswer / Conflict / InvalidValue for a repeat."""
    fingerprint = hashlib.sha256(body).hexdigest()
    earlier = db_session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.scope == scope, IdempotentRequest.key == key
        )
    )
    if earlier is not None and aware_utc(earlier.created_at) < utcnow() - KEEP_FOR:
        db_session.delete(earlier)
        db_session.flush()
        earlier = None
    if earlier is not None:
        if earlier.fingerprint != fingerprint:
            raise InvalidValue(
                "This Idempotency-Key was already used for a different request.",
                field="Idempotency-Key",
            )
        if earlier.status_code is None or earlier.response_body is None:
            raise Conflict(IN_PROGRESS)
        raise StoredAnswer(earlier.status_code, earlier.response_body, earlier.media_type)
    db_session.add(IdempotentRequest(scope=scope, key=key, fingerprint=fingerprint))
    return Claim(bind=db_session.get_bind(), scope=scope, key=key)


def keep_answer(claim: Claim, *, status_code: int, body: bytes, media_type: str | None) -> None:
    """Store the first answer on a committed claim (a claim that was rolled back is gone)."""
    with Session(bind=claim.bind) as db_session:
        row = db_session.scalar(
            select(IdempotentRequest).where(
                IdempotentRequest.scope == claim.scope, IdempotentRequest.key == claim.key
            )
        )
        if row is None or row.status_code is not None:
            return
        row.status_code = status_code
        row.response_body = body.decode("utf-8", errors="replace")
        row.media_type = media_type
        db_session.commit()
