"""The independent scrutineer's exports: the constituency as at the register date, and the
replacement-paper requests. Every export is audited."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.ballots import service as ballots
from api.members.models import EmploymentPeriod, Member, Status, StatusPeriod
from api.staff.models import StaffUser
from api.timekeeping import today
from tests.api import factories
from tests.api.console.conftest import sign_in

REGISTER = date(2026, 10, 1)


def _world(db: Session) -> tuple[object, dict[str, Member]]:
    nhs = factories.employer(db, "Northshire NHS Trust", ("General Hospital",))
    council = factories.employer(db, "Leeds City Council", ("Civic Hall",))
    ballot = factories.ballot(db, employers=[nhs], register_date=REGISTER,
                              opens_on=today() - timedelta(days=2),
                              closes_on=today() + timedelta(days=20))
    people = {
        "in": factories.member(db, first_name="Ina", last_name="Voter", address_line1="1 Elm Rd"),
        "council": factories.member(db, first_name="Col", last_name="Council", employer=council),
        "late_joiner": factories.member(db, first_name="Lee", last_name="Late",
                                        joined_on=REGISTER + timedelta(days=5)),
        "grace": factories.member(db, first_name="Gia", last_name="Grace", status=Status.grace),
    }
    # Moved to the council after the register date: still balloted at the Trust.
    moved = factories.member(db, first_name="Mo", last_name="Moved")
    db.add(EmploymentPeriod(member_id=moved.id, employer_id=council.id,
                            workplace_id=council.workplaces[0].id,
                            effective_from=REGISTER + timedelta(days=3)))
    moved.employer, moved.workplace = council, council.workplaces[0]
    # Lapsed before the register date, active again since: not balloted.
    relapsed = factories.member(db, first_name="Rae", last_name="Lapsed")
    db.add(StatusPeriod(member_id=relapsed.id, status=Status.lapsed,
                        effective_from=REGISTER - timedelta(days=30)))
    db.add(StatusPeriod(member_id=relapsed.id, status=Status.active,
                        effective_from=REGISTER + timedelta(days=1)))
    db.commit()
    people["moved"], people["relapsed"] = moved, relapsed
    return ballot, people


def test_the_constituency_is_taken_as_at_the_register_date(db: Session) -> None:
    ballot, people = _world(db)

    voters = ballots.constituency(db_session=db, ballot=ballot)

    names = [v.member.first_name for v in voters]
    assert names == ["Gia", "Mo", "Ina"]  # by surname: Grace, Moved, Voter
    assert {v.employer.name for v in voters} == {"Northshire NHS Trust"}
    # The same answer as each member's own eligibility check gives.
    for member in people.values():
        verdict = ballots.eligibility(db_session=db, member=member, ballot=ballot, today=today())
        assert verdict.eligible == (member.first_name in names), member.first_name


def test_the_exports_carry_addresses_and_are_audited(
    console: TestClient, db: Session, data_user: StaffUser
) -> None:
    ballot, people = _world(db)
    paper = ballots.request_replacement_paper(
        db_session=db, member=people["in"], ballot=ballot, today=today(),
        actor="service:assistant", channel="webchat",
    )
    sign_in(console, "dana.data")
    assert ballot.ballot_code in console.get("/console/ballots").text

    roll = console.get(f"/console/ballots/{ballot.ballot_code}/constituency.csv")
    papers = console.get(f"/console/ballots/{ballot.ballot_code}/replacement-papers.csv")

    assert roll.status_code == papers.status_code == 200
    assert "attachment" in roll.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(roll.text)))
    assert [r["last_name"] for r in rows] == ["Grace", "Moved", "Voter"]
    ina = rows[-1]
    assert (ina["address_line1"], ina["postcode"], ina["employer"], ina["workplace"]) == (
        "1 Elm Rd", "LS1 4AB", "Northshire NHS Trust", "General Hospital")
    [request] = list(csv.DictReader(io.StringIO(papers.text)))
    assert (request["reference"], request["membership_number"], request["status"]) == (
        paper.reference, people["in"].membership_number, "pending")
    assert request["address"] == "1 Elm Rd, Leeds, LS1 4AB"
    audited = db.scalars(select(AuditEvent).where(AuditEvent.action.like("ballot.%_exported"))
                         .order_by(AuditEvent.id)).all()
    assert [(a.action, a.actor, a.detail) for a in audited] == [
        ("ballot.constituency_exported", "staff:dana.data", f"{ballot.ballot_code} rows=3"),
        ("ballot.replacement_requests_exported", "staff:dana.data",
         f"{ballot.ballot_code} rows=1"),
    ]
    assert console.get("/console/ballots/NO-SUCH/constituency.csv").status_code == 404
