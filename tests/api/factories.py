"""Factories for test data: a member with sensible defaults, overridable field by field."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.ballots.models import Ballot, BallotMethod
from api.employers.models import Employer, Workplace
from api.members.models import (
    Category,
    EmploymentPeriod,
    Frequency,
    Member,
    PaymentMethod,
    Status,
    StatusPeriod,
)
from api.security import hash_password
from api.staff.models import Role, StaffUser, Team

_numbers = itertools.count(1000001)


def employer(
    db: Session,
    name: str = "Northshire NHS Trust",
    workplaces: tuple[str, ...] = ("General Hospital",),
) -> Employer:
    """An employer with workplaces (reused if it already exists)."""
    found = db.scalar(select(Employer).where(Employer.name == name))
    if found:
        return found
    emp = Employer(name=name, workplaces=[Workplace(name=w) for w in workplaces])
    db.add(emp)
    db.flush()
    return emp


def member(db: Session, **overrides: Any) -> Member:
    """An active full member at Northshire NHS Trust, with status and employment history."""
    emp = overrides.pop("employer", None) or employer(db)
    fields: dict[str, Any] = dict(
        membership_number=str(next(_numbers)),
        title="Ms",
        first_name="Alex",
        last_name="Morgan",
        date_of_birth=date(1985, 3, 14),
        email="alex.morgan@example.org",
        phone="07700900123",
        address_line1="1 High Street",
        town="Leeds",
        postcode="LS1 4AB",
        employer=emp,
        workplace=emp.workplaces[0] if emp.workplaces else None,
        job_title="Staff Nurse",
        grade="Band 5",
        category=Category.full,
        status=Status.active,
        payment_method=PaymentMethod.direct_debit,
        payment_frequency=Frequency.monthly,
        subscription_amount=Decimal("24.50"),
        joined_on=date(2015, 6, 1),
        marketing_consent=True,
    )
    fields.update(overrides)
    m = Member(**fields)
    db.add(m)
    db.flush()
    db.add(StatusPeriod(member_id=m.id, status=m.status, effective_from=m.joined_on))
    db.add(EmploymentPeriod(member_id=m.id, employer_id=m.employer_id,
                            workplace_id=m.workplace_id, effective_from=m.joined_on))
    db.commit()
    return m


def ballot(db: Session, *, employers: list[Employer], **overrides: Any) -> Ballot:
    """An open postal ballot over `employers`."""
    fields: dict[str, Any] = dict(
        ballot_code="IA-2026-PAY",
        title="Pay ballot 2026",
        question="Are you prepared to take part in strike action?",
        register_date=date(2026, 10, 1),
        opens_on=date(2026, 11, 1),
        closes_on=date(2026, 12, 15),
        method=BallotMethod.postal,
        turnout_threshold_percent=50,
    )
    fields.update(overrides)
    b = Ballot(**fields, employers=employers)
    db.add(b)
    db.commit()
    return b


def staff(
    db: Session, username: str = "sam.data", role: Role = Role.data_team, team: Team | None = None
) -> StaffUser:
    """A staff user whose password is 'correct horse battery staple'."""
    user = StaffUser(username=username, display_name=username.replace(".", " ").title(),
                     email=f"{username}@union.example", role=role, team=team,
                     password_hash=hash_password("correct horse battery staple"))
    db.add(user)
    db.commit()
    return user


# --- payments and subscriptions ---------------------------------------------------------------


def mandate(db: Session, member: Member, **overrides: Any) -> Any:
    """An active Direct Debit mandate collecting on the 1st, account ending 42."""
    from api.payments.models import Mandate, MandateStatus

    fields: dict[str, Any] = dict(
        member_id=member.id, reference=f"DD-T{member.membership_number}",
        status=MandateStatus.active, collection_day=1, account_last_two="42",
        created_on=date(2020, 1, 1),
    )
    fields.update(overrides)
    found = Mandate(**fields)
    db.add(found)
    db.commit()
    return found


def collection(db: Session, member: Member, **overrides: Any) -> Any:
    """A collected monthly Direct Debit subscription payment of the member's amount."""
    from api.payments.models import Collection, CollectionStatus

    fields: dict[str, Any] = dict(
        member_id=member.id, due_on=date(2026, 1, 1), amount=member.subscription_amount,
        method="direct_debit", status=CollectionStatus.collected, description="Subscription",
    )
    fields.update(overrides)
    found = Collection(**fields)
    db.add(found)
    db.commit()
    return found


def rate(db: Session, category: Category = Category.full, frequency: Frequency = Frequency.monthly,
         amount: str = "24.50", effective_from: date = date(2024, 4, 1),
         reason: str | None = None) -> Any:
    """A subscription rate row."""
    from api.subscriptions.models import SubscriptionRate

    found = SubscriptionRate(category=category, frequency=frequency, amount=Decimal(amount),
                             effective_from=effective_from, reason=reason)
    db.add(found)
    db.commit()
    return found


def category_info(db: Session, category: Category, label: str, who_qualifies: str) -> Any:
    """A category's label and who qualifies."""
    from api.subscriptions.models import CategoryInfo

    found = CategoryInfo(category=category, label=label, who_qualifies=who_qualifies)
    db.add(found)
    db.commit()
    return found


def payment_link_token(db: Session, settings: Any, member: Member) -> str:
    """A live link to set up a Direct Debit for `member`; the token from its address."""
    from api.payments import links
    from api.payments.models import PaymentLinkPurpose
    from api.security import Caller

    url, _link = links.create_link(
        db_session=db, settings=settings, member=member,
        purpose=PaymentLinkPurpose.set_up_mandate, caller=Caller(kind="service"),
        channel="webchat",
    )
    return url.rsplit("/", 1)[1]


def shows_card_number(text: str, card: str) -> bool:
    """Whether `card` is in the text, spaced as given, unspaced, or its first eight digits:
    never a bare "4111", which a timestamp's microseconds can hold by chance (".304111")."""
    return any(form in text for form in (card, card.replace(" ", ""), card[:9]))
