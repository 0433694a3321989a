"""A deterministic demo organisation: employers, members with history, payments and ballots.

Everything comes from random.Random(2026) and dates are relative to today, so two seeds on
the same day give the same members. Rows are written with bulk inserts: 2,000 members take
seconds, not minutes.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
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
    Category,
    EmploymentPeriod,
    Frequency,
    Member,
    PaymentMethod,
    Status,
    StatusPeriod,
)
from api.payments.models import Collection, CollectionStatus, Mandate, MandateStatus
from api.staff.models import Role
from api.staff.service import create_staff, ensure_default_teams, validate_password
from api.subscriptions.models import CategoryInfo, SubscriptionRate
from api.timekeeping import today as today_utc
from api.timekeeping import utcnow

SEED = 2026
# Demo-only, printed by `memberdesk seed`; seeding refuses to run in production.
DEFAULT_STAFF_PASSWORD = "memberdesk-demo-password"  # noqa: S105
SEED_ACTOR = "system:seed"

# (name, kind, town, postcode area); the first ten NHS employers form the open ballot.
EMPLOYERS: tuple[tuple[str, str, str, str], ...] = (
    ("Leeds Teaching Hospitals NHS Trust", "nhs", "Leeds", "LS"),
    ("Manchester University NHS Foundation Trust", "nhs", "Manchester", "M"),
    ("Sheffield Teaching Hospitals NHS Foundation Trust", "nhs", "Sheffield", "S"),
    ("The Newcastle upon Tyne Hospitals NHS Foundation Trust", "nhs", "Newcastle upon Tyne", "NE"),
    ("North Bristol NHS Trust", "nhs", "Bristol", "BS"),
    ("Nottingham University Hospitals NHS Trust", "nhs", "Nottingham", "NG"),
    ("Barts Health NHS Trust", "nhs", "London", "E"),
    ("University Hospitals Birmingham NHS Foundation Trust", "nhs", "Birmingham", "B"),
    ("Yorkshire Ambulance Service NHS Trust", "nhs", "Wakefield", "WF"),
    ("Cardiff and Vale University Health Board", "nhs", "Cardiff", "CF"),
    ("Leeds City Council", "council", "Leeds", "LS"),
    ("Manchester City Council", "council", "Manchester", "M"),
    ("Bristol City Council", "council", "Bristol", "BS"),
    ("Birmingham City Council", "council", "Birmingham", "B"),
    ("Sheffield City Council", "council", "Sheffield", "S"),
    ("Newcastle City Council", "council", "Newcastle upon Tyne", "NE"),
    ("Kent County Council", "council", "Maidstone", "ME"),
    ("Norfolk County Council", "council", "Norwich", "NR"),
    ("Glasgow City Council", "council", "Glasgow", "G"),
    ("Cardiff Council", "council", "Cardiff", "CF"),
    ("University of Leeds", "university", "Leeds", "LS"),
    ("The University of Manchester", "university", "Manchester", "M"),
    ("University of Bristol", "university", "Bristol", "BS"),
    ("Newcastle University", "university", "Newcastle upon Tyne", "NE"),
    ("University of Nottingham", "university", "Nottingham", "NG"),
    ("Northern Lights Academy Trust", "school", "Leeds", "LS"),
    ("Brightstart Multi-Academy Trust", "school", "Nottingham", "NG"),
    ("St Mary's Catholic High School", "school", "Manchester", "M"),
    ("Riverside Primary School", "school", "Bristol", "BS"),
    ("Norwich Community College", "school", "Norwich", "NR"),
)

WORKPLACES = {
    "nhs": (
        "General Hospital",
        "Royal Infirmary",
        "Children's Hospital",
        "Community Health Centre",
        "Maternity Unit",
        "Mental Health Unit",
        "Ambulance Station",
        "Pathology Laboratory",
    ),
    "council": (
        "Civic Centre",
        "Highways Depot",
        "Adult Social Care Office",
        "Central Library",
        "Revenues and Benefits Office",
        "Children's Services",
        "Leisure Centre",
    ),
    "university": (
        "Main Campus",
        "School of Medicine",
        "University Library",
        "Estates and Facilities",
        "Science Park",
        "Student Services Building",
    ),
    "school": ("Main Site", "Sixth Form Centre", "Lower School", "Primary Site", "Learning Centre"),
}

JOBS = {
    "nhs": (
        ("Staff Nurse", "Band 5"),
        ("Healthcare Assistant", "Band 3"),
        ("Porter", "Band 2"),
        ("Paramedic", "Band 6"),
        ("Physiotherapist", "Band 6"),
        ("Ward Manager", "Band 7"),
        ("Medical Secretary", "Band 4"),
        ("Biomedical Scientist", "Band 6"),
    ),
    "council": (
        ("Social Worker", "Grade 9"),
        ("Refuse Collector", "Grade 3"),
        ("Librarian", "Grade 6"),
        ("Benefits Officer", "Grade 5"),
        ("Highways Inspector", "Grade 7"),
        ("Care Assistant", "Grade 4"),
    ),
    "university": (
        ("Lecturer", "Grade 7"),
        ("Research Technician", "Grade 5"),
        ("Library Assistant", "Grade 3"),
        ("Administrator", "Grade 4"),
        ("Senior Lecturer", "Grade 8"),
    ),
    "school": (
        ("Teaching Assistant", "Level 3"),
        ("Teacher", "MPS 4"),
        ("School Business Manager", "Grade 6"),
        ("Caretaker", "Grade 3"),
        ("Cook", "Grade 2"),
    ),
}

FIRST_NAMES = (
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Grace",
    "Sophie",
    "Emily",
    "Chloe",
    "Ella",
    "Aisha",
    "Fatima",
    "Priya",
    "Anjali",
    "Niamh",
    "Siobhan",
    "Catrin",
    "Megan",
    "Zainab",
    "Hannah",
    "Oliver",
    "George",
    "Harry",
    "Jack",
    "Noah",
    "Charlie",
    "Thomas",
    "James",
    "William",
    "Daniel",
    "Mohammed",
    "Ali",
    "Arjun",
    "Rohan",
    "Callum",
    "Rhys",
    "Dylan",
    "Kwame",
    "Tunde",
    "Liam",
    "Margaret",
    "Susan",
    "Karen",
    "Julie",
    "Helen",
    "David",
    "Paul",
    "Mark",
    "Andrew",
    "Stephen",
)
LAST_NAMES = (
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Patel",
    "Khan",
    "Ahmed",
    "Begum",
    "Hussain",
    "Singh",
    "Kaur",
    "Shah",
    "Okafor",
    "Adeyemi",
    "Mensah",
    "Campbell",
    "Stewart",
    "MacDonald",
    "Murphy",
    "O'Brien",
    "Kelly",
    "Hughes",
    "Edwards",
    "Lewis",
    "Morgan",
    "Griffiths",
    "Price",
    "Lloyd",
    "Harris",
    "Martin",
    "Cooper",
    "Ward",
    "Turner",
    "Hill",
    "Fletcher",
    "Nowak",
    "Kowalski",
    "Chen",
    "Nguyen",
)
STREETS = (
    "High Street",
    "Station Road",
    "Church Lane",
    "Victoria Road",
    "Park Avenue",
    "Mill Lane",
    "Queen Street",
    "King Street",
    "Green Lane",
    "Manor Road",
    "Chapel Street",
    "Albert Road",
    "The Crescent",
    "Orchard Close",
    "Springfield Road",
    "Windsor Drive",
    "Grange Road",
    "Beech Grove",
    "Willow Way",
    "Canal Street",
)
EMAIL_DOMAINS = ("example.org", "example.com", "example.net")
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_FAILURE_CODES = ("0", "0", "0", "0", "0", "0", "1", "1", "5", "6", "6", "B")

CATEGORY_INFO = (
    (Category.full, "Full", "Anyone working 22 or more hours a week."),
    (
        Category.reduced,
        "Reduced rate",
        "Members on low pay, working part time, or on parental leave.",
    ),
    (Category.retired, "Retired", "Members who have retired from work."),
    (Category.student, "Student", "Members in full-time study."),
    (Category.honorary, "Honorary", "Members given honorary membership by conference."),
)
# Monthly rates before and after this year's rise.
MONTHLY_RATES = {
    Category.full: (Decimal("23.50"), Decimal("24.50")),
    Category.reduced: (Decimal("11.75"), Decimal("12.25")),
    Category.retired: (Decimal("5.50"), Decimal("6.00")),
    Category.student: (Decimal("1.50"), Decimal("2.00")),
    Category.honorary: (Decimal("0.00"), Decimal("0.00")),
}
RATE_RISE_REASON = (
    "Conference approved a rise of about 4% to fund the legal assistance scheme and "
    "local representative training."
)


class SeedRefused(Conflict):
    """The database already has members and --reset was not given."""


@dataclass(frozen=True)
class DemoMember:
    """A fixed member the README names, with what they show off."""

    membership_number: str
    name: str
    shows: str


@dataclass
class SeedResult:
    """What the seed wrote, for the operator."""

    employers: int = 0
    members: int = 0
    collections: int = 0
    ballots: list[str] = field(default_factory=list)
    staff: list[str] = field(default_factory=list)
    demo_members: list[DemoMember] = field(default_factory=list)


def _annual(monthly: Decimal) -> Decimal:
    # Paying annually buys eleven months for the price of twelve.
    return monthly * 11


def rate_on(category: Category, frequency: Frequency, on: date, rise_on: date) -> Decimal:
    """The subscription for a category and frequency on a date."""
    old, new = MONTHLY_RATES[category]
    monthly = new if on >= rise_on else old
    return _annual(monthly) if frequency is Frequency.annual else monthly


def _months_back(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    return date(month_index // 12, month_index % 12 + 1, 1)


@dataclass
class _Planned:
    """A member planned in memory, before the bulk inserts."""

    values: dict[str, Any]
    kind: str | None
    status_history: list[tuple[Status, date]]
    employment_history: list[tuple[int | None, int | None, date]]
    collection_day: int
    account_last_two: str
    left_on: date | None = None
    failed_recently: bool = False
    forced_failure_month: int | None = None
    # The README's fixed members fail only where their story says so.
    scripted_only: bool = False


class _Seeder:
    def __init__(self, *, db_session: Session, today: date, member_count: int) -> None:
        self.db = db_session
        self.today = today
        self.member_count = member_count
        self.rng = random.Random(SEED)
        self.rise_on = _months_back(today, 5)
        self.employers: list[tuple[int, str, str, str, str]] = []  # id, name, kind, town, area
        self.workplaces: dict[int, list[int]] = {}
        self.workplace_names: dict[int, str] = {}

    # -- reference data -------------------------------------------------------------------

    def categories_and_rates(self) -> None:
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
                        "amount": _annual(old) if frequency is Frequency.annual else old,
                        "effective_from": date(self.today.year - 3, 1, 1),
                        "reason": "Rates set by conference.",
                    }
                )
                if new != old:
                    rows.append(
                        {
                            "category": category,
                            "frequency": frequency,
                            "amount": _annual(new) if frequency is Frequency.annual else new,
                            "effective_from": self.rise_on,
                            "reason": RATE_RISE_REASON,
                        }
                    )
        self.db.execute(insert(SubscriptionRate), rows)

    def employers_and_workplaces(self) -> None:
        for name, kind, town, area in EMPLOYERS:
            employer_id = self.db.execute(
                insert(Employer).values(name=name).returning(Employer.id)
            ).scalar_one()
            self.employers.append((employer_id, name, kind, town, area))
            places = self.rng.sample(
                WORKPLACES[kind], min(self.rng.randint(2, 6), len(WORKPLACES[kind]))
            )
            rows = self.db.execute(
                insert(Workplace).returning(Workplace.id, Workplace.name),
                [
                    {"employer_id": employer_id, "name": f"{town} {p}" if kind != "school" else p}
                    for p in sorted(places)
                ],
            ).all()
            self.workplaces[employer_id] = sorted(r.id for r in rows)
            self.workplace_names.update({r.id: r.name for r in rows})

    def employer_named(self, name: str) -> tuple[int, str, str, str, str]:
        return next(e for e in self.employers if e[1] == name)

    # -- people ---------------------------------------------------------------------------

    def postcode(self, area: str) -> str:
        rng = self.rng
        return (
            f"{area}{rng.randint(1, 19)} {rng.randint(1, 9)}"
            f"{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"
        )

    def random_date(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randint(0, max((end - start).days, 0)))

    def plan_member(self, number: int) -> _Planned:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        title = rng.choice(("Ms", "Mr", "Mr", "Ms", "Mrs", "Miss", "Mx", "Dr"))
        category = rng.choices(list(Category), weights=(75, 12, 5, 5, 3))[0]
        status = rng.choices(
            (Status.active, Status.grace, Status.lapsed, Status.resigned, Status.applicant),
            weights=(80, 5, 6, 5, 4),
        )[0]
        dob = self.random_date(date(1958, 1, 1), date(2004, 12, 31))
        if category is Category.retired:
            dob = self.random_date(date(1945, 1, 1), date(1960, 12, 31))
        if category is Category.student:
            dob = self.random_date(date(1998, 1, 1), date(2006, 12, 31))
        earliest_join = max(date(dob.year + 18, dob.month, min(dob.day, 28)), date(1985, 1, 1))
        joined_on = self.random_date(earliest_join, self.today - timedelta(days=400))
        if status is Status.applicant:
            joined_on = self.today - timedelta(days=rng.randint(3, 40))

        kind: str | None = None
        employer_id = workplace_id = None
        job_title = grade = None
        employer_history: list[tuple[int | None, int | None, date]] = []
        if category not in (Category.retired, Category.honorary):
            employer_id, _name, kind, town, area = rng.choice(self.employers)
            workplace_id = rng.choice(self.workplaces[employer_id])
            job_title, grade = rng.choice(JOBS[kind])
            if rng.random() < 0.15 and (self.today - joined_on).days > 800:
                previous = rng.choice([e for e in self.employers if e[0] != employer_id])
                moved_on = self.random_date(
                    joined_on + timedelta(days=200), self.today - timedelta(days=120)
                )
                employer_history.append(
                    (previous[0], rng.choice(self.workplaces[previous[0]]), joined_on)
                )
                employer_history.append((employer_id, workplace_id, moved_on))
            else:
                employer_history.append((employer_id, workplace_id, joined_on))
        else:
            _id, _name, _kind, town, area = rng.choice(self.employers)
            employer_history.append((None, None, joined_on))

        if category is Category.honorary:
            method, frequency = PaymentMethod.none, Frequency.annual
        else:
            method = rng.choices(
                (PaymentMethod.direct_debit, PaymentMethod.payroll, PaymentMethod.card),
                weights=(75, 15, 10),
            )[0]
            if method is PaymentMethod.payroll and employer_id is None:
                method = PaymentMethod.direct_debit
            frequency = (
                Frequency.annual
                if (method is PaymentMethod.card or rng.random() < 0.05)
                else Frequency.monthly
            )

        history = [(Status.applicant if status is Status.applicant else Status.active, joined_on)]
        left_on = None
        if status in (Status.lapsed, Status.resigned):
            left_on = self.random_date(
                self.today - timedelta(days=700), self.today - timedelta(days=30)
            )
            left_on = max(left_on, joined_on + timedelta(days=60))
            history.append((status, left_on))
        if status is Status.grace:
            history.append((Status.grace, self.today - timedelta(days=rng.randint(5, 25))))

        email_name = re.sub(r"[^a-z.]", "", f"{first}.{last}".lower())
        renewal = None
        if frequency is Frequency.annual:
            renewal = date(self.today.year, joined_on.month, min(joined_on.day, 28))
            if renewal <= self.today:
                renewal = date(self.today.year + 1, joined_on.month, min(joined_on.day, 28))
        values = {
            "membership_number": str(number),
            "title": title,
            "first_name": first,
            "last_name": last,
            "date_of_birth": dob,
            "email": None
            if rng.random() < 0.08
            else f"{email_name}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}",
            "phone": None if rng.random() < 0.2 else f"07700900{rng.randint(0, 999):03d}",
            "address_line1": f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
            "address_line2": None if rng.random() < 0.8 else f"Flat {rng.randint(1, 30)}",
            "town": town,
            "postcode": self.postcode(area),
            "employer_id": employer_id,
            "workplace_id": workplace_id,
            "job_title": job_title,
            "grade": grade,
            "category": category,
            "status": status,
            "payment_method": method,
            "payment_frequency": frequency,
            "subscription_amount": rate_on(category, frequency, self.today, self.rise_on),
            "arrears_brought_forward": Decimal("0.00"),
            "joined_on": joined_on,
            "renewal_date": renewal,
            "left_on": left_on,
            "marketing_consent": rng.random() < 0.6,
        }
        if status is Status.lapsed and rng.random() < 0.3:
            values["arrears_brought_forward"] = rate_on(
                category, Frequency.monthly, joined_on, self.rise_on
            ) * rng.randint(1, 3)
        return _Planned(
            values=values,
            kind=kind,
            status_history=history,
            employment_history=employer_history,
            collection_day=rng.choice((1, 5, 15, 20, 28)),
            account_last_two=f"{rng.randint(0, 99):02d}",
            left_on=left_on,
            failed_recently=status is Status.grace,
        )

    def fixed_members(self) -> list[_Planned]:
        """The five members the README names; each shows one thing off."""
        leeds = self.employer_named("Leeds Teaching Hospitals NHS Trust")
        manchester = self.employer_named("Manchester University NHS Foundation Trust")
        sheffield = self.employer_named("Sheffield City Council")
        bristol = self.employer_named("Bristol City Council")
        nottingham = self.employer_named("University of Nottingham")
        specs = [
            (
                "1000001",
                "Ms",
                "Priya",
                "Shah",
                date(1985, 3, 14),
                "LS1 4AB",
                "14 Park Row",
                "Leeds",
                leeds,
                "Staff Nurse",
                "Band 5",
                Status.active,
                PaymentMethod.direct_debit,
                date(2012, 9, 1),
            ),
            (
                "1000002",
                "Mr",
                "Daniel",
                "Okafor",
                date(1979, 11, 2),
                "M14 5TQ",
                "27 Wilmslow Road",
                "Manchester",
                manchester,
                "Porter",
                "Band 2",
                Status.grace,
                PaymentMethod.direct_debit,
                date(2016, 4, 11),
            ),
            (
                "1000003",
                "Mrs",
                "Margaret",
                "Hughes",
                date(1962, 7, 21),
                "S10 2TN",
                "8 Crookesmoor Road",
                "Sheffield",
                sheffield,
                "Librarian",
                "Grade 6",
                Status.lapsed,
                PaymentMethod.direct_debit,
                date(2004, 1, 19),
            ),
            (
                "1000004",
                "Mr",
                "Tom",
                "Fletcher",
                date(1990, 1, 30),
                "BS1 5TR",
                "3 Redcliff Street",
                "Bristol",
                bristol,
                "Refuse Collector",
                "Grade 3",
                Status.active,
                PaymentMethod.direct_debit,
                date(2019, 2, 4),
            ),
            (
                "1000005",
                "Mx",
                "Sam",
                "Taylor",
                date(1995, 5, 5),
                "NG7 2RD",
                "41 Derby Road",
                "Nottingham",
                nottingham,
                "Research Technician",
                "Grade 5",
                Status.active,
                PaymentMethod.payroll,
                date(2021, 10, 1),
            ),
        ]
        planned = []
        for (
            number,
            title,
            first,
            last,
            dob,
            postcode,
            street,
            town,
            employer,
            job,
            grade,
            status,
            method,
            joined_on,
        ) in specs:
            workplace_id = self.workplaces[employer[0]][0]
            history = [(Status.active, joined_on)]
            left_on = None
            if status is Status.lapsed:
                left_on = self.today - timedelta(days=120)
                history.append((Status.lapsed, left_on))
            if status is Status.grace:
                history.append((Status.grace, self.today - timedelta(days=12)))
            planned.append(
                _Planned(
                    values={
                        "membership_number": number,
                        "title": title,
                        "first_name": first,
                        "last_name": last,
                        "date_of_birth": dob,
                        "email": f"{first.lower()}.{last.lower()}@example.org",
                        "phone": f"0770090000{number[-1]}",
                        "address_line1": street,
                        "address_line2": None,
                        "town": town,
                        "postcode": postcode,
                        "employer_id": employer[0],
                        "workplace_id": workplace_id,
                        "job_title": job,
                        "grade": grade,
                        "category": Category.full,
                        "status": status,
                        "payment_method": method,
                        "payment_frequency": Frequency.monthly,
                        "subscription_amount": rate_on(
                            Category.full, Frequency.monthly, self.today, self.rise_on
                        ),
                        "arrears_brought_forward": Decimal("0.00"),
                        "joined_on": joined_on,
                        "renewal_date": None,
                        "left_on": left_on,
                        "marketing_consent": number != "1000003",
                    },
                    kind=employer[2],
                    status_history=history,
                    employment_history=[(employer[0], workplace_id, joined_on)],
                    collection_day=15,
                    account_last_two=number[-2:],
                    left_on=left_on,
                    failed_recently=status is Status.grace,
                    # The lapsed member's last three collections failed, which is why they lapsed.
                    forced_failure_month=3 if status is Status.lapsed else None,
                    scripted_only=True,
                )
            )
        return planned

    # -- payments -------------------------------------------------------------------------

    def collections_for(
        self, member_id: int, mandate_id: int | None, plan: _Planned
    ) -> list[dict[str, Any]]:
        values = plan.values
        method: PaymentMethod = values["payment_method"]
        status: Status = values["status"]
        if method is PaymentMethod.none or status is Status.applicant:
            return []
        rng = self.rng
        frequency: Frequency = values["payment_frequency"]
        end = plan.left_on or self.today
        if frequency is Frequency.monthly:
            dues = [
                _months_back(self.today, back).replace(day=plan.collection_day)
                for back in range(12, -1, -1)
            ]
        else:
            anniversary = date(
                self.today.year, values["joined_on"].month, min(values["joined_on"].day, 28)
            )
            if anniversary > self.today:
                anniversary = anniversary.replace(year=self.today.year - 1)
            dues = [anniversary]
        dues = [
            d
            for d in dues
            if values["joined_on"] <= d <= end and d > self.today - timedelta(days=370)
        ]
        rows: list[dict[str, Any]] = []
        for index, due_on in enumerate(dues):
            amount = rate_on(values["category"], frequency, due_on, self.rise_on)
            from_end = len(dues) - index
            # The scripted failures that explain a grace or lapsed status: still owed.
            scripted = (plan.failed_recently and from_end == 1) or (
                plan.forced_failure_month is not None and from_end <= plan.forced_failure_month
            )
            failed = scripted
            if method is PaymentMethod.direct_debit and not plan.scripted_only and not scripted:
                failed = rng.random() < 0.03
            code = None
            if failed:
                code = "0" if scripted and from_end == 1 else rng.choice(_FAILURE_CODES)
            settled_on = None
            if failed and not scripted and rng.random() < 0.5:
                settled = due_on + timedelta(days=rng.randint(7, 20))
                settled_on = settled if settled <= self.today else None
            rows.append(
                {
                    "member_id": member_id,
                    "mandate_id": mandate_id,
                    "due_on": due_on,
                    "amount": amount,
                    "method": method.value,
                    "status": CollectionStatus.failed if failed else CollectionStatus.collected,
                    "failure_code": code,
                    "settled_on": settled_on,
                    "description": "Subscription",
                }
            )
        if (
            method is PaymentMethod.direct_debit
            and status in (Status.active, Status.grace)
            and frequency is Frequency.monthly
        ):
            next_due = _months_back(self.today, -1).replace(day=plan.collection_day)
            rows.append(
                {
                    "member_id": member_id,
                    "mandate_id": mandate_id,
                    "due_on": next_due,
                    "amount": rate_on(values["category"], frequency, next_due, self.rise_on),
                    "method": method.value,
                    "status": CollectionStatus.scheduled,
                    "failure_code": None,
                    "settled_on": None,
                    "description": "Subscription",
                }
            )
        return rows

    # -- writing --------------------------------------------------------------------------

    def write_members(self, plans: Sequence[_Planned]) -> int:
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
            collection_rows += self.collections_for(member_id, mandates.get(member_id), plan)
        for start in range(0, len(collection_rows), 2000):
            self.db.execute(insert(table_of(Collection)), collection_rows[start : start + 2000])
        return len(collection_rows)

    def ballots(self) -> list[str]:
        nhs = [e[0] for e in self.employers if e[2] == "nhs"]
        councils = [e[0] for e in self.employers if e[2] == "council"][:6]
        year = self.today.year
        specs = [
            (
                f"IA-{year}-NHSPAY",
                "NHS pay and staffing ballot",
                "Are you prepared to take part in strike action over pay and safe staffing?",
                self.today - timedelta(days=21),
                self.today - timedelta(days=14),
                self.today + timedelta(days=21),
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
                self.today - timedelta(days=140),
                self.today - timedelta(days=120),
                self.today - timedelta(days=90),
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
    seeder = _Seeder(db_session=db_session, today=today or today_utc(), member_count=member_count)
    seeder.categories_and_rates()
    seeder.employers_and_workplaces()
    plans = seeder.fixed_members()
    plans += [seeder.plan_member(1000006 + i) for i in range(member_count - len(plans))]
    collections = seeder.write_members(plans)
    codes = seeder.ballots()
    record(
        db_session=db_session,
        actor=SEED_ACTOR,
        action="demo.seeded",
        channel="cli",
        detail=(
            f"members={len(plans)}; employers={len(seeder.employers)}; collections={collections}"
        ),
    )
    db_session.commit()

    teams = {team.code: team for team in ensure_default_teams(db_session)}
    staff = [
        ("admin", "Demo Administrator", Role.admin, "records"),
        ("dana.data", "Dana Data", Role.data_team, "data_protection"),
        ("alex.agent", "Alex Agent", Role.agent, "membership"),
    ]
    for username, display_name, role, team_code in staff:
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
        employers=len(seeder.employers),
        members=len(plans),
        collections=collections,
        ballots=codes,
        staff=[s[0] for s in staff],
        demo_members=DEMO_MEMBERS,
    )


DEMO_MEMBERS = [
    DemoMember(
        "1000001",
        "Ms Priya Shah (dob 1985-03-14, postcode LS1 4AB)",
        "active, Direct Debit, in the open NHS ballot",
    ),
    DemoMember(
        "1000002",
        "Mr Daniel Okafor (dob 1979-11-02, postcode M14 5TQ)",
        "grace: last month's Direct Debit failed (ARUDD 0) and is owed",
    ),
    DemoMember(
        "1000003",
        "Mrs Margaret Hughes (dob 1962-07-21, postcode S10 2TN)",
        "lapsed after three failed collections, arrears owed",
    ),
    DemoMember(
        "1000004",
        "Mr Tom Fletcher (dob 1990-01-30, postcode BS1 5TR)",
        "active, employer outside the open ballot (was in the closed council ballot)",
    ),
    DemoMember(
        "1000005",
        "Mx Sam Taylor (dob 1995-05-05, postcode NG7 2RD)",
        "active, pays by payroll deduction (check-off)",
    ),
]
