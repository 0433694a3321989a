"""One clock for the whole service, so tests and seeds can pin "now".

Imports no domain, so every domain can use it.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from api.config import Settings


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def today() -> date:
    """Today's date in UTC."""
    return utcnow().date()


def aware_utc(moment: datetime) -> datetime:
    """A stored timestamp as aware UTC."""
    # SQLite hands back naive datetimes even for timezone-aware columns; they are stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def local_zone(settings: Settings) -> ZoneInfo:
    """The time zone the teams work in."""
    return ZoneInfo(settings.timezone)


def local_today(*, now: datetime, settings: Settings) -> date:
    """The date where the teams work (ballot and deadline dates are UK dates, not UTC ones)."""
    return now.astimezone(local_zone(settings)).date()
