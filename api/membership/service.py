"""Joining, renewing, resigning and rejoining: what a member asks for about their membership.

Each one moves the member through the lifecycle in api.membership.status and reaches into the
domains it needs (payments for mandates and arrears, subscriptions for rates), which is why it
sits above them all.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.audit.service import record
from api.changes.models import ChangeRequest, ChangeStatus, IdentityLevel
from api.employers.service import find_or_record_employer, find_or_record_workplace
from api.errors import Conflict, InvalidValue
from api.members.models import (
    Category,
    EmploymentPeriod,
    Frequency,
    Member,
    PaymentMethod,
    Status,
    StatusPeriod,
)
from api.membership.status import Requester, change_status, status_change_request
from api.money import PENNY, money
from api.payments.arrears import arrears_for
from api.payments.models import Mandate, MandateStatus
from api.payments.service import cancel_live_mandates
from api.references import new_reference
from api.subscriptions.models import SubscriptionRate
from api.timekeeping import today


def _long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


@dataclass(frozen=True)
class Resignation:
    change: ChangeRequest
    effective_from: date
    mandates_cancelled: int


def resign(
    *,
    db_session: Session,
    member: Member,
    effective_from: date | None,
    reason: str | None,
    requester: Requester,
) -> Resignation:
    """Record a resignation and stop Direct Debit collections."""
    if member.status not in (Status.active, Status.grace):
        raise Conflict(_cannot_resign(member.status), field="status")
    effective = effective_from or today()
    old_status = member.status
    change_status(
        db_session=db_session,
        member=member,
        new_status=Status.resigned,
        effective_from=effective,
        actor=requester.actor,
        channel=requester.channel,
    )
    cancelled = cancel_live_mandates(
        db_session=db_session,
        member=member,
        actor=requester.actor,
        channel=requester.channel,
        why="on resignation",
    )
    change = status_change_request(
        db_session=db_session,
        member=member,
        old_status=old_status,
        new_value={"status": Status.resigned.value, "effective_from": effective.isoformat(),
                   "reason": reason},
        requester=requester,
    )
    db_session.commit()
    return Resignation(change=change, effective_from=effective, mandates_cancelled=cancelled)


def _cannot_resign(status: Status) -> str:
    if status == Status.applicant:
        return "Your application hasn't been accepted yet, so there's no membership to resign."
    if status in (Status.resigned, Status.lapsed):
        return f"Your membership has already ended ({status.value})."
    return "This membership has been closed."


@dataclass(frozen=True)
class RenewalTerms:
    """What renewal means for this member, in plain words."""

    renews_automatically: bool
    renewal_date: date | None
    amount: Decimal
    arrears: Decimal
    message: str


def renewal_terms(*, db_session: Session, member: Member) -> RenewalTerms:
    """How this member's membership renews; nothing is changed."""
    if member.status in (Status.lapsed, Status.resigned):
        raise Conflict(
            "Your membership has ended, so there's nothing to renew: you can rejoin instead.",
            field="status",
        )
    if member.status == Status.deceased:
        raise Conflict("This membership has been closed.", field="status")
    if member.status == Status.applicant:
        raise Conflict(
            "Your application hasn't been accepted yet; renewal starts after your first year.",
            field="status",
        )
    arrears = arrears_for(db_session=db_session, member=member)
    amount = Decimal(member.subscription_amount).quantize(PENNY)
    owing = (
        f" You currently owe {money(arrears)}; please clear that to stay covered."
        if arrears > 0
        else ""
    )
    if member.payment_frequency == Frequency.monthly:
        message = (
            f"You pay {money(amount)} a month, so your membership renews automatically "
            "each month while your payments continue. There's nothing you need to do."
        )
        return RenewalTerms(True, member.renewal_date, amount, arrears, message + owing)
    if member.renewal_date is None:
        message = (
            f"You pay {money(amount)} a year. We don't have a renewal date on your record, so "
            "the membership team will confirm it."
        )
    elif member.payment_method == PaymentMethod.direct_debit:
        message = (
            f"Your membership renews on {_long_date(member.renewal_date)}. The annual "
            f"subscription of {money(amount)} will be collected by Direct Debit, with "
            "advance notice before the collection."
        )
    else:
        message = (
            f"Your membership renews on {_long_date(member.renewal_date)}. The annual "
            f"subscription is {money(amount)}; we'll send a secure link to pay it."
        )
    return RenewalTerms(False, member.renewal_date, amount, arrears, message + owing)


@dataclass(frozen=True)
class Rejoining:
    change: ChangeRequest
    needs_payment_method: bool


def rejoin(*, db_session: Session, member: Member, requester: Requester) -> Rejoining:
    """Make a lapsed or resigned member active again, once nothing is owed."""
    if member.status not in (Status.lapsed, Status.resigned):
        if member.status in (Status.active, Status.grace):
            raise Conflict("You're already a member, so there's no need to rejoin.", field="status")
        if member.status == Status.applicant:
            raise Conflict("Your application is already with us.", field="status")
        raise Conflict("This membership has been closed.", field="status")
    arrears = arrears_for(db_session=db_session, member=member)
    if arrears > 0:
        raise Conflict(
            f"There are arrears of {money(arrears)} on your membership. Once they're cleared "
            "you can rejoin, and your membership can continue unbroken.",
            field="arrears",
        )
    old_status = member.status
    effective = today()
    change_status(
        db_session=db_session,
        member=member,
        new_status=Status.active,
        effective_from=effective,
        actor=requester.actor,
        channel=requester.channel,
    )
    change = status_change_request(
        db_session=db_session,
        member=member,
        old_status=old_status,
        new_value={"status": Status.active.value, "effective_from": effective.isoformat()},
        requester=requester,
    )
    has_mandate = db_session.scalar(
        select(func.count()).select_from(Mandate).where(
            Mandate.member_id == member.id, Mandate.status == MandateStatus.active
        )
    )
    needs_payment_method = member.payment_method == PaymentMethod.none or (
        member.payment_method == PaymentMethod.direct_debit and not has_mandate
    )
    db_session.commit()
    return Rejoining(change=change, needs_payment_method=needs_payment_method)


def accept_application(
    *, db_session: Session, member: Member, requester: Requester
) -> ChangeRequest:
    """Accept an applicant: their membership starts today."""
    if member.status != Status.applicant:
        raise Conflict("Only an application waiting to be accepted can be accepted.",
                       field="status")
    change_status(
        db_session=db_session,
        member=member,
        new_status=Status.active,
        effective_from=today(),
        actor=requester.actor,
        channel=requester.channel,
    )
    member.joined_on = today()
    change = status_change_request(
        db_session=db_session,
        member=member,
        old_status=Status.applicant,
        new_value={"status": Status.active.value, "effective_from": today().isoformat()},
        requester=requester,
    )
    db_session.commit()
    return change


@dataclass(frozen=True)
class Application:
    """A would-be member's details, already validated by the schema."""

    title: str | None
    first_name: str
    last_name: str
    date_of_birth: date
    email: str | None
    phone: str | None
    address_line1: str
    address_line2: str | None
    town: str
    postcode: str
    employer: str | None
    workplace: str | None
    job_title: str | None
    grade: str | None
    category: Category
    payment_frequency: Frequency
    payment_method: PaymentMethod


def subscription_for(*, db_session: Session, category: Category, frequency: Frequency) -> Decimal:
    """The rate in force today for a category and frequency; 0 when none is configured."""
    amount = db_session.scalar(
        select(SubscriptionRate.amount)
        .where(
            SubscriptionRate.category == category,
            SubscriptionRate.frequency == frequency,
            SubscriptionRate.effective_from <= today(),
        )
        .order_by(SubscriptionRate.effective_from.desc())
        .limit(1)
    )
    return Decimal(amount) if amount is not None else Decimal("0.00")


def _new_membership_number(db_session: Session) -> str:
    for _ in range(20):
        candidate = str(1_000_000 + secrets.randbelow(9_000_000))
        taken = db_session.scalar(
            select(Member.id).where(Member.membership_number == candidate)
        )
        if taken is None:
            return candidate
    raise Conflict("We couldn't allocate a membership number just now. Please try again.")


def apply_to_join(
    *, db_session: Session, application: Application, actor: str, channel: str
) -> tuple[Member, ChangeRequest]:
    """Create an applicant member with a new membership number."""
    if application.date_of_birth >= today():
        raise InvalidValue("date_of_birth must be in the past.", field="date_of_birth")
    if application.workplace and not application.employer:
        raise InvalidValue("Name the employer as well as the workplace.", field="employer")
    duplicate = db_session.scalar(
        select(Member.id).where(
            func.lower(Member.first_name) == application.first_name.lower(),
            func.lower(Member.last_name) == application.last_name.lower(),
            Member.date_of_birth == application.date_of_birth,
            Member.postcode == application.postcode,
        )
    )
    if duplicate is not None:
        raise Conflict(
            "It looks like there's already a membership for these details. If you were a "
            "member before, you can rejoin rather than apply again; or ask us to look into it."
        )

    employer = workplace = None
    if application.employer:
        employer = find_or_record_employer(db_session=db_session, name=application.employer)
        if application.workplace:
            workplace = find_or_record_workplace(
                db_session=db_session, employer=employer, name=application.workplace
            )

    member = Member(
        # Random rather than sequential, so numbers can't be guessed from one another. A clash
        # between two simultaneous applications is refused by the unique index.
        membership_number=_new_membership_number(db_session),
        title=application.title,
        first_name=application.first_name,
        last_name=application.last_name,
        date_of_birth=application.date_of_birth,
        email=application.email,
        phone=application.phone,
        address_line1=application.address_line1,
        address_line2=application.address_line2,
        town=application.town,
        postcode=application.postcode,
        employer_id=employer.id if employer else None,
        workplace_id=workplace.id if workplace else None,
        job_title=application.job_title,
        grade=application.grade,
        category=application.category,
        status=Status.applicant,
        payment_method=application.payment_method,
        payment_frequency=application.payment_frequency,
        subscription_amount=subscription_for(
            db_session=db_session,
            category=application.category,
            frequency=application.payment_frequency,
        ),
        arrears_brought_forward=Decimal("0.00"),
        joined_on=today(),
        marketing_consent=False,
    )
    db_session.add(member)
    db_session.flush()
    db_session.add(StatusPeriod(member_id=member.id, status=Status.applicant,
                                effective_from=member.joined_on))
    db_session.add(EmploymentPeriod(member_id=member.id, employer_id=member.employer_id,
                                    workplace_id=member.workplace_id,
                                    effective_from=member.joined_on))
    change = ChangeRequest(
        reference=new_reference("CR"),
        member_id=member.id,
        field="application",
        old_value=None,
        new_value=Status.applicant.value,
        channel=channel,
        identity_level=IdentityLevel.none,
        status=ChangeStatus.applied,
        requested_by=actor,
    )
    db_session.add(change)
    record(
        db_session=db_session,
        actor=actor,
        action="application_received",
        member_id=member.id,
        fields=("first_name", "last_name", "date_of_birth", "email", "phone", "address",
                "postcode", "employer", "workplace", "category", "payment_frequency"),
        channel=channel,
    )
    db_session.commit()
    return member, change
