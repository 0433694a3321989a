"""`memberdesk seed`: a deterministic demo organisation, written with bulk inserts.

The planner (api.seed.planner) decides what to create from the data tables (api.seed.data);
this module writes it and adds the demo staff. Rows go in with bulk inserts, so 2,000 members
take seconds, not minutes. Seeding refuses to run in production.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from api.audit.service import record
from api.ballots.models import Ballot, BallotMethod, ballot_employers
from api.database import Base
from api.employers.models import Employer, Workplace
from api.errors import Conflict, NotAllowed
from api.imports.bulk import table_of
from api.members.models import (
    EmploymentPeriod,
    Frequency,
    Member,
    PaymentMethod,
    Status,
    StatusPeriod,
)
from api.payments.models import Collection, Mandate, MandateStatus
from api.seed.data import (
    CATEGORY_INFO,
    DEMO_MEMBERS,
    DEMO_STAFF,
    EMPLOYERS,
    MONTHLY_RATES,
    RATE_RISE_REASON,
    DemoMember,
)
from api.seed.planner import PlannedMember, Planner, annual
from api.staff.service import create_staff, ensure_default_teams, validate_password
from api.subscriptions.models import CategoryInfo, SubscriptionRate
from api.timekeeping import today as today_utc
from api.timekeeping import utcnow

# Demo-only, printed by `memberdesk seed`; seeding refuses to run in production.
DEFAULT_STAFF_PASSWORD = "memberdesk-demo-password"  # noqa: S105
SEED_ACTOR = "system:seed"


class SeedRefused(Conflict):
    """The database already has members and --reset was not given."""


@dataclass
class SeedResult:
    """What the seed wrote, for the operator."""

    employers: int = 0
    members: int = 0
    collections: int = 0
    ballots: list[str] = field(default_factory=list)
    staff: list[str] = field(default_factory=list)
    demo_members: list[DemoMember] = field(default_factory=list)


class _Writer:
    """Writes what the planner plans, telling it the ids the database gave."""

    def __init__(self, *, db_session: Session, planner: Planner) -> None:
        self.db = db_session
        self.planner = planner

    def categories_and_rates(self) -> None:
        """The membership categories and two years of subscription rates."""
        self.db.execute(
            insert(CategoryInfo),
            [
                {"category": c, "label": label, "who_qualifies": who}
                for c, label, who in CATEGORY_INFO
            ],
        )
        rows = []
        for category, (old, new) in MONTHLY_RATES.items():
            for frequency in Frequency:
                rows.append(
                    {
                        "category": category,
                        "frequency": frequency,
                        "amount": annual(old) if frequency is Frequency.annual else old,
                        "effective_from": date(self.planner.today.year - 3, 1, 1),
                        "reason": "Rates set by conference.",
                    }
                )
                if new != old:
                    rows.append(
                        {
                            "category": category,
                            "frequency": frequency,
                            "amount": annual(new) if frequency is Frequency.annual else new,
                            "effective_from": self.planner.rise_on,
                            "reason": RATE_RISE_REASON,
                        }
                    )
        self.db.execute(insert(SubscriptionRate), rows)

    def employers_and_workplaces(self) -> None:
        """The employers and their workplaces (drawn by the planner, in the table's order)."""
        for name, kind, town, area in EMPLOYERS:
            employer_id = self.db.execute(
                insert(Employer).values(name=name).returning(Employer.id)
            ).scalar_one()
            rows = self.db.execute(
                insert(Workplace).returning(Workplace.id),
                [
                    {"employer_id": employer_id, "name": place}
                    for place in self.planner.workplaces_of(kind, town)
                ],
            ).all()
            self.planner.add_employer(
                (employer_id, name, kind, town, area), [r.id for r in rows]
            )

    def write_members(self, plans: Sequence[PlannedMember]) -> int:
        """Members, their history, mandates and collections; the number of collections."""
        now = utcnow()
        member_rows = [
            {**p.values, "version": 1, "created_at": now, "updated_at": now} for p in plans
        ]
        ids: dict[str, int] = {}
        for start in range(0, len(member_rows), 1000):
            created = self.db.execute(
                insert(table_of(Member)).returning(
                    table_of(Member).c.id, table_of(Member).c.membership_number
                ),
                member_rows[start : start + 1000],
            )
            ids.update({number: member_id for member_id, number in created})
        status_rows, employment_rows, mandate_rows = [], [], []
        for plan in plans:
            member_id = ids[plan.values["membership_number"]]
            status_rows += [
                {"member_id": member_id, "status": s, "effective_from": d}
                for s, d in plan.status_history
            ]
            employment_rows += [
                {"member_id": member_id, "employer_id": e, "workplace_id": w, "effective_from": d}
                for e, w, d in plan.employment_history
            ]
            if (
                plan.values["payment_method"] is PaymentMethod.direct_debit
                and plan.values["status"] is not Status.applicant
            ):
                live = plan.values["status"] in (Status.active, Status.grace)
                mandate_rows.append(
                    {
                        "member_id": member_id,
                        "reference": f"MDK-{plan.values['membership_number']}",
                        "status": MandateStatus.active if live else MandateStatus.cancelled,
                        "collection_day": plan.collection_day,
                        "account_last_two": plan.account_last_two,
                        "created_on": plan.values["joined_on"],
                        "cancelled_on": None if live else plan.left_on,
                    }
                )
        self.db.execute(insert(table_of(StatusPeriod)), status_rows)
        self.db.execute(insert(table_of(EmploymentPeriod)), employment_rows)
        mandates: dict[int, int] = {}
        if mandate_rows:
            created = self.db.execute(
                insert(table_of(Mandate)).returning(
                    table_of(Mandate).c.id, table_of(Mandate).c.member_id
                ),
                mandate_rows,
            )
            mandates = {member_id: mandate_id for mandate_id, member_id in created}
        collection_rows: list[dict[str, Any]] = []
        for plan in plans:
            member_id = ids[plan.values["membership_number"]]
            collection_rows += self.planner.collections_for(
                member_id, mandates.get(member_id), plan
            )
        for start in range(0, len(collection_rows), 2000):
            self.db.execute(insert(table_of(Collection)), collection_rows[start : start + 2000])
        return len(collection_rows)

    def ballots(self) -> list[str]:
        """An open NHS ballot and a closed council one; their codes."""
        nhs = [e[0] for e in self.planner.employers if e[2] == "nhs"]
        councils = [e[0] for e in self.planner.employers if e[2] == "council"][:6]
        year = self.planner.today.year
        specs = [
            (
                f"IA-{year}-NHSPAY",
                "NHS pay and staffing ballot",
                "Are you prepared to take part in strike action over pay and safe staffing?",
                self.planner.today - timedelta(days=21),
                self.planner.today - timedelta(days=14),
                self.planner.today + timedelta(days=21),
                nhs,
                50,
                40,
                "Run by an independent scrutineer. Strike dates, if any are called, will be "
                "announced with the notice the law requires.",
            ),
            (
                f"IA-{year}-COUNCILS",
                "Council workers' pay ballot",
                "Are you prepared to take part in strike action over the pay offer?",
                self.planner.today - timedelta(days=140),
                self.planner.today - timedelta(days=120),
                self.planner.today - timedelta(days=90),
                councils,
                50,
                None,
                "Closed. The result was published to members by email and on the website.",
            ),
        ]
        codes = []
        for (
            code,
            title,
            question,
            register,
            opens,
            closes,
            employers,
            turnout,
            support,
            details,
        ) in specs:
            ballot_id = self.db.execute(
                insert(table_of(Ballot)).returning(table_of(Ballot).c.id),
                [
                    {
                        "ballot_code": code,
                        "title": title,
                        "question": question,
                        "register_date": register,
                        "opens_on": opens,
                        "closes_on": closes,
                        "method": BallotMethod.postal,
                        "turnout_threshold_percent": turnout,
                        "support_threshold_percent": support,
                        "details": details,
                    }
                ],
            ).scalar_one()
            self.db.execute(
                insert(ballot_employers),
                [{"ballot_id": ballot_id, "employer_id": e} for e in employers],
            )
            codes.append(code)
        return codes


def _wipe(db_session: Session) -> None:
    for table in reversed(Base.metadata.sorted_tables):
        db_session.execute(table.delete())


def has_members(db_session: Session) -> bool:
    """True when the database holds at least one member (so seeding would refuse)."""
    return db_session.scalar(select(Member.id).limit(1)) is not None


def seed_demo(
    *,
    db_session: Session,
    member_count: int = 2000,
    staff_password: str = DEFAULT_STAFF_PASSWORD,
    reset: bool = False,
    environment: str = "development",
    today: date | None = None,
) -> SeedResult:
    """Fill an empty database with the demo organisation, then commit."""
    if environment == "production":
        raise NotAllowed("Demo data is never seeded into a production database.")
    # Checked before anything is written, so a bad password cannot leave a seed without staff.
    validate_password(staff_password)
    if has_members(db_session) and not reset:
        raise SeedRefused(
            "The database already has members; run `memberdesk seed --reset` to replace "
            "everything with the demo organisation."
        )
    if reset:
        _wipe(db_session)
    member_count = max(member_count, 5)
    planner = Planner(today=today or today_utc())
    writer = _Writer(db_session=db_session, planner=planner)
    writer.categories_and_rates()
    writer.employers_and_workplaces()
    plans = planner.fixed_members()
    plans += [planner.plan_member(1000006 + i) for i in range(member_count - len(plans))]
    collections = writer.write_members(plans)
    codes = writer.ballots()
    record(
        db_session=db_session,
        actor=SEED_ACTOR,
        action="demo.seeded",
        channel="cli",
        detail=(
            f"members={len(plans)}; employers={len(planner.employers)}; collections={collections}"
        ),
    )
    db_session.commit()

    teams = {team.code: team for team in ensure_default_teams(db_session)}
    for username, display_name, role, team_code in DEMO_STAFF:
        create_staff(
            db_session=db_session,
            username=username,
            display_name=display_name,
            email=f"{username}@union.example",
            password=staff_password,
            role=role,
            team_code=teams[team_code].code,
        )
    return SeedResult(
        employers=len(planner.employers),
        members=len(plans),
        collections=collections,
        ballots=codes,
        staff=[s[0] for s in DEMO_STAFF],
        demo_members=DEMO_MEMBERS,
    )
