"""Ballot routes: listing, a member's eligibility, and replacement ballot papers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.ballots import service
from api.ballots.models import Ballot, BallotMethod, ReplacementPaperRequest
from api.config import Settings
from api.members.models import Member
from api.timekeeping import local_today, utcnow
from tests.api import factories
from tests.api.conftest import member_headers, staff_headers


@pytest.fixture
def today(settings: Settings) -> date:
    return local_today(now=utcnow(), settings=settings)


def _open_ballot(db: Session, today: date, **overrides: object) -> Ballot:
    fields: dict[str, object] = dict(
        ballot_code="IA-OPEN",
        register_date=today - timedelta(days=40),
        opens_on=today - timedelta(days=3),
        closes_on=today + timedelta(days=14),
        support_threshold_percent=40,
        details="Strike dates will be announced after the result.",
    )
    fields.update(overrides)
    return factories.ballot(db, employers=[factories.employer(db)], **fields)


def _member(db: Session, **overrides: object) -> Member:
    return factories.member(db, **{"joined_on": date(2015, 6, 1), **overrides})


# Listing and reading ballots


def test_ballots_are_listed_by_state(service_client: TestClient, db: Session, today: date) -> None:
    _open_ballot(db, today)
    _open_ballot(
        db,
        today,
        ballot_code="IA-NEXT",
        opens_on=today + timedelta(days=5),
        closes_on=today + timedelta(days=30),
    )
    _open_ballot(
        db,
        today,
        ballot_code="IA-DONE",
        opens_on=today - timedelta(days=30),
        closes_on=today - timedelta(days=1),
    )

    def codes(state: str) -> list[str]:
        response = service_client.get("/api/v1/ballots", params={"state": state})
        assert response.status_code == 200
        return [b["code"] for b in response.json()]

    assert codes("open") == ["IA-OPEN"]
    assert codes("upcoming") == ["IA-NEXT"]
    assert codes("closed") == ["IA-DONE"]
    assert sorted(codes("all")) == ["IA-DONE", "IA-NEXT", "IA-OPEN"]


def test_a_ballot_shows_its_configured_thresholds_and_constituency(
    app_client: TestClient, db: Session, settings: Settings, today: date
) -> None:
    _open_ballot(db, today)
    member = _member(db)
    response = app_client.get("/api/v1/ballots/IA-OPEN", headers=member_headers(settings, member))
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "open"
    assert body["thresholds"] == {"turnout_percent": 50, "support_percent": 40}
    assert body["employers"] == ["Northshire NHS Trust"]
    assert body["method"] == "postal"
    assert body["closes_on"] == (today + timedelta(days=14)).isoformat()


def test_ballots_need_a_token(app_client: TestClient) -> None:
    assert app_client.get("/api/v1/ballots").status_code == 401


def test_an_unknown_ballot_or_state_is_refused_clearly(service_client: TestClient) -> None:
    missing = service_client.get("/api/v1/ballots/NO-SUCH")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "There is no ballot with that code."
    bad_state = service_client.get("/api/v1/ballots", params={"state": "everything"})
    assert bad_state.status_code == 422
    assert bad_state.json()["field"] == "query.state"


# A member's ballots


def test_a_member_sees_current_ballots_and_only_the_latest_closed_one(
    app_client: TestClient, db: Session, settings: Settings, today: date
) -> None:
    _open_ballot(db, today)
    _open_ballot(
        db,
        today,
        ballot_code="IA-OLD",
        opens_on=today - timedelta(days=90),
        closes_on=today - timedelta(days=60),
    )
    _open_ballot(
        db,
        today,
        ballot_code="IA-RECENT",
        opens_on=today - timedelta(days=30),
        closes_on=today - timedelta(days=2),
    )
    member = _member(db)
    response = app_client.get(
        f"/api/v1/members/{member.membership_number}/ballots",
        headers=member_headers(settings, member),
    )
    assert response.status_code == 200
    ballots = {b["ballot_code"]: b for b in response.json()}
    assert set(ballots) == {"IA-OPEN", "IA-RECENT"}
    assert ballots["IA-OPEN"]["eligible"] is True
    assert ballots["IA-RECENT"]["reason_code"] == "ballot_closed"


def test_eligibility_route_gives_the_reason(
    service_client: TestClient, db: Session, today: date
) -> None:
    _open_ballot(db, today)
    member = _member(db, joined_on=today - timedelta(days=10))
    response = service_client.get(
        f"/api/v1/members/{member.membership_number}/ballots/IA-OPEN/eligibility"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["eligible"] is False
    assert body["reason_code"] == "not_a_member_then"
    assert "after this ballot's register date" in body["reason"]


def test_a_member_token_cannot_read_another_members_ballots(
    app_client: TestClient, db: Session, settings: Settings, today: date
) -> None:
    _open_ballot(db, today)
    me, other = _member(db), _member(db, first_name="Jo")
    headers = member_headers(settings, me)
    for path in (
        f"/api/v1/members/{other.membership_number}/ballots",
        f"/api/v1/members/{other.membership_number}/ballots/IA-OPEN/eligibility",
    ):
        response = app_client.get(path, headers=headers)
        assert response.status_code == 404
        assert response.json()["detail"] == "No such member."
    refused = app_client.post(
        f"/api/v1/members/{other.membership_number}/ballots/IA-OPEN/replacement-paper",
        headers=headers,
    )
    assert refused.status_code == 404
    assert db.scalar(select(ReplacementPaperRequest)) is None


# Replacement ballot papers


def _ask_for_paper(client: TestClient, member: Member, code: str = "IA-OPEN", **kwargs):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/members/{member.membership_number}/ballots/{code}/replacement-paper", **kwargs
    )


def test_a_replacement_paper_goes_to_the_address_on_file(
    app_client: TestClient, db: Session, settings: Settings, today: date
) -> None:
    _open_ballot(db, today)
    member = _member(db, address_line2="Flat 2")
    response = _ask_for_paper(
        app_client,
        member,
        headers={**member_headers(settings, member), "X-Memberdesk-Channel": "webchat"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["reference"].startswith("BP-")
    assert body["method"] == "postal"
    assert body["status"] == "pending"
    assert body["address"] == "1 High Street, Flat 2, Leeds, LS1 4AB"
    assert "1 High Street, Flat 2, Leeds, LS1 4AB" in body["message"]
    assert "scrutineer" in body["message"]

    stored = db.scalar(select(ReplacementPaperRequest))
    assert stored is not None and stored.reference == body["reference"]
    assert stored.address == body["address"] and stored.channel == "webchat"
    event = db.scalar(
        select(AuditEvent).where(AuditEvent.action == "ballot.replacement_paper_requested")
    )
    assert event is not None
    assert event.actor == f"member:{member.membership_number}"
    assert event.member_id == member.id
    assert "High Street" not in (event.detail or "") and "LS1" not in (event.detail or "")


def test_a_second_request_gets_the_first_reference(
    service_client: TestClient, db: Session, today: date
) -> None:
    _open_ballot(db, today)
    member = _member(db)
    first = _ask_for_paper(service_client, member).json()["reference"]
    again = _ask_for_paper(service_client, member)
    assert again.status_code == 409
    assert again.json()["reference"] == first
    assert first in again.json()["detail"]
    assert len(db.scalars(select(ReplacementPaperRequest)).all()) == 1


def test_losing_the_race_to_a_simultaneous_request_answers_with_its_reference(
    db: Session, today: date, monkeypatch: pytest.MonkeyPatch
) -> None:
    ballot = _open_ballot(db, today)
    member = _member(db)
    first = service.request_replacement_paper(
        db_session=db, member=member, ballot=ballot, today=today, actor="t", channel="api"
    )
    # The second request's look-up runs before the first one is visible; only the
    # database's partial unique index stops the duplicate.
    real_lookup = service._pending_request
    lookups: list[object] = []

    def late_lookup(**kwargs: object) -> ReplacementPaperRequest | None:
        lookups.append(kwargs)
        return None if len(lookups) == 1 else real_lookup(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "_pending_request", late_lookup)
    with pytest.raises(service.ReplacementAlreadyRequested) as raised:
        service.request_replacement_paper(
            db_session=db, member=member, ballot=ballot, today=today, actor="t", channel="api"
        )
    assert raised.value.reference == first.reference
    assert len(lookups) == 2  # the answer came from the look-up after the IntegrityError
    db.rollback()
    assert len(db.scalars(select(ReplacementPaperRequest)).all()) == 1


@pytest.mark.parametrize(
    ("dates", "words"),
    [
        ({"opens_on": 5, "closes_on": 20}, "go out from"),
        ({"opens_on": -20, "closes_on": -1}, "closed on"),
    ],
)
def test_a_paper_can_only_be_replaced_while_the_ballot_is_open(
    service_client: TestClient, db: Session, today: date, dates: dict[str, int], words: str
) -> None:
    _open_ballot(db, today, **{k: today + timedelta(days=v) for k, v in dates.items()})
    response = _ask_for_paper(service_client, _member(db))
    assert response.status_code == 409
    assert words in response.json()["detail"]
    assert db.scalar(select(ReplacementPaperRequest)) is None


def test_an_online_ballot_has_no_paper(
    service_client: TestClient, db: Session, today: date
) -> None:
    _open_ballot(db, today, method=BallotMethod.online)
    response = _ask_for_paper(service_client, _member(db))
    assert response.status_code == 409
    assert "held online" in response.json()["detail"]


def test_a_member_outside_the_constituency_gets_no_paper(
    service_client: TestClient, db: Session, today: date
) -> None:
    _open_ballot(db, today)
    southvale = factories.employer(db, "Southvale Council", ("Town Hall",))
    response = _ask_for_paper(service_client, _member(db, employer=southvale))
    assert response.status_code == 403
    assert "Southvale Council" in response.json()["detail"]
    assert db.scalar(select(ReplacementPaperRequest)) is None


def test_staff_see_the_replacement_requests_for_a_ballot(
    app_client: TestClient, db: Session, settings: Settings, today: date
) -> None:
    _open_ballot(db, today)
    member = _member(db)
    _ask_for_paper(app_client, member, headers=member_headers(settings, member))
    response = app_client.get(
        "/api/v1/ballots/IA-OPEN/replacement-requests",
        headers=staff_headers(settings, factories.staff(db)),
    )
    assert response.status_code == 200
    [row] = response.json()
    assert row["membership_number"] == member.membership_number
    assert row["address"] == "1 High Street, Leeds, LS1 4AB"
    assert row["member_name"] == "Alex Morgan"


def test_replacement_requests_are_staff_only(
    app_client: TestClient, db: Session, settings: Settings, today: date
) -> None:
    _open_ballot(db, today)
    member = _member(db)
    path = "/api/v1/ballots/IA-OPEN/replacement-requests"
    assert app_client.get(path, headers=member_headers(settings, member)).status_code == 403
    assert app_client.get(path).status_code == 401
