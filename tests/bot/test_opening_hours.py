"""The opening hours answer, run as the action server runs it against the real records API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actions.opening_hours import HOURS_UNKNOWN, OpeningHours, describe_opening_hours
from bot.settings import get_settings
from harness.processes import free_port
from tests.bot.servers import RecordsApi
from tests.bot.trackers import run, slots_set, texts, tracker


def test_the_answer_is_the_apis_hours_and_asks_nobody_who_they_are(
    actions_env: RecordsApi,
) -> None:
    with actions_env.client() as client:
        hours = client.get("/opening-hours").json()

    events, messages = run(OpeningHours(), tracker(intent="opening_hours", text="r u open?"))

    said = texts(messages)
    assert said == describe_opening_hours(hours)
    assert "Monday to Friday, 09:00 to 17:00, UK time" in said
    if hours["open_now"]:
        assert "open now, until 17:00 today" in said
    else:
        assert f"opens again on {hours['next_opens_text']}" in said or (
            f"it opens on {hours['next_opens_text']}" in said
        )
    assert "at any time" in said
    assert "membership number" not in said and slots_set(events) == {}


def test_with_the_api_out_of_reach_no_hours_are_made_up(
    actions_env: RecordsApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens on a fresh free port: the call is refused at once.
    monkeypatch.setenv("MEMBERDESK_API_URL", f"http://127.0.0.1:{free_port()}")
    get_settings.cache_clear()

    _, messages = run(OpeningHours(), tracker(intent="opening_hours", text="are you open?"))

    said = texts(messages)
    assert said == HOURS_UNKNOWN
    assert "09:00" not in said and "17:00" not in said


def _hours(**changes: Any) -> dict[str, Any]:
    """An answer shaped as GET /opening-hours gives it (tests/api/cases/test_opening_hours.py
    checks the API's side), closed at a weekend unless changed."""
    return {
        "open_now": False,
        "at": "2026-12-19T11:00:00Z",
        "today_opens": None,
        "today_closes": None,
        "closed_because": "weekend",
        "bank_holiday_today": None,
        "next_opens_at": "2026-12-21T09:00:00Z",
        "next_opens_text": "Monday 21 December at 09:00",
        "next_closes_at": "2026-12-21T17:00:00Z",
        "next_closes_text": "Monday 21 December at 17:00",
        "usual_hours": "Monday to Friday, 09:00 to 17:00, UK time",
        "timezone": "Europe/London",
        "bank_holiday_region": "england-and-wales",
        "upcoming_bank_holidays": [],
        **changes,
    }


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (_hours(), "closed at weekends. It opens again on Monday 21 December at 09:00."),
        (
            _hours(
                closed_because="bank_holiday",
                bank_holiday_today="Christmas Day",
                at="2026-12-25T10:00:00Z",
                next_opens_text="Tuesday 29 December at 09:00",
                upcoming_bank_holidays=[
                    {"day": "2026-12-25", "name": "Christmas Day"},
                    {"day": "2026-12-28", "name": "Boxing Day (substitute day)"},
                ],
            ),
            "closed today for Christmas Day (a bank holiday). It opens again on Tuesday 29 "
            "December at 09:00. Our usual hours are Monday to Friday, 09:00 to 17:00, UK time, "
            "closed on bank holidays. We're also closed on 28 December 2026 (Boxing Day "
            "(substitute day)).",
        ),
        (
            _hours(closed_because="closed_for_the_day", today_opens="09:00", today_closes="17:00"),
            "has closed for today. It opens again on Monday",
        ),
        (_hours(closed_because="not_open_yet"), "isn't open yet: it opens on Monday"),
        (
            _hours(open_now=True, closed_because=None, today_opens="09:00", today_closes="17:00"),
            "The contact centre is open now, until 17:00 today.",
        ),
    ],
)
def test_each_way_of_being_closed_is_said_plainly(hours: dict[str, Any], expected: str) -> None:
    assert expected in describe_opening_hours(hours)
