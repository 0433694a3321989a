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
from api.errors import Conflict, InvalidValue
from api.members.models import Category, Frequency, Member, Status
from api.money import money
from api.payments.bacs import format_day
from api.payments.models import Collection, CollectionStatus
from api.references import new_reference
from api.security import Caller
from api.subscriptions.rates import category_info, category_label, rate_for
from api.timekeeping import today, utcnow

CATEGORY_FIELD = "category"
_SCHEDULED_ACTION = "category_change_applied"
# Backdating further needs a person to look at the history; a date far ahead is likely a typo.
MAX_BACKDATE = timedelta(days=366)
MAX_AHEAD = timedelta(days=366)
PER = {Frequency.monthly: "a month", Frequency.annual: "a year"}


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

CIRCUMSTANCE_WORDS = {
    Circumstance.retirement: "retiring",
    Circumstance.student: "becoming a student",
    Circumstance.parental_leave: "parental leave",
    Circumstance.unemployment: "being out of work",
    Circumstance.career_break: "a career break",
    Circumstance.part_time: "going part time",
}


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
                   f"{PER[frequency]} from {format_day(effective_from)}.")
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
                   f"{money(new_amount)} {PER[frequency]}. Until then nothing changes.")
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
