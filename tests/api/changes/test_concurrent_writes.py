"""Two writes from the same version of a record: exactly one wins, the other gets 409."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from api.changes import applying
from api.changes.models import ChangeRequest
from api.changes.schemas import AddressChange, ContactChange
from api.errors import StaleWrite
from api.members.models import Member
from api.security import Caller
from tests.api import factories

ASSISTANT = Caller(kind="service")


def test_the_second_of_two_sessions_writing_from_the_same_version_is_refused(
    engine: Engine, db: Session
) -> None:
    member = factories.member(db)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    with sessions() as first, sessions() as second:
        # Both read version 1 before either writes, as two agents on the phone would.
        in_first = first.get(Member, member.id)
        in_second = second.get(Member, member.id)
        assert in_first is not None and in_second is not None
        first.rollback()
        second.rollback()

        applying.change_address(
            db_session=first,
            member=in_first,
            caller=ASSISTANT,
            channel="api",
            address=AddressChange(
                address_line1="1 New Road", town="Hull", postcode="HU1 1AA", version=1
            ),
        )
        with pytest.raises(StaleWrite):
            applying.change_contact(
                db_session=second,
                member=in_second,
                caller=ASSISTANT,
                channel="api",
                contact=ContactChange(email="late@example.org", version=1),
            )

    db.expire_all()
    stored = db.get(Member, member.id)
    assert stored is not None
    assert (stored.postcode, stored.email, stored.version) == (
        "HU1 1AA",
        "alex.morgan@example.org",
        2,
    )
    assert [c.field for c in db.scalars(select(ChangeRequest))] == ["address"]


def test_two_simultaneous_requests_with_the_same_version_one_wins(
    service_client: TestClient, db: Session
) -> None:
    member = factories.member(db)
    path = f"/api/v1/members/{member.membership_number}/address"
    start = threading.Barrier(2)
    statuses: list[int] = []

    def put(postcode: str) -> None:
        start.wait()
        response = service_client.put(
            path,
            json={
                "address_line1": "1 New Road",
                "town": "Hull",
                "postcode": postcode,
                "version": 1,
            },
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=put, args=(pc,)) for pc in ("HU1 1AA", "HU2 2BB")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(statuses) == [200, 409]
    db.expire_all()
    stored = db.get(Member, member.id)
    assert stored is not None and stored.version == 2
    assert len(db.scalars(select(ChangeRequest)).all()) == 1
