"""The identity a channel vouches for, checked before the API issues a member token for it.

A channel that verified a member itself (a linked Telegram account, a website sign-in) signs
`{"membership_number", "exp", "channel", "conversation"}` with the channel secret
(bot/identity.py signs; the format is shared across the HTTP boundary). The action server sends
that assertion here as it was signed. Checking it here, not only in the actions, means the
service token alone never gets a member's token: whoever holds it would also need the channel
secret, and an assertion read from one conversation does not verify another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time

from api.errors import NotAuthenticated

NOT_VOUCHED = "The channel's signed identity did not check out."


def vouched_number(
    *, payload: str, signature: str, secret: str, conversation_id: str, channel: str,
    now: float | None = None,
) -> str:
    """The membership number the assertion names; NotAuthenticated unless it holds for this
    conversation and channel, unexpired, with a signature made with `secret`."""
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise NotAuthenticated(NOT_VOUCHED, field="assertion")
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (ValueError, binascii.Error):
        raise NotAuthenticated(NOT_VOUCHED, field="assertion") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), (int, float)):
        raise NotAuthenticated(NOT_VOUCHED, field="assertion")
    if claims["exp"] < (time.time() if now is None else now):
        raise NotAuthenticated("The channel's signed identity has expired.", field="assertion")
    if claims.get("conversation") != conversation_id or claims.get("channel") != channel:
        raise NotAuthenticated("The channel's signed identity is for another conversation.",
                               field="assertion")
    number = claims.get("membership_number")
    if not isinstance(number, str):
        raise NotAuthenticated(NOT_VOUCHED, field="assertion")
    return number
