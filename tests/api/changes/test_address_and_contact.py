"""Address and contact changes: applied at once, validated, audited, and version-checked."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.changes.models import ChangeRequest, IdentityLevel
from api.config import Settings
from api.members.models import Member
from api.staff.models import Role
from tests.api import factories
from tests.api.conftest import member_headers, staff_headers

NEW_ADDRESS = {"address_line1": "22 Acacia Avenue", "town": "York", "postcode": "yo1 7hh"}


def _reloaded(db: Session, member: Member) -> Member:
    db.expire_all()
    found = db.get(Member, member.id)
    assert found is not None
    return found


def test_a_member_moves_house(app_client: TestClient, db: Session, settings: Settings) -> None:
    member = factories.member(db)

    response = app_client.put(
        f"/api/v1/members/{member.membership_number}/address",
        json={**NEW_ADDRESS, "version": 1},
        headers={**member_headers(settings, member), "X-Memberdesk-Channel": "webchat"},
    )

    assert response.status_code == 200
    outcome = response.json()
    assert outcome["status"] == "applied"
    assert outcome["reference"].startswith("CR-")
    assert outcome["reference"] in outcome["message"]
    assert outcome["member"]["postcode"] == "YO1 7HH"
    assert outcome["member"]["version"] == 2
    stored = _reloaded(db, member)
    assert (stored.address_line1, stored.town, stored.postcode) == (
        "22 Acacia Avenue",
        "York",
        "YO1 7HH",
    )
    change = db.scalar(select(ChangeRequest).where(ChangeRequest.reference == outcome["reference"]))
    assert change is not None
    assert change.identity_level == IdentityLevel.identity_checked
    assert change.requested_by == f"member:{member.membership_number}"
    assert change.channel == "webchat"
    assert "LS1 4AB" in (change.old_value or "") and "YO1 7HH" in (change.new_value or "")


def test_the_audit_log_names_address_fields_but_never_holds_the_address(
    service_client: TestClient, db: Session
) -> None:
    member = factories.member(db)

    service_client.put(f"/api/v1/members/{member.membership_number}/address", json=NEW_ADDRESS)

    events = db.scalars(select(AuditEvent).where(AuditEvent.member_id == member.id)).all()
    assert [e.action for e in events] == ["address_changed"]
    assert events[0].fields == "address_line1,address_line2,postcode,town"
    assert events[0].actor == f"member:{member.membership_number}"
    logged = " ".join(f"{e.fields} {e.detail}" for e in events)
    assert "Acacia" not in logged and "YO1" not in logged and "York" not in logged


def test_how_sure_we_were_of_the_member_comes_from_the_caller(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)
    agent = factories.staff(db, "jo.agent", Role.agent)
    path = f"/api/v1/members/{member.membership_number}/address"

    # A member's token says how they proved it, whatever the body claims.
    app_client.put(path, json={**NEW_ADDRESS, "identity_level": "signed_in"},
                   headers=member_headers(settings, member))
    app_client.put(path, json={**NEW_ADDRESS, "identity_level": "none"},
                   headers=member_headers(settings, member, identity_level="signed_in"))
    # Staff cannot pass themselves off as anything but staff.
    app_client.put(
        path, json={**NEW_ADDRESS, "identity_level": "none"}, headers=staff_headers(settings, agent)
    )
    # The shared service token reaches no member's record at all.
    forged = app_client.put(path, json={**NEW_ADDRESS, "identity_level": "identity_checked"},
                            headers={"Authorization": f"Bearer {settings.service_token}"})
    assert forged.status_code == 403

    levels = db.scalars(select(ChangeRequest.identity_level).order_by(ChangeRequest.id)).all()
    assert levels == [IdentityLevel.identity_checked, IdentityLevel.signed_in, IdentityLevel.staff]


def test_a_member_cannot_change_another_members_address(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    me, someone_else = factories.member(db), factories.member(db)

    response = app_client.put(
        f"/api/v1/members/{someone_else.membership_number}/address",
        json=NEW_ADDRESS,
        headers=member_headers(settings, me),
    )

    assert response.status_code == 404
    assert _reloaded(db, someone_else).postcode == "LS1 4AB"
    assert db.scalars(select(ChangeRequest)).all() == []


def test_an_anonymous_caller_cannot_change_an_address(app_client: TestClient, db: Session) -> None:
    member = factories.member(db)

    response = app_client.put(
        f"/api/v1/members/{member.membership_number}/address", json=NEW_ADDRESS
    )

    assert response.status_code == 401


def _refused(client: TestClient, member: Member, path: str, body: dict[str, object]) -> str:
    response = client.put(f"/api/v1/members/{member.membership_number}/{path}", json=body)
    assert response.status_code == 422, response.text
    assert "Traceback" not in response.text
    return str(response.json()["field"])


def test_bad_addresses_are_refused_naming_the_field_and_nothing_changes(
    service_client: TestClient, db: Session
) -> None:
    member = factories.member(db)

    assert (
        _refused(service_client, member, "address", {**NEW_ADDRESS, "postcode": "not a postcode"})
        == "postcode"
    )
    assert (
        _refused(service_client, member, "address", {**NEW_ADDRESS, "address_line1": "x" * 201})
        == "address_line1"
    )
    assert _refused(service_client, member, "address", {**NEW_ADDRESS, "town": "   "}) == "town"
    assert (
        _refused(service_client, member, "address", {**NEW_ADDRESS, "address_line2": "Flat\x001"})
        == "address_line2"
    )
    # A misspelt field is refused rather than dropped, so nothing the member said is lost.
    assert (
        _refused(service_client, member, "address", {**NEW_ADDRESS, "adress_line2": "Flat 1"})
        == "adress_line2"
    )
    stored = _reloaded(db, member)
    assert (stored.postcode, stored.version) == ("LS1 4AB", 1)
    assert db.scalars(select(ChangeRequest)).all() == []


def test_a_stale_version_is_refused_and_the_newer_record_kept(
    service_client: TestClient, db: Session
) -> None:
    member = factories.member(db)
    path = f"/api/v1/members/{member.membership_number}/address"
    assert service_client.put(path, json={**NEW_ADDRESS, "version": 1}).status_code == 200

    stale = service_client.put(path, json={**NEW_ADDRESS, "postcode": "M1 1AE", "version": 1})

    assert stale.status_code == 409
    assert stale.json()["field"] == "version"
    assert _reloaded(db, member).postcode == "YO1 7HH"


def test_a_member_changes_email_and_phone(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    member = factories.member(db)

    response = app_client.put(
        f"/api/v1/members/{member.membership_number}/contact",
        json={"email": "  Alex.New@Example.ORG ", "phone": "+44 7700 900456"},
        headers=member_headers(settings, member),
    )

    assert response.status_code == 200
    assert response.json()["status"] == "applied"
    assert response.json()["member"]["email"] == "Alex.New@example.org"
    assert response.json()["member"]["phone"] == "+447700900456"
    event = db.scalar(select(AuditEvent).where(AuditEvent.member_id == member.id))
    assert event is not None and event.fields == "email,phone"
    assert "Alex.New" not in (event.detail or "")


def test_changing_only_the_phone_keeps_the_email(service_client: TestClient, db: Session) -> None:
    member = factories.member(db, email="keep@example.org")

    response = service_client.put(
        f"/api/v1/members/{member.membership_number}/contact", json={"phone": "0113 496 0000"}
    )

    assert response.json()["member"]["email"] == "keep@example.org"
    assert response.json()["member"]["phone"] == "+441134960000"


def test_bad_contact_details_are_refused_naming_the_field(
    service_client: TestClient, db: Session
) -> None:
    member = factories.member(db)

    assert _refused(service_client, member, "contact", {"email": "alex at example"}) == "email"
    assert _refused(service_client, member, "contact", {"phone": "12345"}) == "phone"
    assert (
        _refused(service_client, member, "contact", {"email": "a" * 250 + "@example.org"})
        == "email"
    )
    assert _refused(service_client, member, "contact", {}) == "email"
    assert _reloaded(db, member).email == "alex.morgan@example.org"


def test_a_member_cannot_change_another_members_contact_details(
    app_client: TestClient, db: Session, settings: Settings
) -> None:
    me, someone_else = factories.member(db), factories.member(db)

    response = app_client.put(
        f"/api/v1/members/{someone_else.membership_number}/contact",
        json={"email": "hijack@example.org"},
        headers=member_headers(settings, me),
    )

    assert response.status_code == 404
    assert _reloaded(db, someone_else).email == "alex.morgan@example.org"
