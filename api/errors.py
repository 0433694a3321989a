"""Named errors raised by services. Only the web layer turns them into HTTP responses."""

from __future__ import annotations


class DomainError(Exception):
    """Base for errors a caller can act on. `message` is safe to show to a member."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status_code = 404


class InvalidValue(DomainError):
    status_code = 422


class StaleWrite(DomainError):
    """Someone else changed the record since the caller read it."""

    status_code = 409


class Conflict(DomainError):
    status_code = 409


class NotAllowed(DomainError):
    status_code = 403


class LockedOut(DomainError):
    status_code = 423


class NotAuthenticated(DomainError):
    """Credentials or identity details that did not match; the message never says which."""

    status_code = 401


class TooManyRequests(DomainError):
    status_code = 429
