"""One clock for the whole service, so tests and seeds can pin "now"."""

from __future__ import annotations

from datetime import date, datetime, timezone


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def today() -> date:
    """Today's date in UTC."""
    return utcnow().date()
