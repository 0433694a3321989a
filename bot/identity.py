"""The identity a channel vouches for, signed so the actions can trust it.

A channel that verified a member itself (a linked Telegram account, a signed-in webchat)
puts `identity_metadata(...)` in the message metadata, under `IDENTITY_METADATA_KEY`. When the
session starts, the actions read it back with `signed_identity`, which checks the signature
and expiry, and start the session verified. Both sides sign and check here, with the shared
channel secret (bot.settings). Nothing a member types ever becomes part of it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from typing import Any

IDENTITY_METADATA_KEY = "memberdesk_identity"
# Short: the assertion is only read when a session starts, and it sits in the tracker store
# afterwards, so it should be useless to anyone who reads it there later.
IDENTITY_LIFETIME_SECONDS = 120
_MEMBERSHIP_NUMBER = re.compile(r"\d{7}")


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
    return {"payload": payload, "sig": _signature(payload, secret)}


def identity_metadata(membership_number: str, **signing: Any) -> dict[str, Any]:
    """Message metadata that tells the assistant who the member is (see module docstring)."""
    return {IDENTITY_METADATA_KEY: identity_assertion(membership_number, **signing)}


def channel_of_conversation(conversation_id: str) -> str:
    """The channel a conversation id belongs to: each channel names its conversations
    `<channel>:<id>` (webchat sessions issued before that are `webchat-<random>`)."""
    if conversation_id.startswith("webchat-"):
        return "webchat"
    namespace, colon, _ = conversation_id.partition(":")
    return namespace if colon else ""


def identity_in(metadata: dict[str, Any] | None) -> dict[str, str] | None:
    """The signed assertion a message's metadata carries, unchecked; None when there is none."""
    assertion = (metadata or {}).get(IDENTITY_METADATA_KEY)
    if not isinstance(assertion, dict):
        return None
    payload, signature = assertion.get("payload"), assertion.get("sig")
    if not isinstance(payload, str) or not isinstance(signature, str):
        return None
    return {"payload": payload, "sig": signature}


def signed_identity(
    metadata: dict[str, Any] | None, *, secret: str, conversation_id: str, channel: str
) -> str | None:
    """The membership number a channel vouched for, if the assertion holds for *this*
    conversation: its signature, its expiry, and the conversation and channel it was signed
    for.

    Anything else a client sends in metadata is ignored: Rasa's REST channel passes client
    metadata straight through, so only a correct signature makes it count, and an assertion
    read from one conversation (a tracker store, a log) cannot start another verified. The
    records API checks the same again before it issues a member token.
    """
    assertion = identity_in(metadata)
    if assertion is None:
        return None
    payload, signature = assertion["payload"], assertion["sig"]
    if not hmac.compare_digest(_signature(payload, secret), signature):
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), (int, float)):
        return None
    if claims["exp"] < time.time():
        return None
    if claims.get("conversation") != conversation_id or claims.get("channel") != channel:
        return None
    number = claims.get("membership_number")
    return number if isinstance(number, str) and _MEMBERSHIP_NUMBER.fullmatch(number) else None


def _signature(payload: str, secret: str) -> str:
    """Hex HMAC-SHA256 of the payload with the channel secret."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
