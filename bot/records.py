"""How the bot side talks to the records API: its headers, its answers and its errors.

Every caller (the actions over async httpx, the chat channels over aiohttp, email triage over
sync httpx) keeps the transport it measured best, and builds its headers and reads its answers
here, so a failure means the same thing everywhere:

- `RecordsApiUnavailable`: the API could not be reached, timed out, failed on its side (5xx)
  or sent something that is not a JSON answer. Whatever was asked for can wait and be retried.
  `RecordsApiFailed`, one kind of it, is a 5xx answer, for a caller that must tell the API
  failing on one request (500) from the API being away (502, 503, 504, or no answer at all).
- `RecordsApiRefused`: the API refused the request (4xx). `status` says why (401 not verified
  or a wrong code, 404 not found, 409 conflict, 422 invalid value, 423 locked, 429 too many),
  `detail` is written for members, `field` names the value at fault when there is one.

Nothing here opens a connection: the transports do, when their process first needs one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

# What a refusal says when the API gave no reason a member could read.
REFUSED = "The request was refused."


class RecordsApiError(Exception):
    """Base for records API failures."""


class RecordsApiUnavailable(RecordsApiError):
    """The API could not be reached, timed out, or failed on its side."""


class RecordsApiFailed(RecordsApiUnavailable):
    """The API answered, but failed on its side: `status` is its 5xx."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class RecordsApiRefused(RecordsApiError):
    """The API answered with a 4xx: the request itself was refused."""

    status: int
    detail: str = REFUSED
    field: str | None = None

    def __str__(self) -> str:
        return f"HTTP {self.status}: {self.detail}"


# A change sent with this header is made once however often it is sent (the API keeps the
# first answer for a repeat); its answer to a repeat whose first is still unknown starts so.
IDEMPOTENCY_HEADER = "Idempotency-Key"
ALREADY_RECEIVED = "This request was already received"


def idempotency_key(*parts: object) -> str:
    """A key that is the same for the same change asked for at the same point of a conversation."""
    text = json.dumps([str(part) for part in parts], ensure_ascii=False)
    return "md-" + hashlib.sha256(text.encode()).hexdigest()[:48]


def already_received(error: RecordsApiRefused) -> bool:
    """The API has this change already (an earlier copy got through), answer not yet known."""
    return error.status == 409 and error.detail.startswith(ALREADY_RECEIVED)


def service_headers(token: str, channel: str) -> dict[str, str]:
    """The headers a caller presents: its bearer token and the channel it speaks for."""
    return {"Authorization": f"Bearer {token}", "X-Memberdesk-Channel": channel}


def read_answer(method: str, path: str, status: int, content: bytes) -> Any:
    """The API's decoded JSON answer, or the named error for a failure or a refusal."""
    if status >= 500:
        raise RecordsApiFailed(f"{method} {path}: HTTP {status}", status=status)
    if not 200 <= status < 300:
        raise _refusal(status, content)
    if not content:
        return {}
    try:
        return json.loads(content)
    except ValueError as exc:
        raise RecordsApiUnavailable(f"{method} {path}: a reply that is not JSON") from exc


def read_object(method: str, path: str, status: int, content: bytes) -> dict[str, Any]:
    """`read_answer` for a call whose answer must be one JSON object."""
    answer = read_answer(method, path, status, content)
    if not isinstance(answer, dict) or not content:
        raise RecordsApiUnavailable(f"{method} {path}: an unexpected reply")
    return answer


def _refusal(status: int, content: bytes) -> RecordsApiRefused:
    """The refusal, with the API's reason when it gave one (api/errors.py writes them)."""
    try:
        body = json.loads(content) if content else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return RecordsApiRefused(status)
    detail, field = body.get("detail"), body.get("field")
    return RecordsApiRefused(
        status,
        detail if isinstance(detail, str) else REFUSED,
        field if isinstance(field, str) else None,
    )
