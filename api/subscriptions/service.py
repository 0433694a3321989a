"""Subscription rates, what a member pays and why, and changes of circumstances.

A change of circumstances is recorded as a ChangeRequest on the field "category", status
applied, with JSON values: old {"category", "subscription_amount"} and new {"category",
"subscription_amount", "effective_from", "circumstance"}. When the effective date is today or
earlier the member's category and amount change at once; when it is in the future the request
is recorded (applied, i.e. accepted) and the member's record changes on that date, through
`apply_due_category_changes`, run daily by the scheduler (once per request: the audit log
records that it was applied). Until then the subscription view shows it as the upcoming change.
Only the member's latest category request counts, so a newer one replaces a scheduled one.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.audit.service import record
from api.changes.models import ChangeRequest, ChangeStatus
from api.changes.requests import identity_level_for
from api.changes.schemas import ClaimedIdentity
from api.database import check_version
from api.errors import Conflict, InvalidValue, NotFound
from api.members.models import Category, Frequency, Member, PaymentMethod, Status
from api.money import money
from api.payments.bacs import format_day
from api.payments.models import Collection, CollectionStatus
from api.payments.service import active_mandate, next_collection_for
from api.references import new_reference
from api.security import Caller
from api.subscriptions.models import CategoryInfo, SubscriptionRate
from api.timekeeping import today, utcnow

CATEGORY_FIELD = "category"
_SCHEDULED_ACTION = "category_change_applied"
# Backdating further needs a person to look at the history; a date far ahead is likely a typo.
MAX_BACKDATE = timedelta(days=366)
MAX_AHEAD = timedelta(days=366)
_PER = {Frequency.monthly: "a month", Frequency.annual: "a year"}


class Circumstance(str, enum.Enum):
    retirement = "retirement"
    parental_leave = "parental_leave"
    unemployment = "unemployment"
    career_break = "career_break"
    part_time = "part_time"
    student = "student"


CATEGORY_FOR_CIRCUMSTANCE = {
    Circumstance.retirement: Category.retired,
    Circumstance.student: Category.student,
    Circumstance.parental_leave: Category.reduced,
    Circumstance.unemployment: Category.reduced,
    Circumstance.career_break: Category.reduced,
    Circumstance.part_time: Category.reduced,
}

_CIRCUMSTANCE_WORDS = {
    Circumstance.retirement: "retiring",
    Circumstance.student: "becoming a student",
    Circumstance.parental_leave: "parental leave",
    Circumstance.unemployment: "being out of work",
    Circumstance.career_break: "a career break",
    Circumstance.part_time: "going part time",
}


def rate_for(
    *, db_session: Session, category: Category, frequency: Frequency, on: date
) -> SubscriptionRate:
    """The rate in force on `on`: the latest effective_from on or before it; NotFound if none."""
    rate = db_session.scalar(
        select(SubscriptionRate)
        .where(
            SubscriptionRate.category == category,
            SubscriptionRate.frequency == frequency,
            SubscriptionRate.effective_from <= on,
        )
        .order_by(SubscriptionRate.effective_from.desc())
        .limit(1)
    )
    if rate is None:
        raise NotFound(
            f"There is no {frequency.value} rate for {category.value} members on {on.isoformat()}.",
            field="category",
        )
    return rate


def _rate_or_none(
    *, db_session: Session, category: Category, frequency: Frequency, on: date
) -> SubscriptionRate | None:
    try:
        return rate_for(db_session=db_session, category=category, frequency=frequency, on=on)
    except NotFound:
        return None


def _previous_rate(*, db_session: Session, rate: SubscriptionRate) -> SubscriptionRate | None:
    return db_session.scalar(
        select(SubscriptionRate)
        .where(
            SubscriptionRate.category == rate.category,
            SubscriptionRate.frequency == rate.frequency,
            SubscriptionRate.effective_from < rate.effective_from,
        )
        .order_by(SubscriptionRate.effective_from.desc())
        .limit(1)
    )


def category_info(*, db_session: Session) -> dict[Category, CategoryInfo]:
    """Every category's label and who qualifies, by category."""
    return {info.category: info for info in db_session.scalars(select(CategoryInfo))}


def category_label(category: Category, infos: dict[Category, CategoryInfo]) -> str:
    """The category's name as members see it."""
    info = infos.get(category)
    return info.label if info else category.value.capitalize()


@dataclass(frozen=True)
class CategoryRates:
    category: Category
    label: str
    who_qualifies: str | None
    rates: list[SubscriptionRate]


def current_rates(*, db_session: Session, on: date) -> list[CategoryRates]:
    """Each category with the rates in force on `on` for each frequency."""
    infos = category_info(db_session=db_session)
    result = []
    for category in Category:
        rates = [
            rate
            for frequency in Frequency
            if (rate := _rate_or_none(db_session=db_session, category=category,
                                      frequency=frequency, on=on)) is not None
        ]
        if not rates and category not in infos:
            continue
        info = infos.get(category)
        result.append(CategoryRates(
            category=category,
            label=category_label(category, infos),
            who_qualifies=info.who_qualifies if info else None,
            rates=rates,
        ))
    return result


@dataclass(frozen=True)
class CategoryChange:
    """A parsed category ChangeRequest."""

    change: ChangeRequest
    from_category: Category | None
    to_category: Category
    from_amount: Decimal | None
    to_amount: Decimal | None
    effective_from: date
    circumstance: Circumstance | None


def _parse_category_change(change: ChangeRequest) -> CategoryChange | None:
    # Category changes can also come from other routes (or the CRM) as plain values.
    def decode(raw: str | None) -> dict[str, str]:
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError:
            return {"category": raw}
        return value if isinstance(value, dict) else {"category": str(value)}

    old, new = decode(change.old_value), decode(change.new_value)
    try:
        to_category = Category(new.get("category", ""))
    except ValueError:
        return None
    try:
        from_category: Category | None = Category(old.get("category", ""))
    except ValueError:
        from_category = None
    requested: datetime = change.requested_at
    effective = new.get("effective_from")
    try:
        effective_from = date.fromisoformat(effective) if effective else requested.date()
    except ValueError:
        effective_from = requested.date()
    circumstance = new.get("circumstance", "")
    return CategoryChange(
        change=change,
        from_category=from_category,
        to_category=to_category,
        from_amount=Decimal(old["subscription_amount"]) if old.get("subscription_amount") else None,
        to_amount=Decimal(new["subscription_amount"]) if new.get("subscription_amount") else None,
        effective_from=effective_from,
        circumstance=(
            Circumstance(circumstance) if circumstance in Circumstance.__members__ else None
        ),
    )


def latest_category_change(*, db_session: Session, member: Member) -> CategoryChange | None:
    """The member's most recent accepted category change, if any."""
    changes = db_session.scalars(
        select(ChangeRequest)
        .where(
            ChangeRequest.member_id == member.id,
            ChangeRequest.field == CATEGORY_FIELD,
            ChangeRequest.status == ChangeStatus.applied,
        )
        .order_by(ChangeRequest.requested_at.desc(), ChangeRequest.id.desc())
    )
    for change in changes:
        parsed = _parse_category_change(change)
        if parsed is not None:
            return parsed
    return None


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
    rate = _rate_or_none(db_session=db_session, category=member.category, frequency=frequency,
                         on=on)
    amount = Decimal(member.subscription_amount).quantize(Decimal("0.01"))
    info = infos.get(member.category)
    parts = [f"You pay {money(amount)} {_PER[frequency]} as a {label} member"
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
        previous = _previous_rate(db_session=db_session, rate=rate)
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
                + (f", paying {money(upcoming.amount)} {_PER[frequency]}." if upcoming.amount
                   else ".")
            )
        else:
            from_label = (category_label(category_change.from_category, infos)
                          if category_change.from_category else "your previous category")
            why = (f" ({_CIRCUMSTANCE_WORDS[category_change.circumstance]})"
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


@dataclass(frozen=True)
class CircumstanceOutcome:
    reference: str
    new_category: Category
    new_category_label: str
    new_amount: Decimal
    frequency: Frequency
    effective_from: date
    applied_now: bool
    message: str
    refund_note: str | None
    possible_refund: Decimal | None


def _overpaid_since(
    *, db_session: Session, member: Member, since: date, new_amount: Decimal
) -> Decimal:
    collected: Sequence[Collection] = db_session.scalars(
        select(Collection).where(
            Collection.member_id == member.id,
            Collection.status == CollectionStatus.collected,
            Collection.description == "Subscription",
            Collection.due_on >= since,
        )
    ).all()
    return sum(
        (max(Decimal(c.amount) - new_amount, Decimal("0")) for c in collected), Decimal("0")
    ).quantize(Decimal("0.01"))


def report_circumstance(
    *,
    db_session: Session,
    member: Member,
    circumstance: Circumstance,
    effective_from: date,
    caller: Caller,
    channel: str,
    claimed: ClaimedIdentity | None = None,
    version: int | None = None,
) -> CircumstanceOutcome:
    """Record a change of circumstances: the new category and rate, now or from a future date."""
    check_version(member=member, version=version)
    on = today()
    if effective_from < on - MAX_BACKDATE:
        raise InvalidValue(
            "We can only backdate a change by up to a year here; our membership team can look "
            "at earlier dates.", field="effective_from",
        )
    if effective_from > on + MAX_AHEAD:
        raise InvalidValue("Tell us about a change up to a year ahead.", field="effective_from")
    if member.status in (Status.lapsed, Status.resigned, Status.deceased):
        raise Conflict(
            "This membership isn't current, so there is no subscription to change.",
            field="circumstance",
        )
    if member.category == Category.honorary:
        raise Conflict("Honorary members don't pay a subscription, so nothing changes.",
                       field="circumstance")
    new_category = CATEGORY_FOR_CIRCUMSTANCE[circumstance]
    infos = category_info(db_session=db_session)
    new_label = category_label(new_category, infos)
    pending = latest_category_change(db_session=db_session, member=member)
    scheduled_elsewhere = (
        pending is not None and pending.effective_from > on
        and pending.to_category != new_category
    )
    if member.category == new_category and not scheduled_elsewhere:
        raise Conflict(
            f"You're already a {new_label} member, so your rate doesn't change.",
            field="circumstance",
        )
    frequency = member.payment_frequency
    rate = rate_for(db_session=db_session, category=new_category, frequency=frequency,
                    on=effective_from)
    new_amount = Decimal(rate.amount).quantize(Decimal("0.01"))
    old = {
        "category": member.category.value,
        "subscription_amount": str(member.subscription_amount),
    }
    new = {
        "category": new_category.value,
        "subscription_amount": str(new_amount),
        "effective_from": effective_from.isoformat(),
        "circumstance": circumstance.value,
    }
    change = ChangeRequest(
        reference=new_reference("CR"),
        member_id=member.id,
        field=CATEGORY_FIELD,
        old_value=json.dumps(old, sort_keys=True),
        new_value=json.dumps(new, sort_keys=True),
        channel=channel,
        identity_level=identity_level_for(caller=caller, claimed=claimed),
        status=ChangeStatus.applied,
        requested_by=caller.actor,
        requested_by_staff_id=caller.staff_id if caller.kind == "staff" else None,
        requested_at=utcnow(),
    )
    db_session.add(change)
    applied_now = effective_from <= on
    refund_note = None
    possible_refund = None
    if applied_now:
        member.category = new_category
        member.subscription_amount = new_amount
        message = (f"You're now a {new_label} member, paying {money(new_amount)} "
                   f"{_PER[frequency]} from {format_day(effective_from)}.")
        if effective_from < on:
            possible_refund = _overpaid_since(
                db_session=db_session, member=member, since=effective_from, new_amount=new_amount
            )
            refund_note = (
                f"Since {format_day(effective_from)} we collected {money(possible_refund)} more "
                "than your new rate. You can ask for it back: our payments team approves refunds."
                if possible_refund > 0 else
                f"If you paid more than your new rate since {format_day(effective_from)}, you can "
                "ask for a refund of the difference; our payments team approves refunds."
            )
    else:
        message = (f"From {format_day(effective_from)} you'll be a {new_label} member, paying "
                   f"{money(new_amount)} {_PER[frequency]}. Until then nothing changes.")
    record(
        db_session=db_session, actor=caller.actor, action="circumstances_reported",
        member_id=member.id,
        fields=("category", "subscription_amount") if applied_now else ("category",),
        channel=channel, detail=f"{change.reference} {circumstance.value} {effective_from}",
    )
    db_session.commit()
    return CircumstanceOutcome(
        reference=change.reference,
        new_category=new_category,
        new_category_label=new_label,
        new_amount=new_amount,
        frequency=frequency,
        effective_from=effective_from,
        applied_now=applied_now,
        message=message,
        refund_note=refund_note,
        possible_refund=possible_refund if possible_refund else None,
    )


def apply_due_category_changes(*, db_session: Session, on: date | None = None) -> int:
    """Apply scheduled category changes whose date has come; returns how many members changed."""
    on = on or today()
    changes = db_session.scalars(
        select(ChangeRequest)
        .where(ChangeRequest.field == CATEGORY_FIELD, ChangeRequest.status == ChangeStatus.applied)
        .order_by(ChangeRequest.member_id, ChangeRequest.requested_at.desc(),
                  ChangeRequest.id.desc())
    )
    seen: set[int] = set()
    applied = 0
    for change in changes:
        if change.member_id in seen:
            continue
        seen.add(change.member_id)
        parsed = _parse_category_change(change)
        # Changes dated on or before the day they were made were applied there and then.
        if (parsed is None or parsed.effective_from > on
                or parsed.effective_from <= change.requested_at.date()):
            continue
        if db_session.scalar(select(AuditEvent.id).where(
                AuditEvent.action == _SCHEDULED_ACTION, AuditEvent.detail == change.reference)):
            continue
        member = db_session.get(Member, change.member_id)
        if member is None:
            continue
        member.category = parsed.to_category
        if parsed.to_amount is not None:
            member.subscription_amount = parsed.to_amount
        record(
            db_session=db_session, actor="system:scheduler", action=_SCHEDULED_ACTION,
            member_id=member.id, fields=("category", "subscription_amount"),
            detail=change.reference,
        )
        applied += 1
    db_session.commit()
    return applied
