"""Every route that stores a member's details refuses hurried bad values with a clear 422.

The message is the member-readable `detail`, the `field` names what to ask again, and the
record is left as it was.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.changes.models import ChangeRequest
from api.members.models import Member
from tests.api import factories

ADDRESS = {"address_line1": "22 Acacia Avenue", "town": "Bristol", "postcode": "bs14jq"}
CONTACT = {"email": "sam@example.org", "phone": "07700 900999"}
EMPLOYMENT = {"employer": "Northshire NHS Trust", "workplace": "General Hospital"}
APPLICATION = {
    "first_name": "Robin", "last_name": "Okafor", "date_of_birth": "1994-08-21",
    "address_line1": "22 Canal Street", "town": "Leeds", "postcode": "ls11 5ab",
    "email": "robin@example.org", "phone": "0113 496 0000", "employer": "Northshire NHS Trust",
    "workplace": "General Hospital",
}
ZERO_WIDTH = "Sa\u200bm"
BIDI = "Sam\u202eroyalT"

# route, body, field, what the member typed, and what the answer says.
CASES = [
    ("address", ADDRESS, "town", "yes", "a town or city"),
    ("address", ADDRESS, "town", "cancel", "a town or city"),
    ("address", ADDRESS, "address_line1", "no", "the first line of an address"),
    ("address", ADDRESS, "address_line1", "22 Acacia\u2066 Avenue", "invisible"),
    ("address", ADDRESS, "address_line2", "help", "a line of an address"),
    ("address", ADDRESS, "postcode", "bs1", "full UK postcode"),
    ("contact", CONTACT, "phone", "0770090", "whole phone number"),
    ("contact", CONTACT, "email", "bob@", "email address (for example"),
    ("employment", EMPLOYMENT, "employer", "yes", "an employer's name"),
    ("employment", EMPLOYMENT, "workplace", "General\u200d Hospital", "invisible"),
    ("personal-details", {"first_name": "Sam"}, "first_name", ZERO_WIDTH, "invisible"),
    ("personal-details", {"last_name": "Taylor"}, "last_name", BIDI, "invisible"),
    ("personal-details", {"last_name": "Taylor"}, "last_name", "Tay\nlor", "one line"),
]


@pytest.mark.parametrize(("route", "body", "field", "typed", "says"), CASES)
def test_a_change_with_a_hurried_bad_value_is_a_422_naming_the_field(
    service_client: TestClient, db: Session, route: str, body: dict[str, str], field: str,
    typed: str, says: str,
) -> None:
    factories.employer(db, "Northshire NHS Trust", ("General Hospital",))
    member = factories.member(db)
    method = service_client.post if route == "personal-details" else service_client.put

    response = method(
        f"/api/v1/members/{member.membership_number}/{route}", json={**body, field: typed}
    )

    assert response.status_code == 422, response.text
    refused = response.json()
    assert refused["field"] == field
    assert says in refused["detail"]
    assert typed not in refused["detail"]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(ChangeRequest)) == 0
    assert db.get(Member, member.id).version == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(("field", "typed", "says"), [case[2:] for case in CASES[:9]] + [
    ("first_name", ZERO_WIDTH, "invisible"), ("employer", "no", "an employer's name"),
])
def test_an_application_with_a_hurried_bad_value_is_a_422_naming_the_field(
    service_client: TestClient, db: Session, field: str, typed: str, says: str
) -> None:
    response = service_client.post("/api/v1/applications", json={**APPLICATION, field: typed})

    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert says in response.json()["detail"]
    assert db.scalar(select(func.count()).select_from(Member)) == 0


def test_what_a_member_types_is_stored_normalised(service_client: TestClient, db: Session) -> None:
    member = factories.member(db)
    path = f"/api/v1/members/{member.membership_number}"

    address = service_client.put(f"{path}/address", json=ADDRESS)
    contact = service_client.put(f"{path}/contact", json=CONTACT)

    assert address.status_code == 200 and contact.status_code == 200, contact.text
    db.expire_all()
    stored = db.get(Member, member.id)
    assert stored is not None
    assert (stored.postcode, stored.phone) == ("BS1 4JQ", "+447700900999")
    assert contact.json()["member"]["phone"] == "+447700900999"
