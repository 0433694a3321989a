"""Bad input to the records API: a property-based run over its whole OpenAPI schema.

Schemathesis generates requests for every operation from the schema: values at and past each
limit, odd Unicode, NUL bytes, wrong types, missing fields. Each generated request is sent as
every kind of caller (nobody, a member, a data-team user, the service), and a member's own
routes also with the member's own number, so the run reaches the code behind the doors as
well as the doors themselves. No answer may be a 5xx: bad input gets a clear 4xx.

The run is derandomised (the same examples every time) and bounded (MAX_EXAMPLES per
operation), so it is a regression test, not a search; `bench/` is where a longer search would go.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.config import Settings
from api.main import create_app
from api.payments.models import Mandate
from api.staff.models import Role
from tests.api import factories
from tests.api.conftest import SERVICE_TOKEN, member_headers, real_app_client, staff_headers

MAX_EXAMPLES = 12


@pytest.fixture
def callers(db: Session, settings: Settings) -> dict[str, dict[str, str]]:
    member = factories.member(db, membership_number="1000001")
    admin = factories.staff(db, "ada.admin", Role.admin)
    return {
        "nobody": {},
        "member": member_headers(settings, member),
        "admin": staff_headers(settings, admin),
        "service": {"Authorization": f"Bearer {SERVICE_TOKEN}"},
    }


@pytest.fixture
def app(engine: Engine, db: Session, settings: Settings) -> Iterator[object]:
    """The real app on the test database (of each kind), with the test settings."""
    with real_app_client(engine, settings) as client:
        yield client.app


# The schema the app publishes; the requests go to the `app` fixture's copy.
schema = schemathesis.openapi.from_dict(create_app().openapi())


@schema.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error(  # type: ignore[no-untyped-def]
    case, app: object, callers: dict[str, dict[str, str]]
) -> None:
    for who, headers in callers.items():
        _no_server_error(case, app, who, headers)
    if "membership_number" in (case.path_parameters or {}):
        # The member's own number: past the ownership check, into the route itself.
        case.path_parameters["membership_number"] = "1000001"
        _no_server_error(case, app, "member (own record)", callers["member"])


def _no_server_error(case, app: object, who: str, headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    response = case.call(app=app, headers={**(case.headers or {}), **headers})
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} as {who} answered {response.status_code}: "
        f"{response.text[:300]}\n{case.as_curl_command()}"
    )


@pytest.mark.parametrize("address", [
    "/api/v1/cases?conversation_id=%00",
    "/api/v1/members/1000001%00",
    "/api/v1/members?email=a%1B@example.org",
])
def test_an_address_with_a_control_character_is_refused_clearly(
    app_client, address: str  # type: ignore[no-untyped-def]
) -> None:
    response = app_client.get(address, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
    assert response.status_code == 422
    assert response.json()["field"] == "url"


def test_a_nul_in_a_body_is_refused_clearly_once_the_caller_is_known(
    app_client, db: Session, settings: Settings  # type: ignore[no-untyped-def]
) -> None:
    service = {"Authorization": f"Bearer {SERVICE_TOKEN}", "Content-Type": "application/json"}
    # JSON's escape for NUL, and a JSON string holding a backslash typed before "u0000".
    nul = rb'{"membership_number": "\u0000", "date_of_birth": "", "postcode": ""}'
    literal_text = rb'{"membership_number": "\\u0000", "date_of_birth": "", "postcode": ""}'

    refused = app_client.post("/api/v1/identity/check", content=nul, headers=service)
    assert refused.status_code == 422 and refused.json()["field"] == "membership_number"
    # Without a valid caller the body is not looked at: the door answers first.
    unsigned = app_client.post("/api/v1/identity/check", content=nul,
                               headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    # A backslash typed before "u0000" is text, not a NUL: it goes through to the check, which
    # matches no member with it.
    literal = app_client.post("/api/v1/identity/check", content=literal_text, headers=service)
    assert literal.status_code == 401
    assert literal.json()["detail"] == "We couldn't match those details to a membership."


def test_a_nul_in_a_form_is_refused_naming_the_field(
    app_client, db: Session, settings: Settings  # type: ignore[no-untyped-def]
) -> None:
    member = factories.member(db)
    token = factories.payment_link_token(db, settings, member)
    response = app_client.post(
        f"/pay/{token}", content=b"account_holder=Priya%00Shah&sort_code=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "account_holder"
    assert db.scalars(select(Mandate)).all() == []
