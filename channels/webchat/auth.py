"""Who a webchat visitor is: the website's signed member token, and server-issued sessions.

Two things arrive with a browser's connection, and neither is trusted until checked here:

- **member token**: a JWT the organisation's website signs for a member who is signed in
  there (HS256 with `MEMBERDESK_WEBCHAT_JWT_SECRET`; `sub` = the seven-digit membership
  number; `exp` required, at most a day ahead). Any other algorithm, a bad signature, a
  missing or past expiry, or a `sub` that is not a membership number, and the visitor is
  treated as anonymous.
- **session token**: issued by this server, never chosen by the browser. It names the
  conversation, the member it is bound to (if any) and when it expires, signed with a key
  derived from the channel secret. The browser keeps it for the tab (sessionStorage) and
  presents it when it reconnects, so a reload resumes the conversation; a conversation id a
  browser makes up, or another visitor's id, is never accepted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt

from bot.settings import BotSettings, UnsafeSettings

DEVELOPMENT_JWT_SECRET = "development-only-webchat-jwt-secret-change-me"  # noqa: S105
JWT_ALGORITHM = "HS256"
# A member token is a hand-off from the website to the chat, not a login that lasts.
MAX_MEMBER_TOKEN_SECONDS = 24 * 3600
# Clock differences between the website's servers and this one.
CLOCK_LEEWAY_SECONDS = 30
DEFAULT_SESSION_HOURS = 12
_MEMBERSHIP_NUMBER = re.compile(r"^[0-9]{7}$")
# `webchat:<random>`; `webchat-<random>` in sessions issued before the channel namespaces.
_CONVERSATION = re.compile(r"^webchat[:-][A-Za-z0-9_-]{22,64}$")
_SESSION_VERSION = "v1"


@dataclass(frozen=True)
class WebchatSettings:
    jwt_secret: str
    # Origins (scheme://host[:port]) whose pages may open the chat, besides the server's own.
    allowed_origins: tuple[str, ...]
    session_seconds: int
    # The demo "member portal" with its demo sign-in: development and test only.
    demo_portal: bool
    session_key: bytes
    # Where several Rasa replicas pass socket.io messages to each other; None for one process.
    redis_url: str | None = None


def _origins(raw: Any) -> tuple[str, ...]:
    """Origins from a list or a comma-separated string, without trailing slashes."""
    if not raw:
        return ()
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    return tuple(str(item).strip().rstrip("/") for item in items if str(item).strip())


def webchat_settings(
    channel: BotSettings, credentials: dict[str, Any] | None = None
) -> WebchatSettings:
    """The webchat's settings: credentials.yml first, then MEMBERDESK_WEBCHAT_* variables."""
    credentials = credentials or {}
    env = os.environ.get
    jwt_secret = str(
        credentials.get("jwt_secret") or env("MEMBERDESK_WEBCHAT_JWT_SECRET")
        or DEVELOPMENT_JWT_SECRET
    )
    developing = channel.environment in ("development", "test")
    demo_setting = credentials.get("demo_portal", env("MEMBERDESK_WEBCHAT_DEMO_PORTAL"))
    demo_portal = developing if demo_setting in (None, "") else (
        str(demo_setting).lower() in ("1", "true", "yes", "on")
    )
    if not developing:
        if jwt_secret == DEVELOPMENT_JWT_SECRET or len(jwt_secret) < 32:
            raise UnsafeSettings("Set MEMBERDESK_WEBCHAT_JWT_SECRET to 32+ characters.")
        if demo_portal:
            raise UnsafeSettings(
                "The webchat demo portal signs anyone in: it is for development only."
            )
    hours = float(credentials.get("session_hours") or env("MEMBERDESK_WEBCHAT_SESSION_HOURS")
                  or DEFAULT_SESSION_HOURS)
    return WebchatSettings(
        jwt_secret=jwt_secret,
        allowed_origins=_origins(
            credentials.get("allowed_origins") or env("MEMBERDESK_WEBCHAT_ORIGINS")
        ),
        session_seconds=max(60, int(hours * 3600)),
        demo_portal=demo_portal,
        # Its own key, so a session token can never pass as an identity assertion.
        session_key=hmac.new(
            channel.channel_secret.encode(), b"memberdesk webchat session", hashlib.sha256
        ).digest(),
        redis_url=str(credentials.get("redis_url") or env("MEMBERDESK_WEBCHAT_REDIS_URL") or "")
        or None,
    )


def member_from_token(token: Any, *, secret: str, now: float | None = None) -> str | None:
    """The membership number a valid member token names, else None (see module docstring)."""
    if not isinstance(token, str) or not token or len(token) > 4096:
        return None
    moment = time.time() if now is None else now
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            options={"require": ["exp", "sub"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        return None
    expires = claims.get("exp")
    if not isinstance(expires, (int, float)) or isinstance(expires, bool):
        return None
    if expires + CLOCK_LEEWAY_SECONDS < moment or expires > moment + MAX_MEMBER_TOKEN_SECONDS:
        return None
    number = claims.get("sub")
    return number if isinstance(number, str) and _MEMBERSHIP_NUMBER.match(number) else None


def sign_member_token(
    membership_number: str, *, secret: str, lifetime_seconds: int = 300,
    now: float | None = None,
) -> str:
    """A member token as an organisation's website signs one (the demo portal uses this)."""
    issued = int(time.time() if now is None else now)
    return jwt.encode(
        {"sub": membership_number, "iat": issued, "exp": issued + lifetime_seconds},
        secret,
        algorithm=JWT_ALGORITHM,
    )


@dataclass(frozen=True)
class WebchatSession:
    """One browser tab's conversation, as the server issued it."""

    conversation_id: str
    # The membership number the conversation is bound to; None for an anonymous visitor.
    member: str | None
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_session(member: str | None, *, settings: WebchatSettings,
                now: float | None = None) -> WebchatSession:
    """A fresh conversation with an unguessable id (128 bits from the OS's generator)."""
    return WebchatSession(
        conversation_id=f"webchat:{secrets.token_urlsafe(16)}",
        member=member,
        expires=int((time.time() if now is None else now) + settings.session_seconds),
    )


def renewed(session: WebchatSession, *, settings: WebchatSettings,
            now: float | None = None) -> WebchatSession:
    """The same conversation, its expiry pushed on from now."""
    return WebchatSession(
        conversation_id=session.conversation_id,
        member=session.member,
        expires=int((time.time() if now is None else now) + settings.session_seconds),
    )


def session_token(session: WebchatSession, *, settings: WebchatSettings) -> str:
    """`v1.<base64url claims>.<base64url HMAC-SHA256>`: what the browser keeps and presents."""
    claims = {"c": session.conversation_id, "m": session.member, "exp": session.expires}
    body = f"{_SESSION_VERSION}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
    signature = hmac.new(settings.session_key, body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(signature)}"


def read_session(token: Any, *, settings: WebchatSettings,
                 now: float | None = None) -> WebchatSession | None:
    """The session a token this server issued names, if it is intact and unexpired."""
    if not isinstance(token, str) or len(token) > 512:
        return None
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _SESSION_VERSION:
        return None
    body = f"{parts[0]}.{parts[1]}"
    expected = hmac.new(settings.session_key, body.encode(), hashlib.sha256).digest()
    try:
        presented = _unb64(parts[2])
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, binascii.Error):
        return None
    if not hmac.compare_digest(expected, presented) or not isinstance(claims, dict):
        return None
    conversation, member, expires = claims.get("c"), claims.get("m"), claims.get("exp")
    if not isinstance(conversation, str) or not _CONVERSATION.match(conversation):
        return None
    if member is not None and not (isinstance(member, str) and _MEMBERSHIP_NUMBER.match(member)):
        return None
    if not isinstance(expires, int) or expires < (time.time() if now is None else now):
        return None
    return WebchatSession(conversation_id=conversation, member=member, expires=expires)


def resume_or_start(
    presented_session: Any, member: str | None, *, settings: WebchatSettings,
    now: float | None = None,
) -> tuple[WebchatSession, bool]:
    """The conversation for a connecting tab, and whether it is one it already had.

    A session resumes only for the same visitor: an anonymous session for an anonymous
    visitor, a member's session for that member signed in again. Signing in, signing out or
    changing member starts a new conversation, so nobody sees another person's chat on a
    shared computer.
    """
    session = read_session(presented_session, settings=settings, now=now)
    if session is not None and session.member == member:
        return renewed(session, settings=settings, now=now), True
    return new_session(member, settings=settings, now=now), False


def sign_value(value: str, *, key: bytes) -> str:
    """`value.signature`, for the demo portal's sign-in cookie."""
    signature = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    return f"{value}.{signature}"


def signed_value(signed: str | None, *, key: bytes) -> str | None:
    """The value of a `sign_value` string whose signature holds."""
    value, _, signature = (signed or "").rpartition(".")
    expected = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    return value if value and hmac.compare_digest(expected, signature) else None
