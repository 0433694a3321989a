"""What the demo organisation holds, planned in memory before anything is written.

Everything comes from random.Random(2026) and dates are relative to today, so two seeds on
the same day give the same members. The order of the draws is part of that promise: the
employers' workplaces, then the members, then their collections.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from api.members.models import Category, Frequency, PaymentMethod, Status
from api.payments.models import CollectionStatus
from api.seed.data import (
    EMAIL_DOMAINS,
    FAILURE_CODES,
    FIRST_NAMES,
    FIXED_MEMBERS,
    INWARD_LETTERS,
    JOBS,
    LAST_NAMES,
    MONTHLY_RATES,
    STREETS,
    WORKPLACES,
)

SEED = 2026


def annual(monthly: Decimal) -> Decimal:
    """The annual subscription for a monthly rate."""
    # Paying annually buys eleven months for the price of twelve.
    return monthly * 11


def rate_on(category: Category, frequency: Frequency, on: date, rise_on: date) -> Decimal:
    """The subscription for a category and frequency on a date."""
    old, new = MONTHLY_RATES[category]
    monthly = new if on >= rise_on else old
    return annual(monthly) if frequency is Frequency.annual else monthly


def months_back(day: date, months: int) -> date:
    """The first day of the month `months` before `day`'s month."""
    month_index = day.year * 12 + day.month - 1 - months
    return date(month_index // 12, month_index % 12 + 1, 1)


@dataclass
class PlannedMember:
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


class Planner:
    """Draws the demo organisation from one seeded random stream, in a fixed order."""

    def __init__(self, *, today: date) -> None:
        self.today = today
        self.rng = random.Random(SEED)
        self.rise_on = months_back(today, 5)
        self.employers: list[tuple[int, str, str, str, str]] = []  # id, name, kind, town, area
        self.workplaces: dict[int, list[int]] = {}

    # -- employers ------------------------------------------------------------------------

    def workplaces_of(self, kind: str, town: str) -> list[str]:
        """Names of a new employer's workplaces (two to six of its kind's)."""
        places = self.rng.sample(
            WORKPLACES[kind], min(self.rng.randint(2, 6), len(WORKPLACES[kind]))
        )
        return [f"{town} {p}" if kind != "school" else p for p in sorted(places)]

    def add_employer(
        self, employer: tuple[int, str, str, str, str], workplace_ids: list[int]
    ) -> None:
        """Remember a written employer (id, name, kind, town, area) and its workplaces."""
        self.employers.append(employer)
        self.workplaces[employer[0]] = sorted(workplace_ids)

    def employer_named(self, name: str) -> tuple[int, str, str, str, str]:
        return next(e for e in self.employers if e[1] == name)

    # -- people ---------------------------------------------------------------------------

    def postcode(self, area: str) -> str:
        rng = self.rng
        return (
            f"{area}{rng.randint(1, 19)} {rng.randint(1, 9)}"
            f"{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"
        )

    def random_date(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randint(0, max((end - start).days, 0)))

    def plan_member(self, number: int) -> PlannedMember:
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
        return PlannedMember(
            values=values,
            kind=kind,
            status_history=history,
            employment_history=employer_history,
            collection_day=rng.choice((1, 5, 15, 20, 28)),
            account_last_two=f"{rng.randint(0, 99):02d}",
            left_on=left_on,
            failed_recently=status is Status.grace,
        )

    def fixed_members(self) -> list[PlannedMember]:
        """The five members the README names; each shows one thing off."""
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
            employer_name,
            job,
            grade,
            status,
            method,
            joined_on,
        ) in FIXED_MEMBERS:
            employer = self.employer_named(employer_name)
            workplace_id = self.workplaces[employer[0]][0]
            history = [(Status.active, joined_on)]
            left_on = None
            if status is Status.lapsed:
                left_on = self.today - timedelta(days=120)
                history.append((Status.lapsed, left_on))
            if status is Status.grace:
                history.append((Status.grace, self.today - timedelta(days=12)))
            planned.append(
                PlannedMember(
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
        self, member_id: int, mandate_id: int | None, plan: PlannedMember
    ) -> list[dict[str, Any]]:
        """A member's collections over the last year, and the next one scheduled."""
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
                months_back(self.today, back).replace(day=plan.collection_day)
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
                code = "0" if scripted and from_end == 1 else rng.choice(FAILURE_CODES)
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
            next_due = months_back(self.today, -1).replace(day=plan.collection_day)
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
