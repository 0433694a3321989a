"""The employers list and the match route the assistant uses before changing employment."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.config import Settings
from tests.api import factories
from tests.api.conftest import member_headers


def _employers(db: Session) -> None:
    factories.employer(db, "Northshire NHS Trust", ("General Hospital", "St James's Hospital"))
    factories.employer(db, "Leeds City Council", ("Civic Hall",))
    db.commit()


def test_any_signed_in_caller_lists_employers_with_workplaces(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    _employers(db)
    member = factories.member(db)

    response = app_client.get("/api/v1/employers", headers=member_headers(settings, member))

    assert response.status_code == 200
    assert response.json() == [
        {"name": "Leeds City Council", "workplaces": ["Civic Hall"]},
        {"name": "Northshire NHS Trust", "workplaces": ["General Hospital", "St James's Hospital"]},
    ]
    assert app_client.get("/api/v1/employers").status_code == 401


def test_match_forgives_a_misspelt_workplace(service_client: TestClient, db: Session) -> None:
    _employers(db)

    response = service_client.get(
        "/api/v1/employers/match",
        params={"employer": "northshire nhs", "workplace": "st james hosp"},
    )

    assert response.status_code == 200
    assert response.json() == {
        "status": "likely",
        "employer": "Northshire NHS Trust",
        "workplace": "St James's Hospital",
        "choices": [],
    }


def test_match_says_none_for_an_employer_we_do_not_have(
    service_client: TestClient, db: Session
) -> None:
    _employers(db)

    response = service_client.get("/api/v1/employers/match", params={"employer": "Tesco"})

    assert response.json()["status"] == "none"


def test_match_needs_something_to_match(app_client: TestClient, service_client: TestClient) -> None:
    empty = service_client.get("/api/v1/employers/match")
    overlong = service_client.get("/api/v1/employers/match", params={"employer": "x" * 201})

    assert (empty.status_code, empty.json()["field"]) == (422, "employer")
    assert (overlong.status_code, overlong.json()["field"]) == (422, "query.employer")
