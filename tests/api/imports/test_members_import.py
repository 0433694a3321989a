"""Importing members.csv: validation, all-or-nothing, idempotence, history and arrears."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.employers.models import Employer, Workplace
from api.imports.bulk import ImportSummary
from api.imports.members_csv import import_members
from api.imports.reader import ImportFailed, normalise_email_cached
from api.members.models import EmploymentPeriod, Member, Status, StatusPeriod
from api.payments.arrears import arrears_for
from api.payments.models import Collection, CollectionStatus
from api.validation import normalise_email
from tests.api.imports.helpers import csv_text, member_row, members_csv

TODAY = date(2026, 11, 20)


def run_import(db: Session, data: bytes, *, batch_size: int = 1000) -> ImportSummary:
    """Import like the CLI does: commit on success, roll back on failure."""
    try:
        summary = import_members(
            db_session=db,
            stream=io.BytesIO(data),
            source_name="members.csv",
            today=TODAY,
            batch_size=batch_size,
        )
    except ImportFailed:
        db.rollback()
        raise
    db.commit()
    return summary


def failure(db: Session, data: bytes) -> str:
    with pytest.raises(ImportFailed) as caught:
        run_import(db, data)
    assert db.scalar(select(func.count(Member.id))) == 0
    return str(caught.value)


def count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_import_creates_members_with_normalised_values_and_history(db: Session) -> None:
    summary = run_import(
        db,
        members_csv(
            [
                member_row(1000001),
                member_row(
                    1000002,
                    first_name="Daniel",
                    last_name="Okafor",
                    status="grace",
                    workplace="St James's University Hospital",
                    arrears="24.50",
                ),
                member_row(
                    1000003, employer="", workplace="", category="retired", payment_method="none"
                ),
            ]
        ),
    )

    assert (summary.created, summary.updated, summary.unchanged) == (3, 0, 0)
    priya = db.scalar(select(Member).where(Member.membership_number == "1000001"))
    assert priya is not None
    assert priya.postcode == "LS1 4AB"
    assert priya.phone == "+447700900123"
    assert priya.email == "member1000001@example.org"
    assert priya.subscription_amount == Decimal("24.50")
    assert priya.marketing_consent is True
    assert (
        priya.employer is not None and priya.employer.name == "Leeds Teaching Hospitals NHS Trust"
    )
    assert priya.workplace is not None and priya.workplace.name == "Leeds General Infirmary"
    assert count(db, Employer) == 1
    assert count(db, Workplace) == 2
    history = db.scalars(select(StatusPeriod).where(StatusPeriod.member_id == priya.id)).all()
    assert [(h.status, h.effective_from) for h in history] == [(Status.active, date(2012, 9, 1))]
    jobs = db.scalars(select(EmploymentPeriod).where(EmploymentPeriod.member_id == priya.id)).all()
    assert [(j.employer_id, j.effective_from) for j in jobs] == [
        (priya.employer_id, date(2012, 9, 1))
    ]
    daniel = db.scalar(select(Member).where(Member.membership_number == "1000002"))
    assert daniel is not None and arrears_for(db_session=db, member=daniel) == Decimal("24.50")
    retired = db.scalar(select(Member).where(Member.membership_number == "1000003"))
    assert retired is not None and retired.employer_id is None
    audit = db.scalars(select(AuditEvent)).all()
    assert len(audit) == 1, "one audit event per import, not one per row"
    assert audit[0].actor == "system:import"
    assert "created=3" in (audit[0].detail or "")


def test_second_import_of_the_same_file_changes_nothing(db: Session) -> None:
    data = members_csv([member_row(1000001 + i) for i in range(5)])
    run_import(db, data)
    versions = dict(db.execute(select(Member.membership_number, Member.version)).all())
    before = (count(db, AuditEvent), count(db, StatusPeriod), count(db, EmploymentPeriod))

    summary = run_import(db, data)

    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 5)
    assert dict(db.execute(select(Member.membership_number, Member.version)).all()) == versions
    assert (count(db, AuditEvent), count(db, StatusPeriod), count(db, EmploymentPeriod)) == before


def test_changed_row_is_updated_with_history_effective_today(db: Session) -> None:
    run_import(db, members_csv([member_row(1000001), member_row(1000002)]))
    summary = run_import(
        db,
        members_csv(
            [
                member_row(
                    1000001,
                    status="lapsed",
                    employer="North Bristol NHS Trust",
                    workplace="Southmead Hospital",
                    town="Bristol",
                ),
                member_row(1000002),
            ]
        ),
    )

    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 1)
    db.expire_all()
    member = db.scalar(select(Member).where(Member.membership_number == "1000001"))
    assert member is not None
    assert member.version == 2
    assert member.status is Status.lapsed and member.town == "Bristol"
    assert member.employer is not None and member.employer.name == "North Bristol NHS Trust"
    statuses = db.execute(
        select(StatusPeriod.status, StatusPeriod.effective_from)
        .where(StatusPeriod.member_id == member.id)
        .order_by(StatusPeriod.effective_from)
    ).all()
    assert statuses == [(Status.active, date(2012, 9, 1)), (Status.lapsed, TODAY)]
    jobs = db.execute(
        select(EmploymentPeriod.employer_id, EmploymentPeriod.effective_from)
        .where(EmploymentPeriod.member_id == member.id)
        .order_by(EmploymentPeriod.effective_from)
    ).all()
    assert jobs[-1] == (member.employer_id, TODAY)
    assert count(db, AuditEvent) == 2


def test_a_change_of_address_only_adds_no_history(db: Session) -> None:
    run_import(db, members_csv([member_row(1000001)]))
    run_import(db, members_csv([member_row(1000001, address_line1="2 New Street")]))
    assert count(db, StatusPeriod) == 1
    assert count(db, EmploymentPeriod) == 1


def test_imported_arrears_equal_exported_arrears_despite_failed_collections(db: Session) -> None:
    run_import(db, members_csv([member_row(1000001)]))
    member = db.scalar(select(Member).where(Member.membership_number == "1000001"))
    assert member is not None
    db.add(
        Collection(
            member_id=member.id,
            due_on=date(2026, 10, 15),
            amount=Decimal("10.00"),
            method="direct_debit",
            status=CollectionStatus.failed,
            failure_code="0",
        )
    )
    db.commit()

    summary = run_import(db, members_csv([member_row(1000001, arrears="30.00")]))
    assert summary.updated == 1
    db.expire_all()
    assert member.arrears_brought_forward == Decimal("20.00")
    assert arrears_for(db_session=db, member=member) == Decimal("30.00")
    again = run_import(db, members_csv([member_row(1000001, arrears="30.00")]))
    assert again.unchanged == 1


def test_a_bad_row_at_line_1500_writes_nothing(db: Session) -> None:
    rows = [member_row(1000001 + i) for i in range(1600)]
    rows[1498] = member_row(1000001 + 1498, postcode="12345")  # line 1500 (header is 1)

    message = failure(db, members_csv(rows))

    assert message.startswith("line 1500: postcode:")
    assert count(db, Employer) == 0
    assert count(db, AuditEvent) == 0


def test_latin1_file_is_refused_naming_the_line(db: Session) -> None:
    text = csv_text([member_row(1000001), member_row(1000002, first_name="Zoë")])
    message = failure(db, text.encode("latin-1"))
    assert message.startswith("line 3:")
    assert "UTF-8" in message


def test_utf16_file_is_refused(db: Session) -> None:
    message = failure(db, csv_text([member_row()]).encode("utf-16"))
    assert "UTF-16" in message and message.startswith("line 1")


def test_utf8_bom_is_accepted(db: Session) -> None:
    summary = run_import(db, b"\xef\xbb\xbf" + members_csv([member_row(1000001, first_name="Zoë")]))
    assert summary.created == 1
    assert db.scalar(select(Member.first_name)) == "Zoë"


def test_missing_columns_are_listed(db: Session) -> None:
    rows = [{k: v for k, v in member_row().items() if k not in ("postcode", "town")}]
    text = csv_text(rows, [c for c in member_row() if c not in ("postcode", "town")])
    message = failure(db, text.encode())
    assert message == "line 1: missing columns: town, postcode"


def test_unknown_extra_column_is_refused(db: Session) -> None:
    row = {**member_row(), "ni_number": "QQ123456C"}
    message = failure(db, csv_text([row], list(row)).encode())
    assert message == "line 1: unknown columns: 'ni_number'"


def test_duplicate_membership_number_names_both_lines(db: Session) -> None:
    rows = [
        member_row(1000001),
        member_row(1000002),
        member_row(1000003),
        member_row("100 0002", email="again@example.org"),
    ]
    message = failure(db, members_csv(rows))
    assert message == "line 5: membership_number: membership number 1000002 is also on line 3"


def test_huge_field_gives_a_clean_error(db: Session) -> None:
    message = failure(
        db, members_csv([member_row(1000001), member_row(1000002, job_title="x" * 10_000_000)])
    )
    assert message.startswith("line 3:")
    assert "longer than" in message
    assert len(message) < 200


def test_long_value_names_its_column(db: Session) -> None:
    message = failure(db, members_csv([member_row(1000001, first_name="x" * 101)]))
    assert message == "line 2: first_name: is longer than 100 characters"


def test_empty_file_is_refused(db: Session) -> None:
    assert "empty" in failure(db, b"")


def test_header_only_imports_nothing(db: Session) -> None:
    summary = run_import(db, members_csv([]))
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 0)
    assert count(db, AuditEvent) == 0


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        (
            "membership_number",
            "12345",
            "line 2: membership_number: A membership number is seven digits",
        ),
        ("date_of_birth", "14/03/1985", "line 2: date_of_birth: must be a date written YYYY-MM-DD"),
        ("joined_on", "2012-02-30", "line 2: joined_on: is not a real date (YYYY-MM-DD)"),
        (
            "status",
            "suspended",
            "line 2: status: must be one of applicant, active, grace, lapsed, resigned, deceased",
        ),
        (
            "subscription_amount",
            "24.505",
            "line 2: subscription_amount: must be an amount in pounds",
        ),
        ("arrears", "-5.00", "line 2: arrears: must be an amount in pounds"),
        ("marketing_consent", "maybe", "line 2: marketing_consent: must be yes or no"),
        ("email", "not-an-email", "line 2: email: That doesn't look like an email address"),
        ("phone", "12345", "line 2: phone: That doesn't look like a whole phone number"),
        ("last_name", "", "line 2: last_name: is required"),
        ("first_name", "Pri\x07ya", "line 2: first_name: contains control characters"),
    ],
)
def test_each_bad_value_names_line_and_column(
    db: Session, column: str, value: str, expected: str
) -> None:
    assert failure(db, members_csv([member_row(1000001, **{column: value})])).startswith(expected)


def test_wrong_number_of_values_is_refused(db: Session) -> None:
    text = csv_text([member_row()]) + "1000002,Ms,Too,Short\r\n"
    assert failure(db, text.encode()) == "line 3: expected 24 values, found 4"


def test_quoted_field_with_a_newline_keeps_later_line_numbers_right(db: Session) -> None:
    rows = [
        member_row(1000001, address_line2="Flat 2\nThe Old Mill"),
        member_row(1000002, postcode="x"),
    ]
    assert failure(db, members_csv(rows)).startswith("line 4: postcode:")


@pytest.mark.parametrize(
    "address",
    [
        "a.b@example.org",
        "A.B@Example.ORG",
        "Postmaster@example.org",
        "x@localhost",
        "x@example",
        "x..y@example.org",
        "zoë@example.org",
        "x@[127.0.0.1]",
        "a+b@sub.example.co.uk",
        "a@-bad.org",
        "x" * 65 + "@example.org",
        "a@example.invalid",
    ],
)
def test_cached_email_check_agrees_with_the_shared_validator(address: str) -> None:
    def outcome(check):  # type: ignore[no-untyped-def]
        try:
            return check(address, field="email")
        except Exception as exc:  # noqa: BLE001 - comparing which inputs fail, whatever the error
            return type(exc).__name__

    assert outcome(normalise_email_cached) == outcome(normalise_email)
