"""A change sent twice under one Idempotency-Key is made once, and answered the same way twice.

The repeats a member's change meets in production: the action server retrying after a timeout, a
kept request replayed after an outage the first attempt in fact got through, a replica dying
after the write, two copies racing each other.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.changes.models import ChangeRequest
from api.config import Settings
from api.idempotency.claims import claim, scope_of
from api.idempotency.models import IdempotentRequest
from api.members.models import Member
from tests.api import factories
from tests.api.conftest import member_headers

NEW_ADDRESS = {"address_line1": "22 Acacia Avenue", "town": "York", "postcode": "yo1 7hh"}


def _changes(db: Session, member: Member) -> int:
    db.expire_all()
    return db.scalar(
        select(func.count()).select_from(ChangeRequest).where(ChangeRequest.member_id == member.id)
    ) or 0


def _put_address(client: TestClient, settings: Settings, member: Member, key: str | None,
                 body: dict[str, str] | None = None) -> object:
    headers = member_headers(settings, member)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.put(f"/api/v1/members/{member.membership_number}/address",
                      json=body or NEW_ADDRESS, headers=headers)


def test_a_repeated_change_is_made_once_and_answered_with_the_same_reference(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)

    first = _put_address(app_client, settings, member, "conv-7f3a:address:1")
    again = _put_address(app_client, settings, member, "conv-7f3a:address:1")

    assert first.status_code == again.status_code == 200
    assert again.json()["reference"] == first.json()["reference"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _changes(db, member) == 1


def test_without_a_key_a_repeat_is_a_second_change(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    # The baseline the key exists for: the same request twice records two changes.
    member = factories.member(db)

    _put_address(app_client, settings, member, None)
    _put_address(app_client, settings, member, None)

    assert _changes(db, member) == 2


def test_the_same_key_with_a_different_change_is_refused(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)
    _put_address(app_client, settings, member, "k-1")

    other = _put_address(app_client, settings, member, "k-1", {**NEW_ADDRESS, "town": "Leeds"})

    assert other.status_code == 422
    assert other.json()["field"] == "Idempotency-Key"
    assert _changes(db, member) == 1


def test_a_refused_change_leaves_its_key_free_for_the_corrected_one(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)

    refused = _put_address(app_client, settings, member, "k-2", {**NEW_ADDRESS, "postcode": "nope"})
    corrected = _put_address(app_client, settings, member, "k-2")

    assert refused.status_code == 422
    assert corrected.status_code == 200
    assert _changes(db, member) == 1


def test_one_members_key_never_answers_another_members_request(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member, neighbour = factories.member(db), factories.member(db)

    _put_address(app_client, settings, member, "same-key")
    theirs = _put_address(app_client, settings, neighbour, "same-key")

    assert theirs.status_code == 200
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["member"]["membership_number"] == neighbour.membership_number
    assert _changes(db, neighbour) == 1


def test_a_forged_token_with_a_key_gets_401_and_claims_nothing(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)

    forged = app_client.put(
        f"/api/v1/members/{member.membership_number}/address",
        json=NEW_ADDRESS,
        headers={"Authorization": "Bearer not-a-real-token", "Idempotency-Key": "k-3"},
    )

    assert forged.status_code == 401
    assert db.scalar(select(func.count()).select_from(IdempotentRequest)) == 0


@pytest.mark.parametrize("key", ["", "has space", "x" * 101, "tab\there"])
def test_a_malformed_key_is_refused_clearly(
    app_client: TestClient, db: Session, settings: Settings, key: str
) -> None:
    member = factories.member(db)

    response = _put_address(app_client, settings, member, key)

    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]
    assert _changes(db, member) == 0


def test_a_change_committed_by_a_process_that_died_before_answering_is_not_made_again(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    # What a replica that died after the write leaves behind: a committed claim with no answer.
    member = factories.member(db)
    headers = member_headers(settings, member)
    path = f"/api/v1/members/{member.membership_number}/address"
    scope = scope_of(actor=f"member:{member.membership_number}", method="PUT", path=path)
    body = b'{"address_line1": "22 Acacia Avenue", "town": "York", "postcode": "yo1 7hh"}'
    claim(db_session=db, scope=scope, key="k-4", body=body)
    db.commit()

    retry = app_client.put(
        path,
        content=body,
        headers={**headers, "Idempotency-Key": "k-4", "Content-Type": "application/json"},
    )

    assert retry.status_code == 409
    assert "already" in retry.json()["detail"]
    assert _changes(db, member) == 0


def test_two_copies_racing_for_one_key_commit_one_change(db: Session) -> None:
    member = factories.member(db)
    factory = sessionmaker(bind=db.get_bind(), expire_on_commit=False)
    with factory() as first, factory() as second:
        # Both looked before either committed, as two replicas handling the copies at once do.
        claim(db_session=first, scope="s", key="k-5", body=b"{}")
        claim(db_session=second, scope="s", key="k-5", body=b"{}")
        first.commit()
        with pytest.raises(IntegrityError, match="idempotent_requests"):
            second.commit()
    assert _changes(db, member) == 0
