"""Collections, failed payments, mandates and refund requests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.service import record
from api.errors import Conflict, InvalidValue, NotAllowed, NotFound
from api.members.models import Frequency, Member
from api.money import PENNY, money
from api.outbox.notices import tell_member_of_decision
from api.payments.arrears import arrears_for, unsettled_failed_collections
from api.payments.bacs import format_day, reason_for, what_happens_next
from api.payments.models import (
    Collection,
    CollectionStatus,
    Mandate,
    MandateStatus,
    RefundRequest,
    RefundStatus,
)
from api.references import new_reference
from api.security import Caller
from api.timekeeping import today, utcnow
from api.validation import clean_text

# Staff roles that may approve or reject refunds.
REFUND_DECIDERS = frozenset({"team_lead", "admin", "data_team"})


def _day_in_month(year: int, month: int, day: int) -> date:
    # Collection days are 1-28, so every month has them.
    return date(year, month, min(day, 28))


def next_collection_on(
    *, mandate: Mandate | None, frequency: Frequency, renewal_date: date | None, on: date
) -> date | None:
    """The next date the active mandate collects on or after `on`, or None when unknown."""
    if mandate is None or mandate.status != MandateStatus.active:
        return None
    day = mandate.collection_day
    if frequency == Frequency.annual:
        # Annual subscriptions are collected at renewal; without a renewal date we don't guess.
        if renewal_date is None or renewal_date < on:
            return None
        candidate = _day_in_month(renewal_date.year, renewal_date.month, day)
        if candidate < renewal_date:
            month = renewal_date.month % 12 + 1
            year = renewal_date.year + (renewal_date.month == 12)
            candidate = _day_in_month(year, month, day)
        return candidate
    candidate = _day_in_month(on.year, on.month, day)
    if candidate < on:
        month = on.month % 12 + 1
        year = on.year + (on.month == 12)
        candidate = _day_in_month(year, month, day)
    return candidate


def active_mandate(*, db_session: Session, member: Member) -> Mandate | None:
    """The member's active Direct Debit mandate, if any (the newest when several)."""
    return db_session.scalar(
        select(Mandate)
        .where(Mandate.member_id == member.id, Mandate.status == MandateStatus.active)
        .order_by(Mandate.created_on.desc(), Mandate.id.desc())
        .limit(1)
    )


def current_mandate(*, db_session: Session, member: Member) -> Mandate:
    """The active mandate, else the most recent one; NotFound when there has never been one."""
    mandate = active_mandate(db_session=db_session, member=member) or db_session.scalar(
        select(Mandate)
        .where(Mandate.member_id == member.id)
        .order_by(Mandate.created_on.desc(), Mandate.id.desc())
        .limit(1)
    )
    if mandate is None:
        raise NotFound("There is no Direct Debit on record for this membership.")
    return mandate


def next_collection_for(
    *, db_session: Session, member: Member, on: date | None = None
) -> date | None:
    """When the member's Direct Debit next collects, if it is active and the date is known."""
    return next_collection_on(
        mandate=active_mandate(db_session=db_session, member=member),
        frequency=member.payment_frequency,
        renewal_date=member.renewal_date,
        on=on or today(),
    )


def collections_for(*, db_session: Session, member: Member, limit: int) -> Sequence[Collection]:
    """The member's collections, newest first."""
    return db_session.scalars(
        select(Collection)
        .where(Collection.member_id == member.id)
        .order_by(Collection.due_on.desc(), Collection.id.desc())
        .limit(limit)
    ).all()


@dataclass(frozen=True)
class FailedCollection:
    """A failed collection and what it means for the member."""

    collection: Collection
    reason: str
    what_happens_next: str


def explain_failure(
    *, db_session: Session, member: Member, collection: Collection
) -> FailedCollection:
    """The plain-English reason a collection failed and what happens next."""
    retry_on = None
    if reason_for(collection.failure_code).will_retry:
        # The next collection is at least a day away: we cannot re-present on the day we say so.
        retry_on = next_collection_for(
            db_session=db_session, member=member, on=today() + timedelta(days=1)
        )
    return FailedCollection(
        collection=collection,
        reason=reason_for(collection.failure_code).explanation,
        what_happens_next=what_happens_next(collection.failure_code, retry_on=retry_on),
    )


def last_failed_collection(*, db_session: Session, member: Member) -> FailedCollection:
    """The member's most recent failed collection, explained; NotFound when none failed."""
    collection = db_session.scalar(
        select(Collection)
        .where(Collection.member_id == member.id, Collection.status == CollectionStatus.failed)
        .order_by(Collection.due_on.desc(), Collection.id.desc())
        .limit(1)
    )
    if collection is None:
        raise NotFound("No failed collections.")
    return explain_failure(db_session=db_session, member=member, collection=collection)


@dataclass(frozen=True)
class Arrears:
    """What the member owes and where it comes from."""

    amount: Decimal
    brought_forward: Decimal
    failed_collections: list[FailedCollection]


def arrears_summary(*, db_session: Session, member: Member) -> Arrears:
    """The arrears total with the unsettled failed collections that make it up."""
    failed = [
        explain_failure(db_session=db_session, member=member, collection=c)
        for c in unsettled_failed_collections(db_session=db_session, member=member)
    ]
    return Arrears(
        amount=arrears_for(db_session=db_session, member=member),
        brought_forward=Decimal(member.arrears_brought_forward or 0).quantize(PENNY),
        failed_collections=failed,
    )


def _parse_refund_amount(amount: Decimal | None) -> Decimal | None:
    if amount is None:
        return None
    if amount <= 0:
        raise InvalidValue("The refund amount must be more than £0.", field="amount")
    return amount.quantize(PENNY)


def request_refund(
    *,
    db_session: Session,
    member: Member,
    collection_due_on: date | None,
    amount: Decimal | None,
    reason: str,
    caller: Caller,
    channel: str,
) -> RefundRequest:
    """Record a member's refund request for staff to review, linked to the payment when known."""
    reason_text = clean_text(reason, field="reason", max_length=1000, required=True) or ""
    amount = _parse_refund_amount(amount)
    if collection_due_on is None and amount is None:
        raise InvalidValue(
            "Tell us which payment (the date it was taken) or how much should be refunded.",
            field="collection_due_on",
        )
    collection: Collection | None = None
    if collection_due_on is not None:
        candidates = db_session.scalars(
            select(Collection).where(
                Collection.member_id == member.id, Collection.due_on == collection_due_on
            ).order_by(Collection.id)
        ).all()
        if not candidates:
            raise InvalidValue(
                f"We can't find a payment taken on {format_day(collection_due_on)}.",
                field="collection_due_on",
            )
        taken = [c for c in candidates if c.status in (CollectionStatus.collected,
                                                       CollectionStatus.refunded)]
        if not taken:
            raise InvalidValue(
                f"The payment due on {format_day(collection_due_on)} was not taken, so there is "
                "nothing to refund.",
                field="collection_due_on",
            )
        if amount is not None and len(taken) > 1:
            same_amount = [c for c in taken if abs(c.amount - amount) <= PENNY]
            taken = same_amount or taken
        if len(taken) > 1:
            raise InvalidValue(
                "More than one payment was taken that day: tell us the amount as well.",
                field="amount",
            )
        collection = taken[0]
        if collection.status == CollectionStatus.refunded:
            raise Conflict("That payment has already been refunded.", field="collection_due_on")
        if amount is not None and amount > collection.amount:
            raise InvalidValue(
                f"That payment was {money(collection.amount)}; a refund can't be more.",
                field="amount",
            )
        already = db_session.scalar(
            select(RefundRequest).where(
                RefundRequest.collection_id == collection.id,
                RefundRequest.status == RefundStatus.pending_review,
            )
        )
        if already is not None:
            raise Conflict(
                f"A refund of that payment is already being reviewed (reference "
                f"{already.reference}).",
                field="collection_due_on",
            )
    refund = RefundRequest(
        reference=new_reference("RF"),
        member_id=member.id,
        collection_id=collection.id if collection else None,
        amount=amount if amount is not None or collection is None else collection.amount,
        reason=reason_text,
        channel=channel,
        status=RefundStatus.pending_review,
        requested_by=caller.actor,
        requested_at=utcnow(),
    )
    db_session.add(refund)
    record(
        db_session=db_session, actor=caller.actor, action="refund_requested", member_id=member.id,
        fields=("amount", "reason"), channel=channel,
        detail=f"{refund.reference} {money(refund.amount)}",
    )
    db_session.commit()
    return refund


def refund_requests(*, db_session: Session, status: RefundStatus | None) -> Sequence[RefundRequest]:
    """Refund requests, oldest first (the order staff work through them)."""
    query = select(RefundRequest).order_by(RefundRequest.requested_at, RefundRequest.id)
    if status is not None:
        query = query.where(RefundRequest.status == status)
    return db_session.scalars(query.limit(500)).all()


def refunds_for_member(*, db_session: Session, member: Member) -> Sequence[RefundRequest]:
    """A member's refund requests, newest first."""
    return db_session.scalars(
        select(RefundRequest)
        .where(RefundRequest.member_id == member.id)
        .order_by(RefundRequest.requested_at.desc(), RefundRequest.id.desc())
    ).all()


def decide_refund(
    *,
    db_session: Session,
    reference: str,
    decision: Literal["approve", "reject"],
    reason: str | None,
    caller: Caller,
    channel: str,
) -> RefundRequest:
    """Approve (marking the payment refunded) or reject a refund request; decided ones are final."""
    if caller.kind != "staff" or caller.role not in REFUND_DECIDERS:
        raise NotAllowed("Only a team lead, the data team or an admin can decide refunds.")
    reason_text = clean_text(reason, field="reason", max_length=500, required=decision == "reject")
    refund = db_session.scalar(
        select(RefundRequest).where(RefundRequest.reference == reference.strip().upper())
    )
    if refund is None:
        raise NotFound("No such refund request.")
    if refund.status != RefundStatus.pending_review:
        raise Conflict(f"This refund request was already {refund.status.value}.")
    if refund.requested_by == caller.actor:
        raise NotAllowed("You asked for this refund, so someone else must decide it.")
    if decision == "approve" and refund.collection_id is not None:
        collection = db_session.get(Collection, refund.collection_id)
        if collection is not None:
            if collection.status == CollectionStatus.refunded:
                raise Conflict("That payment has already been refunded.")
            collection.status = CollectionStatus.refunded
    refund.status = RefundStatus.approved if decision == "approve" else RefundStatus.rejected
    refund.decided_by_staff_id = caller.staff_id
    refund.decided_at = utcnow()
    refund.decision_reason = reason_text
    record(
        db_session=db_session, actor=caller.actor, action=f"refund_{refund.status.value}",
        member_id=refund.member_id, fields=("status",), channel=channel, detail=refund.reference,
    )
    member = db_session.get(Member, refund.member_id)
    if member is not None:
        tell_member_of_decision(
            db_session=db_session, member=member, reference=refund.reference,
            what=f"a refund of {money(refund.amount)}", approved=decision == "approve",
            reason=reason_text,
        )
    db_session.commit()
    return refund


def cancel_live_mandates(
    *, db_session: Session, member: Member, actor: str, channel: str | None, why: str
) -> int:
    """Cancel the member's active and pending Direct Debit mandates; returns how many."""
    mandates = db_session.scalars(
        select(Mandate).where(
            Mandate.member_id == member.id,
            Mandate.status.in_((MandateStatus.active, MandateStatus.pending)),
        )
    ).all()
    for mandate in mandates:
        mandate.status = MandateStatus.cancelled
        mandate.cancelled_on = today()
    if mandates:
        record(
            db_session=db_session,
            actor=actor,
            action="mandate_cancelled",
            member_id=member.id,
            channel=channel,
            detail=f"{len(mandates)} Direct Debit mandate(s) cancelled {why}",
        )
    return len(mandates)
