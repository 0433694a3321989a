"""Business hours and UK bank holidays, checked against the published gov.uk dates."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest

from api.cases import sla
from api.cases.models import Priority
from api.config import Settings

UTC = timezone.utc

# gov.uk/bank-holidays, as published for 2025-2027.
PUBLISHED: dict[str, dict[int, list[date]]] = {
    "england-and-wales": {
        2025: [
            date(2025, 1, 1),
            date(2025, 4, 18),
            date(2025, 4, 21),
            date(2025, 5, 5),
            date(2025, 5, 26),
            date(2025, 8, 25),
            date(2025, 12, 25),
            date(2025, 12, 26),
        ],
        2026: [
            date(2026, 1, 1),
            date(2026, 4, 3),
            date(2026, 4, 6),
            date(2026, 5, 4),
            date(2026, 5, 25),
            date(2026, 8, 31),
            date(2026, 12, 25),
            date(2026, 12, 28),
        ],
        2027: [
            date(2027, 1, 1),
            date(2027, 3, 26),
            date(2027, 3, 29),
            date(2027, 5, 3),
            date(2027, 5, 31),
            date(2027, 8, 30),
            date(2027, 12, 27),
            date(2027, 12, 28),
        ],
    },
    "scotland": {
        2025: [
            date(2025, 1, 1),
            date(2025, 1, 2),
            date(2025, 4, 18),
            date(2025, 5, 5),
            date(2025, 5, 26),
            date(2025, 8, 4),
            date(2025, 12, 1),
            date(2025, 12, 25),
            date(2025, 12, 26),
        ],
        2026: [
            date(2026, 1, 1),
            date(2026, 1, 2),
            date(2026, 4, 3),
            date(2026, 5, 4),
            date(2026, 5, 25),
            date(2026, 8, 3),
            date(2026, 11, 30),
            date(2026, 12, 25),
            date(2026, 12, 28),
        ],
        2027: [
            date(2027, 1, 1),
            date(2027, 1, 4),
            date(2027, 3, 26),
            date(2027, 5, 3),
            date(2027, 5, 31),
            date(2027, 8, 2),
            date(2027, 11, 30),
            date(2027, 12, 27),
            date(2027, 12, 28),
        ],
    },
    "northern-ireland": {
        2025: [
            date(2025, 1, 1),
            date(2025, 3, 17),
            date(2025, 4, 18),
            date(2025, 4, 21),
            date(2025, 5, 5),
            date(2025, 5, 26),
            date(2025, 7, 14),
            date(2025, 8, 25),
            date(2025, 12, 25),
            date(2025, 12, 26),
        ],
        2026: [
            date(2026, 1, 1),
            date(2026, 3, 17),
            date(2026, 4, 3),
            date(2026, 4, 6),
            date(2026, 5, 4),
            date(2026, 5, 25),
            date(2026, 7, 13),
            date(2026, 8, 31),
            date(2026, 12, 25),
            date(2026, 12, 28),
        ],
        2027: [
            date(2027, 1, 1),
            date(2027, 3, 17),
            date(2027, 3, 26),
            date(2027, 3, 29),
            date(2027, 5, 3),
            date(2027, 5, 31),
            date(2027, 7, 12),
            date(2027, 8, 30),
            date(2027, 12, 27),
            date(2027, 12, 28),
        ],
    },
}


@pytest.mark.parametrize(
    ("region", "year"),
    [(region, year) for region in PUBLISHED for year in PUBLISHED[region]],
)
def test_bank_holidays_match_the_published_dates(region: str, year: int) -> None:
    assert list(sla.bank_holidays(year, region)) == PUBLISHED[region][year]  # type: ignore[arg-type]


def test_substitute_days_in_years_when_holidays_fall_at_weekends() -> None:
    # 2022: Christmas on a Sunday, Boxing Day Monday -> Christmas substitute Tuesday.
    assert {date(2022, 12, 26), date(2022, 12, 27)} <= set(
        sla.bank_holidays(2022, "england-and-wales")
    )
    # 2023 in Scotland: 1 January a Sunday, 2 January a Monday -> also Tuesday 3 January.
    scotland_2023 = sla.bank_holidays(2023, "scotland")
    assert date(2023, 1, 2) in scotland_2023 and date(2023, 1, 3) in scotland_2023
    # 2022 in Scotland: 1 January a Saturday -> Monday 3 and Tuesday 4 January.
    scotland_2022 = sla.bank_holidays(2022, "scotland")
    assert date(2022, 1, 3) in scotland_2022 and date(2022, 1, 4) in scotland_2022


def test_proclaimed_days_move_the_rule_based_ones() -> None:
    england_2020 = sla.bank_holidays(2020, "england-and-wales")
    assert date(2020, 5, 8) in england_2020 and date(2020, 5, 4) not in england_2020
    assert date(2023, 5, 8) in sla.bank_holidays(2023, "northern-ireland")


def test_easter_on_known_years() -> None:
    assert sla.easter_sunday(2024) == date(2024, 3, 31)
    assert sla.easter_sunday(2025) == date(2025, 4, 20)
    assert sla.easter_sunday(2038) == date(2038, 4, 25)


def test_sla_runs_over_a_weekend(settings: Settings) -> None:
    # Friday 15:00 GMT, 16 business hours: 2 on Friday, 8 on Monday, 6 on Tuesday.
    opened = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    due = sla.sla_due_at(opened, Priority.normal, settings=settings)
    assert due == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def test_sla_counts_from_the_next_opening_when_opened_out_of_hours(settings: Settings) -> None:
    saturday = datetime(2026, 11, 21, 11, 0, tzinfo=UTC)
    assert sla.sla_due_at(saturday, Priority.high, settings=settings) == datetime(
        2026, 11, 23, 17, 0, tzinfo=UTC
    )
    tuesday_evening = datetime(2026, 11, 24, 20, 30, tzinfo=UTC)
    assert sla.sla_due_at(tuesday_evening, Priority.urgent, settings=settings) == datetime(
        2026, 11, 25, 13, 0, tzinfo=UTC
    )
    early_morning = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    assert sla.sla_due_at(early_morning, Priority.urgent, settings=settings) == datetime(
        2026, 11, 24, 13, 0, tzinfo=UTC
    )


def test_sla_skips_christmas_and_the_boxing_day_substitute(settings: Settings) -> None:
    # Thursday 24 December 2026 10:00: 7 hours that day, then Friday 25 (Christmas), the
    # weekend and Monday 28 (Boxing Day substitute) are closed; the last hour is Tuesday's.
    opened = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
    assert sla.sla_due_at(opened, Priority.high, settings=settings) == datetime(
        2026, 12, 29, 10, 0, tzinfo=UTC
    )


def test_scotland_is_also_closed_on_2_january(settings: Settings) -> None:
    opened = datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    scotland = settings.model_copy(update={"bank_holiday_region": "scotland"})
    assert sla.sla_due_at(opened, Priority.normal, settings=settings) == datetime(
        2026, 1, 5, 16, 0, tzinfo=UTC
    )
    assert sla.sla_due_at(opened, Priority.normal, settings=scotland) == datetime(
        2026, 1, 6, 16, 0, tzinfo=UTC
    )


def test_opening_hours_are_london_time_in_summer(settings: Settings) -> None:
    # 08:30 UTC is 09:30 BST: open, and 4 hours later is 13:30 BST = 12:30 UTC.
    opened = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
    assert sla.is_open(opened, settings=settings)
    assert sla.sla_due_at(opened, Priority.urgent, settings=settings) == datetime(
        2026, 6, 1, 12, 30, tzinfo=UTC
    )
    # 07:30 UTC is 08:30 BST: not yet open; opens at 08:00 UTC.
    assert not sla.is_open(datetime(2026, 6, 1, 7, 30, tzinfo=UTC), settings=settings)
    assert sla.next_open(datetime(2026, 6, 1, 7, 30, tzinfo=UTC), settings=settings) == datetime(
        2026, 6, 1, 8, 0, tzinfo=UTC
    )


def test_the_next_opening_is_told_in_local_time(settings: Settings) -> None:
    summer = sla.next_open(datetime(2026, 5, 31, 20, 0, tzinfo=UTC), settings=settings)
    assert sla.spoken_opening(summer, settings=settings) == "Monday 1 June at 09:00"


def test_next_open_after_a_bank_holiday_weekend(settings: Settings) -> None:
    # Good Friday 2026 at noon: closed until Tuesday 7 April (Easter Monday is a holiday).
    good_friday = datetime(2026, 4, 3, 11, 0, tzinfo=UTC)
    assert not sla.is_open(good_friday, settings=settings)
    assert sla.next_open(good_friday, settings=settings) == datetime(2026, 4, 7, 8, 0, tzinfo=UTC)
    # While open, the next opening is now.
    tuesday = datetime(2026, 4, 7, 9, 15, tzinfo=UTC)
    assert sla.next_open(tuesday, settings=settings) == tuesday


def test_configured_opening_hours_are_used(settings: Settings) -> None:
    longer = settings.model_copy(
        update={"business_hours_start": time(8, 0), "business_hours_end": time(18, 0)}
    )
    opened = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert sla.sla_due_at(opened, Priority.normal, settings=longer) == datetime(
        2026, 11, 24, 14, 0, tzinfo=UTC
    )


def test_bad_opening_hours_or_time_zone_are_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="BUSINESS_HOURS"):
        Settings(env="test", business_hours_start=time(17), business_hours_end=time(9))
    with pytest.raises(ValueError, match="time zone"):
        Settings(env="test", timezone="Europe/Atlantis")


def test_complaint_stage_1_deadline_counts_business_days(settings: Settings) -> None:
    # Ten business days from Thursday 17 December 2026 skip Christmas, Boxing Day (substitute)
    # and New Year's Day.
    assert sla.add_business_days(date(2026, 12, 17), 10, settings=settings) == date(2027, 1, 5)
    assert sla.add_business_days(date(2026, 11, 23), 10, settings=settings) == date(2026, 12, 7)


def test_one_calendar_month_for_a_subject_access_request(settings: Settings) -> None:
    assert sla.one_calendar_month_after(date(2026, 3, 10), settings=settings) == date(2026, 4, 10)
    # No 31 February: the last day of February, a Saturday, so the next business day.
    assert sla.one_calendar_month_after(date(2026, 1, 31), settings=settings) == date(2026, 3, 2)
    # 28 December 2026 is the Boxing Day substitute.
    assert sla.one_calendar_month_after(date(2026, 11, 28), settings=settings) == date(2026, 12, 29)
    assert sla.one_calendar_month_after(date(2026, 12, 15), settings=settings) == date(2027, 1, 15)
