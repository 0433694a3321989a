"""What a member pays and why: their rate, how it is collected, and their latest change of
category (made or waiting for its date)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from api.members.models import Category, Frequency, Member, PaymentMethod
from api.money import money
from api.payments.bacs import format_day
from api.payments.service import active_mandate, next_collection_for
from api.subscriptions.circumstances import (
    CIRCUMSTANCE_WORDS,
    PER,
    latest_category_change,
)
from api.subscriptions.rates import category_info, category_label, previous_rate, rate_or_none
from api.timekeeping import today


@dataclass(frozen=True)
class LastChange:
    on: date
    from_amount: Decimal | None
    to_amount: Decimal | None
    reason: str


@dataclass(frozen=True)
class UpcomingChange:
    on: date
    category: Category
    category_label: str
    amount: Decimal | None
    reference: str


@dataclass(frozen=True)
class Subscription:
    """What the member pays, how, when next, and why."""

    category: Category
    category_label: str
    frequency: Frequency
    method: PaymentMethod
    amount: Decimal
    next_collection_date: date | None
    collection_note: str
    explanation: str
    last_change: LastChange | None
    upcoming_change: UpcomingChange | None


def _collection_note(*, member: Member, next_on: date | None, has_mandate: bool) -> str:
    if member.payment_method == PaymentMethod.payroll:
        employer = member.employer.name if member.employer else "your employer"
        return f"deducted from your pay by {employer}"
    if member.payment_method == PaymentMethod.direct_debit:
        if next_on:
            return f"collected by Direct Debit, next on {format_day(next_on)}"
        if has_mandate:
            return "collected by Direct Debit once a year, at renewal"
        return (
            "by Direct Debit, but there is no active Direct Debit on record, so nothing will be "
            "collected until a new one is set up"
        )
    if member.payment_method == PaymentMethod.card:
        return "paid by card on our secure payment page"
    return "no way of paying is set up yet"


def subscription_for(*, db_session: Session, member: Member) -> Subscription:
    """The member's subscription, explained, with its last and upcoming change."""
    on = today()
    infos = category_info(db_session=db_session)
    label = category_label(member.category, infos)
    frequency = member.payment_frequency
    next_on = (
        next_collection_for(db_session=db_session, member=member, on=on)
        if member.payment_method == PaymentMethod.direct_debit else None
    )
    has_mandate = active_mandate(db_session=db_session, member=member) is not None
    rate = rate_or_none(db_session=db_session, category=member.category, frequency=frequency,
                         on=on)
    amount = Decimal(member.subscription_amount).quantize(Decimal("0.01"))
    info = infos.get(member.category)
    parts = [f"You pay {money(amount)} {PER[frequency]} as a {label} member"
             + (f" ({info.who_qualifies.rstrip('.')})." if info and info.who_qualifies else ".")]
    if rate is None:
        parts.append(f"There is no published {frequency.value} rate for {label} members, so our "
                     "membership team set your amount.")
    elif Decimal(rate.amount) == amount:
        parts.append(f"That is the {frequency.value} rate for {label} members, in force since "
                     f"{format_day(rate.effective_from)}.")
    else:
        parts.append(f"The {frequency.value} rate for {label} members is {money(rate.amount)}, "
                     "which is different from what you pay; our payments team can check why.")

    candidates: list[tuple[date, LastChange]] = []
    if rate is not None:
        previous = previous_rate(db_session=db_session, rate=rate)
        if previous is not None:
            reason = rate.reason or f"The {label} {frequency.value} rate changed."
            candidates.append((rate.effective_from, LastChange(
                on=rate.effective_from, from_amount=Decimal(previous.amount),
                to_amount=Decimal(rate.amount), reason=reason,
            )))
    category_change = latest_category_change(db_session=db_session, member=member)
    upcoming = None
    if category_change is not None:
        if category_change.effective_from > on:
            upcoming = UpcomingChange(
                on=category_change.effective_from,
                category=category_change.to_category,
                category_label=category_label(category_change.to_category, infos),
                amount=category_change.to_amount,
                reference=category_change.change.reference,
            )
            parts.append(
                f"From {format_day(upcoming.on)} you will be a {upcoming.category_label} member"
                + (f", paying {money(upcoming.amount)} {PER[frequency]}." if upcoming.amount
                   else ".")
            )
        else:
            from_label = (category_label(category_change.from_category, infos)
                          if category_change.from_category else "your previous category")
            why = (f" ({CIRCUMSTANCE_WORDS[category_change.circumstance]})"
                   if category_change.circumstance else "")
            candidates.append((category_change.effective_from, LastChange(
                on=category_change.effective_from,
                from_amount=category_change.from_amount,
                to_amount=category_change.to_amount,
                reason=(f"Your category changed from {from_label} to "
                        f"{category_label(category_change.to_category, infos)}{why}."),
            )))
    # The most recent change explains the amount; on a tie the member's own change does.
    last_change = max(candidates, key=lambda c: c[0])[1] if candidates else None
    if len(candidates) == 2 and candidates[0][0] == candidates[1][0]:
        last_change = candidates[1][1]
    return Subscription(
        category=member.category,
        category_label=label,
        frequency=frequency,
        method=member.payment_method,
        amount=amount,
        next_collection_date=next_on,
        collection_note=_collection_note(member=member, next_on=next_on, has_mandate=has_mandate),
        explanation=" ".join(parts),
        last_change=last_change,
        upcoming_change=upcoming,
    )
