"""When the contact centre is open: today, right now, and next.

A public answer (no member data in it), for the assistant to tell anyone who asks and for
staff. Everything comes from the same hours and bank holidays the case SLAs count (api.cases.sla),
so what a member is told and what a case's deadline counts never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from api.cases import sla
from api.config import Settings
from api.timekeeping import local_zone

# How far ahead the bank holidays are listed: far enough for "are you open over Christmas?"
# asked in the week before, short enough to stay a sentence.
BANK_HOLIDAYS_AHEAD_DAYS = 14

ClosedBecause = Literal["weekend", "bank_holiday", "not_open_yet", "closed_for_the_day"]


@dataclass(frozen=True)
class BankHoliday:
    day: date
    name: str


@dataclass(frozen=True)
class OpeningHours:
    """The contact centre's hours as seen at one moment (`at`, aware)."""

    at: datetime
    open_now: bool
    # Today's hours in local time, or None when today is a weekend or a bank holiday.
    today_opens: time | None
    today_closes: time | None
    # None while open.
    closed_because: ClosedBecause | None
    bank_holiday_today: str | None
    # The next moment the doors open (after today's closing when open now), and the closing
    # that follows it or, while open, today's.
    next_opens_at: datetime
    next_closes_at: datetime
    # The same two moments as a member is told them: 'Monday 28 December at 09:00'.
    next_opens_text: str
    next_closes_text: str
    usual_hours: str
    upcoming_bank_holidays: tuple[BankHoliday, ...]


def usual_hours(settings: Settings) -> str:
    """'Monday to Friday, 09:00 to 17:00, UK time'."""
    zone = "UK time" if settings.timezone == "Europe/London" else f"{settings.timezone} time"
    return (
        f"Monday to Friday, {settings.business_hours_start:%H:%M} to "
        f"{settings.business_hours_end:%H:%M}, {zone}"
    )


def bank_holidays_between(first: date, last: date, *, settings: Settings) -> list[BankHoliday]:
    """The bank holidays from `first` to `last` inclusive, where the teams work."""
    found: list[BankHoliday] = []
    for year in range(first.year, last.year + 1):
        for day, name in sla.bank_holidays(year, settings.bank_holiday_region).items():
            if first <= day <= last:
                found.append(BankHoliday(day=day, name=name))
    return found


def _closed_because(local: datetime, settings: Settings) -> ClosedBecause | None:
    day = local.date()
    if day.weekday() >= 5:
        return "weekend"
    if not sla.is_business_day(day, settings=settings):
        return "bank_holiday"
    if local.time() < settings.business_hours_start:
        return "not_open_yet"
    if local.time() >= settings.business_hours_end:
        return "closed_for_the_day"
    return None


def opening_hours(*, at: datetime, settings: Settings) -> OpeningHours:
    """The hours as they stand at `at` (an aware datetime)."""
    zone = local_zone(settings)
    local = at.astimezone(zone)
    today = local.date()
    business_day = sla.is_business_day(today, settings=settings)
    closed_because = _closed_because(local, settings)
    open_now = closed_because is None

    if open_now:
        next_closes = datetime.combine(today, settings.business_hours_end, tzinfo=zone)
        # next_open of the closing moment itself is the following working morning.
        next_opens = sla.next_open(next_closes, settings=settings)
    else:
        next_opens = sla.next_open(local, settings=settings)
        next_closes = datetime.combine(next_opens.date(), settings.business_hours_end, tzinfo=zone)

    holidays_today = sla.bank_holidays(today.year, settings.bank_holiday_region)
    return OpeningHours(
        at=local,
        open_now=open_now,
        today_opens=settings.business_hours_start if business_day else None,
        today_closes=settings.business_hours_end if business_day else None,
        closed_because=closed_because,
        bank_holiday_today=holidays_today.get(today),
        next_opens_at=next_opens.astimezone(zone),
        next_closes_at=next_closes.astimezone(zone),
        next_opens_text=sla.spoken_opening(next_opens, settings=settings),
        next_closes_text=sla.spoken_opening(next_closes, settings=settings),
        usual_hours=usual_hours(settings),
        upcoming_bank_holidays=tuple(
            bank_holidays_between(
                today, today + timedelta(days=BANK_HOLIDAYS_AHEAD_DAYS), settings=settings
            )
        ),
    )
