"""Who is calling: the service token, member-scoped tokens and staff tokens.

Identity always comes from something verified here, never from a value the client sent.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.config import Settings
from api.timekeeping import utcnow

CallerKind = Literal["service", "member", "staff"]
_ALGORITHM = "HS256"
_password_hasher = PasswordHasher()


@dataclass(frozen=True)
class Caller:
    """A verified caller of the API."""

    kind: CallerKind
    member_id: int | None = None
    membership_number: str | None = None
    staff_id: int | None = None
    role: str | None = None
    username: str | None = None
    # A member's token says how they proved who they are: the identity check or signing in.
    identity_level: str | None = None

    @property
    def actor(self) -> str:
        """How this caller is named in the audit log."""
        if self.kind == "member":
            return f"member:{self.membership_number}"
        if self.kind == "staff":
            return f"staff:{self.username}"
        return "service:assistant"


class InvalidToken(Exception):
    """A bearer token that is missing, forged, expired or of the wrong kind."""


MEMBER_IDENTITY_LEVELS = ("identity_checked", "signed_in")


def issue_member_token(
    *,
    settings: Settings,
    member_id: int,
    membership_number: str,
    identity_level: str = "identity_checked",
) -> tuple[str, int]:
    """A short-lived token that reads and writes only this one member; returns (token, seconds).

    It carries how the member proved who they are, so what they change is recorded with that,
    whatever a request body claims.
    """
    if identity_level not in MEMBER_IDENTITY_LEVELS:
        raise ValueError(f"not a member's identity level: {identity_level!r}")
    seconds = settings.member_token_minutes * 60
    claims = {
        "typ": "member",
        "sub": str(member_id),
        "mn": membership_number,
        "lvl": identity_level,
        "iat": utcnow(),
        "exp": utcnow() + timedelta(seconds=seconds),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=_ALGORITHM), seconds


def issue_staff_token(*, settings: Settings, staff_id: int, username: str, role: str) -> str:
    """A token for a signed-in staff user."""
    claims = {
        "typ": "staff",
        "sub": str(staff_id),
        "usr": username,
        "role": role,
        "iat": utcnow(),
        "exp": utcnow() + timedelta(minutes=settings.staff_token_minutes),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=_ALGORITHM)


def caller_from_authorization(header: str | None, *, settings: Settings) -> Caller:
    """The caller an `Authorization: Bearer ...` header proves, or InvalidToken."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("no bearer token")
    return caller_from_bearer(token.strip(), settings=settings)


# A member's token comes back with each message of their conversation for up to half an hour,
# and checking it (base64, JSON, the HMAC, the claims) was a tenth of a look-up's CPU. A token
# that verified is remembered with its expiry: its signature and claims cannot change, only the
# clock can, and the expiry is checked on every use exactly as PyJWT checks it. Keyed by the
# secret too, so a token signed with a key no longer in use is checked afresh (and refused).
# Each worker process keeps its own; cleared when full rather than kept in order, which would
# cost more than verifying the few tokens it drops again.
_VERIFIED_LIMIT = 10_000
_verified: dict[tuple[str, str], tuple[Caller, int]] = {}


def caller_from_bearer(token: str, *, settings: Settings) -> Caller:
    """The caller a bearer token proves, or InvalidToken."""
    if hmac.compare_digest(token.encode(), settings.service_token.encode()):
        return Caller(kind="service")
    key = (settings.secret_key, token)
    known = _verified.get(key)
    if known is None:
        known = _verify(token, settings=settings)
        if len(_verified) >= _VERIFIED_LIMIT:
            _verified.clear()
        _verified[key] = known
    caller, expires = known
    # PyJWT's own rule: a token is expired from the second its `exp` names.
    if expires <= time.time():
        _verified.pop(key, None)
        raise InvalidToken("Signature has expired")
    return caller


def _verify(token: str, *, settings: Settings) -> tuple[Caller, int]:
    """The caller a signed token proves and when it expires (seconds), or InvalidToken."""
    try:
        claims = jwt.decode(
            token, settings.secret_key, algorithms=[_ALGORITHM], options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    expires = int(claims["exp"])
    if claims.get("typ") == "member":
        level = claims.get("lvl", "identity_checked")
        if level not in MEMBER_IDENTITY_LEVELS:
            raise InvalidToken("unknown identity level")
        return Caller(
            kind="member",
            member_id=int(claims["sub"]),
            membership_number=claims["mn"],
            identity_level=level,
        ), expires
    if claims.get("typ") == "staff":
        return Caller(
            kind="staff", staff_id=int(claims["sub"]), username=claims["usr"], role=claims["role"]
        ), expires
    raise InvalidToken("unknown token type")


def hash_password(password: str) -> str:
    """An argon2id hash."""
    return _password_hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches the stored argon2 hash."""
    try:
        return _password_hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_secret(value: str) -> str:
    """SHA-256 of a random secret (link tokens, one-time codes) for storage."""
    return hashlib.sha256(value.encode()).hexdigest()
