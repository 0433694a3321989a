"""What the API says about a member."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel

from api.members.models import Category, Frequency, Member, PaymentMethod, Status


class MemberPublic(BaseModel):
    """A member's record: the columns of the import contract, plus version and live arrears."""

    membership_number: str
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
    status: Status
    payment_method: PaymentMethod
    payment_frequency: Frequency
    subscription_amount: Decimal
    arrears: Decimal
    joined_on: date
    renewal_date: date | None
    marketing_consent: bool
    # Send this back with a change so that a change made meanwhile is not overwritten.
    version: int

    @classmethod
    def from_member(cls, member: Member, *, arrears: Decimal) -> MemberPublic:
        """The public view of `member`, with arrears worked out by the caller."""
        return cls(
            membership_number=member.membership_number,
            title=member.title,
            first_name=member.first_name,
            last_name=member.last_name,
            date_of_birth=member.date_of_birth,
            email=member.email,
            phone=member.phone,
            address_line1=member.address_line1,
            address_line2=member.address_line2,
            town=member.town,
            postcode=member.postcode,
            employer=member.employer.name if member.employer else None,
            workplace=member.workplace.name if member.workplace else None,
            job_title=member.job_title,
            grade=member.grade,
            category=member.category,
            status=member.status,
            payment_method=member.payment_method,
            payment_frequency=member.payment_frequency,
            subscription_amount=member.subscription_amount,
            arrears=arrears,
            joined_on=member.joined_on,
            renewal_date=member.renewal_date,
            marketing_consent=member.marketing_consent,
            version=member.version,
        )


class MemberEmailMatch(BaseModel):
    """Just enough to tell which member an email probably came from; not an identity check."""

    membership_number: str
    first_name: str
    last_name: str
    status: Status
