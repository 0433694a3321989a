"""Business hours, UK bank holidays and the deadlines that count them.

SLAs count only the hours the teams are open (settings: business_hours_start/_end, timezone),
skipping weekends and the bank holidays of the configured UK jurisdiction. Bank holidays are
computed by rule for any year, so nothing needs updating each January; one-off days appointed
by royal proclamation are listed in _PROCLAIMED.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Literal

from api.cases.models import Priority
from api.config import Settings
from api.timekeeping import local_zone

Region = Literal["england-and-wales", "scotland", "northern-ireland"]
REGIONS: tuple[Region, ...] = ("england-and-wales", "scotland", "northern-ireland")

# Business hours allowed for a first response, by priority.
SLA_BUSINESS_HOURS: dict[Priority, int] = {
    Priority.urgent: 4,
    Priority.high: 8,
    Priority.normal: 16,
    Priority.low: 40,
}
# Stage 1 of the complaints procedure: a full response within this many business days.
COMPLAINT_STAGE1_BUSINESS_DAYS = 10

# Days appointed (or moved) by proclamation: {year: ({moved_from: moved_to}, {added: name})}.
# They cannot be derived from a rule; past ones are kept so historic SLAs stay right.
_PROCLAIMED: dict[int, tuple[dict[date, date], dict[date, str]]] = {
    2011: ({}, {date(2011, 4, 29): "Royal wedding"}),
    2012: ({date(2012, 5, 28): date(2012, 6, 4)}, {date(2012, 6, 5): "Diamond Jubilee"}),
    2020: ({date(2020, 5, 4): date(2020, 5, 8)}, {}),
    2022: (
        {date(2022, 5, 30): date(2022, 6, 2)},
        {
            date(2022, 6, 3): "Platinum Jubilee",
            date(2022, 9, 19): "State funeral of Queen Elizabeth II",
        },
    ),
    2023: ({}, {date(2023, 5, 8): "Coronation of King Charles III"}),
}


def easter_sunday(year: int) -> date:
    """Western (Gregorian) Easter Sunday: the anonymous Gregorian computus."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _first_monday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def _last_monday(year: int, month: int) -> date:
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=last.weekday())


@lru_cache(maxsize=256)
def bank_holidays(year: int, region: Region) -> dict[date, str]:
    """The bank holidays of `year` in `region`, with substitute days, as {date: name}."""
    easter = easter_sunday(year)
    # Days that move to the next free weekday when they fall at a weekend.
    substitutable: list[tuple[date, str]] = [(date(year, 1, 1), "New Year's Day")]
    fixed: dict[date, str] = {easter - timedelta(days=2): "Good Friday"}
    if region == "scotland":
        substitutable.append((date(year, 1, 2), "2nd January"))
        substitutable.append((date(year, 11, 30), "St Andrew's Day"))
    else:
        fixed[easter + timedelta(days=1)] = "Easter Monday"
    if region == "northern-ireland":
        substitutable.append((date(year, 3, 17), "St Patrick's Day"))
        substitutable.append((date(year, 7, 12), "Battle of the Boyne (Orangemen's Day)"))
    substitutable += [(date(year, 12, 25), "Christmas Day"), (date(year, 12, 26), "Boxing Day")]

    moved, added = _PROCLAIMED.get(year, ({}, {}))
    for day, name in (
        (_first_monday(year, 5), "Early May bank holiday"),
        (_last_monday(year, 5), "Spring bank holiday"),
        (_first_monday(year, 8) if region == "scotland" else _last_monday(year, 8),
         "Summer bank holiday"),
    ):
        fixed[moved.get(day, day)] = name
    fixed.update(added)

    holidays = dict(fixed)
    # A day that falls on a weekday keeps its date; the ones at a weekend then take the next
    # weekday still free, in date order (so Christmas on a Saturday -> Monday, Boxing Day on the
    # Sunday -> Tuesday; in Scotland 1 January on a Sunday -> Tuesday, 2 January being Monday).
    for day, name in substitutable:
        if day.weekday() < 5:
            holidays[day] = name
    for day, name in sorted(substitutable):
        if day.weekday() >= 5:
            substitute = day
            while substitute.weekday() >= 5 or substitute in holidays:
                substitute += timedelta(days=1)
            holidays[substitute] = f"{name} (substitute day)"
    return dict(sorted(holidays.items()))


def is_business_day(day: date, *, settings: Settings) -> bool:
    """Monday to Friday and not a bank holiday where the teams work."""
    return day.weekday() < 5 and day not in bank_holidays(day.year, settings.bank_holiday_region)


def _opening(day: date, settings: Settings) -> tuple[datetime, datetime]:
    zone = local_zone(settings)
    return (
        datetime.combine(day, settings.business_hours_start, tzinfo=zone),
        datetime.combine(day, settings.business_hours_end, tzinfo=zone),
    )


def is_open(at: datetime, *, settings: Settings) -> bool:
    """True while the teams are at work."""
    local = at.astimezone(local_zone(settings))
    if not is_business_day(local.date(), settings=settings):
        return False
    opens, closes = _opening(local.date(), settings)
    return opens <= local < closes


def next_open(at: datetime, *, settings: Settings) -> datetime:
    """`at` itself when the teams are at work, otherwise when they next open (UTC)."""
    local = at.astimezone(local_zone(settings))
    day = local.date()
    while True:
        if is_business_day(day, settings=settings):
            opens, closes = _opening(day, settings)
            if local < closes:
                return max(local, opens).astimezone(at.tzinfo)
        day += timedelta(days=1)


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)


def spoken_opening(at: datetime, *, settings: Settings) -> str:
    """'Monday 28 December at 09:00', in the teams' local time, for telling a member."""
    local = at.astimezone(local_zone(settings))
    return (
        f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} at {local:%H:%M}"
    )


def add_business_hours(start: datetime, hours: float, *, settings: Settings) -> datetime:
    """The moment `hours` of opening time after `start` (which may be out of hours)."""
    remaining = timedelta(hours=hours)
    cursor = next_open(start, settings=settings).astimezone(local_zone(settings))
    while True:
        _, closes = _opening(cursor.date(), settings)
        available = closes - cursor
        if remaining <= available:
            return (cursor + remaining).astimezone(start.tzinfo)
        remaining -= available
        cursor = next_open(closes, settings=settings).astimezone(local_zone(settings))


def add_business_days(day: date, days: int, *, settings: Settings) -> date:
    """The `days`-th business day after `day` (the day of receipt itself is not counted)."""
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_business_day(day, settings=settings):
            counted += 1
    return day


def one_calendar_month_after(day: date, *, settings: Settings) -> date:
    """The ICO's "one month" for a subject access request.

    The same day next month, or that month's last day when it is shorter; a deadline landing
    on a weekend or bank holiday moves to the next business day.
    """
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    due = date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
    while not is_business_day(due, settings=settings):
        due += timedelta(days=1)
    return due


def sla_due_at(opened_at: datetime, priority: Priority, *, settings: Settings) -> datetime:
    """When a first response is due for a case of this priority opened at `opened_at`."""
    return add_business_hours(opened_at, SLA_BUSINESS_HOURS[priority], settings=settings)



def business_hours_between(start: datetime, end: datetime, *, settings: Settings) -> float:
    """Opening hours from `start` to `end`; negative when `end` is earlier (an overdue SLA)."""
    if end < start:
        return -business_hours_between(end, start, settings=settings)
    counted = timedelta()
    cursor = next_open(start, settings=settings).astimezone(local_zone(settings))
    while cursor < end:
        _, closes = _opening(cursor.date(), settings)
        counted += min(closes, end) - cursor
        cursor = next_open(closes, settings=settings).astimezone(local_zone(settings))
    return counted.total_seconds() / 3600


def sla_timer_text(hours: float) -> str:
    """'3h 20m left' or '1h 05m overdue', in business hours, for the queues."""
    minutes = round(abs(hours) * 60)
    text = f"{minutes // 60}h {minutes % 60:02d}m"
    return f"{text} overdue" if hours < 0 else f"{text} left"
