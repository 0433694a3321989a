"""GET /api/v1/opening-hours: when the contact centre is open, at a moment the test pins.

Every test runs on SQLite and PostgreSQL (the `engine` fixture): the route reads no table, but
the staff caller's check does, and the doors are the same doors either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.config import Settings
from api.deps import request_time
from api.staff.models import Role
from api.timekeeping import utcnow
from tests.api import factories
from tests.api.conftest import SERVICE_TOKEN, member_headers, staff_headers

UTC = timezone.utc
SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
PATH = "/api/v1/opening-hours"


@pytest.fixture
def clock(app_client: TestClient) -> Iterator[list[datetime]]:
    """Pins the API's "now": set clock[0] before asking."""
    pinned = [utcnow()]
    app_client.app.dependency_overrides[request_time] = lambda: pinned[0]  # type: ignore[attr-defined]
    yield pinned
    app_client.app.dependency_overrides.pop(request_time, None)  # type: ignore[attr-defined]


def moment(text: str) -> datetime:
    """An ISO datetime from the API (Python 3.10's fromisoformat does not read a "Z")."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def hours_at(client: TestClient, clock: list[datetime], at: datetime) -> dict[str, Any]:
    clock[0] = at
    response = client.get(PATH, headers=SERVICE)
    assert response.status_code == 200, response.text
    return response.json()


def test_open_on_a_weekday_morning(app_client: TestClient, clock: list[datetime]) -> None:
    # Thursday 3 December 2026, 10:15 in London (GMT, so UTC too).
    body = hours_at(app_client, clock, datetime(2026, 12, 3, 10, 15, tzinfo=UTC))

    assert body["open_now"] is True
    assert body["closed_because"] is None
    assert (body["today_opens"], body["today_closes"]) == ("09:00", "17:00")
    assert moment(body["next_closes_at"]) == datetime(2026, 12, 3, 17, tzinfo=UTC)
    assert body["next_closes_text"] == "Thursday 3 December at 17:00"
    assert moment(body["next_opens_at"]) == datetime(2026, 12, 4, 9, tzinfo=UTC)
    assert body["usual_hours"] == "Monday to Friday, 09:00 to 17:00, UK time"
    assert body["upcoming_bank_holidays"] == []


def test_hours_are_the_teams_local_hours_in_summer_time(
    app_client: TestClient, clock: list[datetime]
) -> None:
    # 08:30 UTC on Wednesday 1 July 2026 is 09:30 in London (BST): open.
    body = hours_at(app_client, clock, datetime(2026, 7, 1, 8, 30, tzinfo=UTC))
    assert body["open_now"] is True
    assert body["next_closes_at"] == "2026-07-01T17:00:00+01:00"
    # 16:30 UTC is 17:30 BST: closed, though it is before 17:00 UTC.
    body = hours_at(app_client, clock, datetime(2026, 7, 1, 16, 30, tzinfo=UTC))
    assert body["open_now"] is False
    assert body["closed_because"] == "closed_for_the_day"


def test_closed_in_the_evening_opens_tomorrow_at_nine(
    app_client: TestClient, clock: list[datetime]
) -> None:
    body = hours_at(app_client, clock, datetime(2026, 12, 2, 19, 40, tzinfo=UTC))

    assert body["open_now"] is False
    assert body["closed_because"] == "closed_for_the_day"
    assert (body["today_opens"], body["today_closes"]) == ("09:00", "17:00")
    assert moment(body["next_opens_at"]) == datetime(2026, 12, 3, 9, tzinfo=UTC)
    assert body["next_opens_text"] == "Thursday 3 December at 09:00"
    assert moment(body["next_closes_at"]) == datetime(2026, 12, 3, 17, tzinfo=UTC)


def test_before_opening_it_opens_the_same_morning(
    app_client: TestClient, clock: list[datetime]
) -> None:
    body = hours_at(app_client, clock, datetime(2026, 12, 2, 7, 5, tzinfo=UTC))

    assert body["open_now"] is False
    assert body["closed_because"] == "not_open_yet"
    assert body["next_opens_text"] == "Wednesday 2 December at 09:00"


def test_closed_at_a_weekend_opens_on_monday(app_client: TestClient, clock: list[datetime]) -> None:
    body = hours_at(app_client, clock, datetime(2026, 12, 5, 11, 0, tzinfo=UTC))  # a Saturday

    assert body["open_now"] is False
    assert body["closed_because"] == "weekend"
    assert body["today_opens"] is None and body["today_closes"] is None
    assert body["bank_holiday_today"] is None
    assert body["next_opens_text"] == "Monday 7 December at 09:00"


def test_closed_on_christmas_day_and_the_boxing_day_substitute(
    app_client: TestClient, clock: list[datetime]
) -> None:
    # Friday 25 December 2026; Boxing Day is a Saturday, so Monday 28th is its substitute.
    body = hours_at(app_client, clock, datetime(2026, 12, 25, 10, 0, tzinfo=UTC))
    assert body["open_now"] is False
    assert body["closed_because"] == "bank_holiday"
    assert body["bank_holiday_today"] == "Christmas Day"
    assert body["today_opens"] is None
    assert body["next_opens_text"] == "Tuesday 29 December at 09:00"

    body = hours_at(app_client, clock, datetime(2026, 12, 28, 10, 0, tzinfo=UTC))
    assert body["closed_because"] == "bank_holiday"
    assert body["bank_holiday_today"] == "Boxing Day (substitute day)"
    assert body["next_opens_text"] == "Tuesday 29 December at 09:00"


def test_the_bank_holidays_of_the_next_fortnight_are_listed(
    app_client: TestClient, clock: list[datetime]
) -> None:
    # Friday 18 December 2026, open: Christmas, the Boxing Day substitute and New Year's Day
    # 2027 (1 January, 14 days on) are within the fortnight.
    body = hours_at(app_client, clock, datetime(2026, 12, 18, 12, 0, tzinfo=UTC))

    assert body["open_now"] is True
    assert body["upcoming_bank_holidays"] == [
        {"day": "2026-12-25", "name": "Christmas Day"},
        {"day": "2026-12-28", "name": "Boxing Day (substitute day)"},
        {"day": "2027-01-01", "name": "New Year's Day"},
    ]


def test_scotland_keeps_its_own_bank_holidays(
    app_client: TestClient, clock: list[datetime], settings: Settings
) -> None:
    # 2 January 2026 is a Friday: a bank holiday in Scotland, a working day in England.
    settings.bank_holiday_region = "scotland"
    body = hours_at(app_client, clock, datetime(2026, 1, 2, 10, 0, tzinfo=UTC))
    assert body["bank_holiday_today"] == "2nd January"
    assert body["closed_because"] == "bank_holiday"
    assert body["bank_holiday_region"] == "scotland"


def test_members_and_staff_may_read_it_too(
    app_client: TestClient, clock: list[datetime], db: Session, settings: Settings
) -> None:
    clock[0] = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    member = factories.member(db, membership_number="1000001")
    agent = factories.staff(db, "sam.agent", Role.agent)
    for headers in (member_headers(settings, member), staff_headers(settings, agent)):
        response = app_client.get(PATH, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["open_now"] is True


def test_an_absent_forged_or_expired_token_is_refused(
    app_client: TestClient, clock: list[datetime], settings: Settings
) -> None:
    claims = {"sub": "1", "typ": "member", "mn": "1000001", "lvl": "identity_checked"}
    refused = {
        "no token": {},
        "made up": {"Authorization": "Bearer let-me-in"},
        "another key": {
            "Authorization": "Bearer "
            + jwt.encode(
                {**claims, "exp": utcnow() + timedelta(hours=1)},
                "another-key-" + "y" * 40,
                algorithm="HS256",
            )
        },
        "expired": {
            "Authorization": "Bearer "
            + jwt.encode(
                {**claims, "exp": utcnow() - timedelta(minutes=1)},
                settings.secret_key,
                algorithm="HS256",
            )
        },
    }
    for who, headers in refused.items():
        response = app_client.get(PATH, headers=headers)
        assert response.status_code == 401, who
        assert "open_now" not in response.text, who
