"""The `memberdesk` command line, run as an operator would, against the test databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.ballots.models import Ballot
from api.cli import cli
from api.config import get_settings
from api.members.models import Member, PaymentMethod, Status
from api.payments.arrears import arrears_for
from api.payments.models import Collection, CollectionStatus, Mandate
from api.security import verify_password
from api.staff.models import Role, StaffUser
from api.subscriptions.models import SubscriptionRate
from tests.api.imports.helpers import ballot_row, ballots_csv, member_row, members_csv


@pytest.fixture
def memberdesk(engine: Engine, db: Session) -> Iterator:
    """Run `memberdesk ARGS...` with MEMBERDESK_DATABASE_URL pointing at the test database."""
    url = engine.url.render_as_string(hide_password=False)
    get_settings.cache_clear()

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
        get_settings.cache_clear()
        result = CliRunner().invoke(
            cli,
            list(args),
            input=input,
            env={
                "MEMBERDESK_DATABASE_URL": url,
                "MEMBERDESK_ENV": "test",
                "MEMBERDESK_STAFF_PASSWORD": None,
                **(env or {}),
            },  # type: ignore[dict-item]
        )
        db.rollback()  # see what the command committed
        return result

    yield run
    get_settings.cache_clear()


def test_import_members_prints_a_summary_and_is_idempotent(
    memberdesk, db: Session, tmp_path: Path
) -> None:
    path = tmp_path / "members.csv"
    path.write_bytes(members_csv([member_row(1000001), member_row(1000002)]))

    first = memberdesk("import", "members", str(path))
    second = memberdesk("import", "members", str(path))

    assert first.exit_code == 0, first.output
    assert "members: 2 created, 0 updated, 0 unchanged" in first.output
    assert second.exit_code == 0
    assert "members: 0 created, 0 updated, 2 unchanged" in second.output
    assert db.scalar(select(func.count(Member.id))) == 2
    assert db.scalar(select(func.count(AuditEvent.id))) == 1


def test_failed_import_exits_1_names_the_line_and_writes_nothing(
    memberdesk, db: Session, tmp_path: Path
) -> None:
    rows = [member_row(1000001 + i) for i in range(1600)]
    rows[1498] = member_row(1000001 + 1498, postcode="12345")
    path = tmp_path / "members.csv"
    path.write_bytes(members_csv(rows))

    result = memberdesk("import", "members", str(path))

    assert result.exit_code == 1
    refused = "members.csv: line 1500: postcode: That doesn't look like a full UK postcode"
    assert refused in result.output
    assert "Nothing was imported" in result.output
    assert "Traceback" not in result.output
    assert db.scalar(select(func.count(Member.id))) == 0


def test_export_then_import_is_a_byte_identical_round_trip(memberdesk, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(members_csv([member_row(1000001), member_row(1000002, status="grace")]))
    assert memberdesk("import", "members", str(source)).exit_code == 0
    ballots = tmp_path / "ballots.csv"
    ballots.write_bytes(ballots_csv([ballot_row()]))
    assert memberdesk("import", "ballots", str(ballots)).exit_code == 0

    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    exported = memberdesk("export", "members", str(first))
    reimported = memberdesk("import", "members", str(first))
    memberdesk("export", "members", str(second))
    ballots_out = tmp_path / "ballots-out.csv"
    ballots_exported = memberdesk("export", "ballots", str(ballots_out))

    assert "members: 2 exported" in exported.output
    assert "members: 0 created, 0 updated, 2 unchanged" in reimported.output
    assert first.read_bytes() == second.read_bytes()
    assert ballots_exported.exit_code == 0
    assert "IA-2026-JD" in ballots_out.read_text()
    assert not list(tmp_path.glob("*.partial"))


def test_unknown_file_and_missing_schema_give_clear_errors(memberdesk, tmp_path: Path) -> None:
    missing = memberdesk("import", "members", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2
    assert "does not exist" in missing.output

    blank = tmp_path / "blank.db"
    no_tables = memberdesk(
        "export",
        "members",
        str(tmp_path / "out.csv"),
        env={"MEMBERDESK_DATABASE_URL": f"sqlite:///{blank}"},
    )
    assert no_tables.exit_code == 1
    assert "run `memberdesk db upgrade` first" in no_tables.output
    assert "Traceback" not in no_tables.output


def test_seed_builds_the_demo_organisation_and_refuses_to_run_twice(
    memberdesk, db: Session
) -> None:
    result = memberdesk("seed", "--members", "300")

    assert result.exit_code == 0, result.output
    for number in ("1000001", "1000002", "1000003", "1000004", "1000005"):
        assert number in result.output
    assert "memberdesk-demo-password" in result.output
    assert db.scalar(select(func.count(Member.id))) == 300
    priya = db.scalar(select(Member).where(Member.membership_number == "1000001"))
    assert priya is not None
    assert (priya.first_name, priya.last_name, priya.postcode) == ("Priya", "Shah", "LS1 4AB")
    assert priya.status is Status.active and priya.payment_method is PaymentMethod.direct_debit
    open_ballot = db.scalar(
        select(Ballot)
        .where(Ballot.closes_on > Ballot.register_date)
        .order_by(Ballot.closes_on.desc())
    )
    assert open_ballot is not None
    assert priya.employer_id in {e.id for e in open_ballot.employers}
    tom = db.scalar(select(Member).where(Member.membership_number == "1000004"))
    assert tom is not None and tom.employer_id not in {e.id for e in open_ballot.employers}
    daniel = db.scalar(select(Member).where(Member.membership_number == "1000002"))
    assert daniel is not None
    failed = db.scalars(
        select(Collection).where(
            Collection.member_id == daniel.id, Collection.status == CollectionStatus.failed
        )
    ).all()
    assert [c.failure_code for c in failed] == ["0"]
    assert arrears_for(db_session=db, member=daniel) > 0
    sam = db.scalar(select(Member).where(Member.membership_number == "1000005"))
    assert sam is not None and sam.payment_method is PaymentMethod.payroll
    assert (
        db.scalar(select(Member.status).where(Member.membership_number == "1000003"))
        is Status.lapsed
    )
    codes = set(
        db.scalars(select(Collection.failure_code).where(Collection.failure_code.is_not(None)))
    )
    assert {"0", "1"} <= codes
    assert all(len(m.account_last_two or "") == 2 for m in db.scalars(select(Mandate)))
    assert db.scalar(select(func.count(func.distinct(SubscriptionRate.effective_from)))) == 2
    admin = db.scalar(select(StaffUser).where(StaffUser.username == "admin"))
    assert admin is not None and admin.role is Role.admin
    assert verify_password(admin.password_hash, "memberdesk-demo-password")

    short = memberdesk("seed", "--reset", "--staff-password", "short")
    assert short.exit_code == 1
    assert "at least 12 characters" in short.output
    assert db.scalar(select(func.count(Member.id))) == 300

    again = memberdesk("seed", "--members", "300")
    assert again.exit_code == 1
    assert "--reset" in again.output


def test_seed_if_empty_seeds_once_then_leaves_the_data_alone(memberdesk, db: Session) -> None:
    first = memberdesk("seed", "--if-empty", "--members", "50")
    assert first.exit_code == 0, first.output
    priya = db.scalar(select(Member).where(Member.membership_number == "1000001"))
    assert priya is not None
    priya.first_name = "Priyanka"  # a change made while the system ran
    db.commit()

    second = memberdesk("seed", "--if-empty", "--members", "50")

    assert second.exit_code == 0, second.output
    assert "left as it is" in second.output
    db.refresh(priya)
    assert priya.first_name == "Priyanka"
    assert db.scalar(select(func.count(Member.id))) == 50
    both = memberdesk("seed", "--if-empty", "--reset")
    assert both.exit_code == 2 and "contradict" in both.output


def test_two_seeds_give_the_same_members(memberdesk, tmp_path: Path) -> None:
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    assert memberdesk("seed", "--members", "200").exit_code == 0
    memberdesk("export", "members", str(first))
    reseeded = memberdesk("seed", "--members", "200", "--reset")
    memberdesk("export", "members", str(second))

    assert reseeded.exit_code == 0, reseeded.output
    assert first.read_bytes() == second.read_bytes()
    assert first.read_text().count("\n") == 201


def test_staff_create_reads_the_password_from_the_environment(memberdesk, db: Session) -> None:
    result = memberdesk(
        "staff",
        "create",
        "--username",
        "jo.bloggs",
        "--display-name",
        "Jo Bloggs",
        "--email",
        "jo@union.example",
        "--role",
        "agent",
        env={"MEMBERDESK_STAFF_PASSWORD": "a long enough passphrase"},
    )

    assert result.exit_code == 0, result.output
    user = db.scalar(select(StaffUser).where(StaffUser.username == "jo.bloggs"))
    assert user is not None and user.role is Role.agent
    assert verify_password(user.password_hash, "a long enough passphrase")
    assert "a long enough passphrase" not in result.output


def test_staff_create_refuses_a_short_password_and_a_taken_username(
    memberdesk, db: Session
) -> None:
    args = (
        "staff",
        "create",
        "--username",
        "jo.bloggs",
        "--display-name",
        "Jo Bloggs",
        "--email",
        "jo@union.example",
        "--role",
        "agent",
    )
    short = memberdesk(*args, env={"MEMBERDESK_STAFF_PASSWORD": "short"})
    assert short.exit_code == 1
    assert "at least 12 characters" in short.output
    assert db.scalar(select(func.count(StaffUser.id))) == 0

    assert (
        memberdesk(*args, env={"MEMBERDESK_STAFF_PASSWORD": "a long enough passphrase"}).exit_code
        == 0
    )
    taken = memberdesk(*args, env={"MEMBERDESK_STAFF_PASSWORD": "a long enough passphrase"})
    assert taken.exit_code == 1
    assert "already taken" in taken.output


def test_staff_create_prompts_for_the_password(memberdesk, db: Session) -> None:
    result = memberdesk(
        "staff",
        "create",
        "--username",
        "pat.lead",
        "--display-name",
        "Pat Lead",
        "--email",
        "pat@union.example",
        "--role",
        "team_lead",
        "--team",
        "payments",
        input="correct horse battery\ncorrect horse battery\n",
    )

    assert result.exit_code == 1
    assert "no team with code 'payments'" in result.output

    ok = memberdesk(
        "staff",
        "create",
        "--username",
        "pat.lead",
        "--display-name",
        "Pat Lead",
        "--email",
        "pat@union.example",
        "--role",
        "team_lead",
        input="correct horse battery\ncorrect horse battery\n",
    )
    assert ok.exit_code == 0, ok.output
    user = db.scalar(select(StaffUser).where(StaffUser.username == "pat.lead"))
    assert user is not None and verify_password(user.password_hash, "correct horse battery")
