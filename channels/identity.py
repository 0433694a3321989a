"""The identity a channel vouches for, signed so the actions can trust it.

A channel that verified a member itself (a linked Telegram account, a signed-in webchat)
puts `identity_metadata(...)` in the message metadata. `actions.identity.signed_identity`
checks the signature and expiry and starts the session verified. Nothing a member types
ever becomes part of it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

IDENTITY_METADATA_KEY = "memberdesk_identity"
# Short: the assertion is only read when a session starts, and it sits in the tracker store
# afterwards, so it should be useless to anyone who reads it there later.
IDENTITY_LIFETIME_SECONDS = 120


def identity_assertion(
    membership_number: str,
    *,
    secret: str,
    channel: str,
    conversation_id: str,
    lifetime_seconds: int = IDENTITY_LIFETIME_SECONDS,
    now: float | None = None,
) -> dict[str, str]:
    """`{"payload": base64url(json claims), "sig": hex HMAC-SHA256 of the payload}`."""
    claims = {
        "membership_number": membership_number,
        "exp": int((time.time() if now is None else now) + lifetime_seconds),
        "channel": channel,
        "conversation": conversation_id,
    }
    payload = base64.urlsafe_b64encode(
        json.dumps(claims, separators=(",", ":")).encode()
    ).decode()
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return {"payload": payload, "sig": signature}


def identity_metadata(membership_number: str, **signing: Any) -> dict[str, Any]:
    """Message metadata that tells the assistant who the member is (see module docstring)."""
    return {IDENTITY_METADATA_KEY: identity_assertion(membership_number, **signing)}
