"""The demo organisation's data tables: employers, workplaces, jobs, names, streets, rates.

Nothing here draws a random number or touches the database; the planner picks from these
tables, and the five members the README names are written out in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from api.members.models import Category, PaymentMethod, Status
from api.staff.models import Role

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
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
FAILURE_CODES = ("0", "0", "0", "0", "0", "0", "1", "1", "5", "6", "6", "B")

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

# The five members the README names, each showing one journey off: (membership number, title,
# first name, last name, date of birth, postcode, street, town, employer, job title, grade,
# status, payment method, joined on).
FIXED_MEMBERS: tuple[
    tuple[str, str, str, str, date, str, str, str, str, str, str, Status, PaymentMethod, date],
    ...,
] = (
    (
        "1000001",
        "Ms",
        "Priya",
        "Shah",
        date(1985, 3, 14),
        "LS1 4AB",
        "14 Park Row",
        "Leeds",
        "Leeds Teaching Hospitals NHS Trust",
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
        "Manchester University NHS Foundation Trust",
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
        "Sheffield City Council",
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
        "Bristol City Council",
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
        "University of Nottingham",
        "Research Technician",
        "Grade 5",
        Status.active,
        PaymentMethod.payroll,
        date(2021, 10, 1),
    ),
)

# (username, display name, role, team code); they share the password `memberdesk seed` prints.
DEMO_STAFF = (
    ("admin", "Demo Administrator", Role.admin, "records"),
    ("dana.data", "Dana Data", Role.data_team, "data_protection"),
    ("alex.agent", "Alex Agent", Role.agent, "membership"),
)


@dataclass(frozen=True)
class DemoMember:
    """A fixed member the README names, with what they show off."""

    membership_number: str
    name: str
    shows: str


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
