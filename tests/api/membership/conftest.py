"""Fixtures and helpers for the membership tests."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.members.models import Member, Status, StatusPeriod


@pytest.fixture
def client(app_client: TestClient) -> TestClient:
    return app_client


@pytest.fixture
def service(service_client: TestClient) -> TestClient:
    return service_client


def status_history(db: Session, member: Member) -> list[tuple[Status, date]]:
    db.expire_all()
    rows = db.scalars(
        select(StatusPeriod).where(StatusPeriod.member_id == member.id).order_by(StatusPeriod.id)
    )
    return [(r.status, r.effective_from) for r in rows]


def fresh(db: Session, member: Member) -> Member:
    db.expire_all()
    found = db.get(Member, member.id)
    assert found is not None
    return found
