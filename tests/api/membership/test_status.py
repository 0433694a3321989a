"""The membership lifecycle: which status changes are allowed, and their dated history."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.errors import Conflict, InvalidValue
from api.members.models import Status
from api.membership.status import change_status
from api.timekeeping import today
from tests.api import factories
from tests.api.membership.conftest import fresh, status_history

# --- change_status ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "to", "left"),
    [
        (Status.applicant, Status.active, False),
        (Status.active, Status.grace, False),
        (Status.grace, Status.lapsed, True),
        (Status.grace, Status.active, False),
        (Status.active, Status.resigned, True),
        (Status.grace, Status.resigned, True),
        (Status.active, Status.deceased, True),
        (Status.lapsed, Status.deceased, True),
    ],
)
def test_allowed_changes_are_recorded_with_a_dated_history_row(
    db: Session, start: Status, to: Status, left: bool
) -> None:
    m = factories.member(db, status=start)
    on = today() - timedelta(days=3)

    change_status(db_session=db, member=m, new_status=to, effective_from=on,
                            actor="staff:sam.data", channel="api")
    db.commit()

    assert status_history(db, m)[-1] == (to, on)
    assert fresh(db, m).status == to
    assert fresh(db, m).left_on == (on if left else None)
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "status_changed"))
    assert event.member_id == m.id
    assert f"{start.value} -> {to.value}" in (event.detail or "")


def test_rejoining_clears_the_leaving_date(db: Session) -> None:
    m = factories.member(db, status=Status.lapsed, left_on=date(2025, 1, 31))

    change_status(db_session=db, member=m, new_status=Status.active,
                            effective_from=today(), actor="service:assistant", channel="api")
    db.commit()

    assert fresh(db, m).left_on is None


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (Status.applicant, Status.lapsed),
        (Status.active, Status.lapsed),
        (Status.lapsed, Status.resigned),
        (Status.resigned, Status.grace),
        (Status.deceased, Status.active),
        (Status.active, Status.active),
    ],
)
def test_disallowed_changes_are_refused_and_change_nothing(
    db: Session, start: Status, to: Status
) -> None:
    m = factories.member(db, status=start)

    with pytest.raises(Conflict) as refused:
        change_status(db_session=db, member=m, new_status=to, effective_from=today(),
                                actor="staff:sam.data", channel="api")
    db.rollback()

    assert start.value in refused.value.message
    assert status_history(db, m) == [(start, m.joined_on)]
    assert fresh(db, m).status == start


def test_a_change_cannot_take_effect_in_the_future(db: Session) -> None:
    m = factories.member(db)

    with pytest.raises(InvalidValue) as refused:
        change_status(db_session=db, member=m, new_status=Status.resigned,
                                effective_from=today() + timedelta(days=1),
                                actor="staff:sam.data", channel="api")

    assert refused.value.field == "effective_date"


def test_a_change_cannot_predate_the_current_status(db: Session) -> None:
    m = factories.member(db, joined_on=date(2020, 5, 1))

    with pytest.raises(InvalidValue) as refused:
        change_status(db_session=db, member=m, new_status=Status.resigned,
                                effective_from=date(2020, 4, 30),
                                actor="staff:sam.data", channel="api")

    assert "2020-05-01" in refused.value.message
