"""Export writes the import format: export, re-import and export again is a no-op round trip."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.imports.ballots_csv import import_ballots
from api.imports.export import export_ballots, export_members
from api.imports.members_csv import import_members
from api.members.models import Member
from api.payments.models import Collection, CollectionStatus
from tests.api.imports.helpers import ballot_row, ballots_csv, member_row, members_csv


def exported_members(db: Session) -> str:
    out = io.StringIO(newline="")
    export_members(db_session=db, out=out)
    return out.getvalue()


def test_members_round_trip(db: Session) -> None:
    rows = [
        member_row(1000001, address_line2='Flat 2, "The Old Mill"\nMill Lane', arrears="12.5"),
        member_row(
            1000002,
            email="",
            phone="",
            title="",
            renewal_date="2027-01-01",
            payment_frequency="annual",
            marketing_consent="no",
        ),
        member_row(1000003, employer="", workplace="", category="retired", payment_method="none"),
    ]
    import_members(db_session=db, stream=io.BytesIO(members_csv(rows)), source_name="in.csv")
    db.commit()
    member = db.scalar(select(Member).where(Member.membership_number == "1000002"))
    assert member is not None
    db.add(
        Collection(
            member_id=member.id,
            due_on=date(2026, 10, 1),
            amount=Decimal("24.50"),
            method="direct_debit",
            status=CollectionStatus.failed,
            failure_code="0",
        )
    )
    db.commit()

    first = exported_members(db)
    summary = import_members(
        db_session=db, stream=io.BytesIO(first.encode()), source_name="out.csv"
    )
    db.commit()
    second = exported_members(db)

    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 3)
    assert first == second
    lines = first.split("\r\n")
    assert lines[0].startswith("membership_number,title,first_name")
    assert ",LS1 4AB," in lines[1] and ",+447700900123," in lines[1] and ",12.50," in lines[1]
    # The failed collection shows in the exported arrears.
    assert any(line.startswith("1000002,") and ",24.50,24.50," in line for line in lines)


def test_ballots_round_trip(db: Session) -> None:
    import_ballots(
        db_session=db,
        stream=io.BytesIO(ballots_csv([ballot_row("IA-1"), ballot_row("IA-2")])),
        source_name="in.csv",
    )
    db.commit()
    first = io.StringIO(newline="")
    export_ballots(db_session=db, out=first)
    summary = import_ballots(
        db_session=db, stream=io.BytesIO(first.getvalue().encode()), source_name="out.csv"
    )
    db.commit()
    second = io.StringIO(newline="")
    export_ballots(db_session=db, out=second)

    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 2)
    assert first.getvalue() == second.getvalue()
    assert "IA-1,Junior doctors' pay" in first.getvalue()
