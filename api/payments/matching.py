"""Is this charge ours? The collections that explain an amount or date on a bank statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import InvalidValue
from api.members.models import Member
from api.money import PENNY, money
from api.payments.bacs import format_day
from api.payments.models import (
    Collection,
    CollectionStatus,
    Mandate,
)

# How far a date on a bank statement may sit from the collection's due date: Bacs takes up to
# three working days, and weekends and bank holidays push it further.
MATCH_DAYS = 5

MatchKind = Literal["amount_and_date", "amount", "date"]


@dataclass(frozen=True)
class CollectionMatch:
    collection: Collection
    matched_on: MatchKind
    explanation: str


def _describe_collection(collection: Collection, mandate_reference: str | None) -> str:
    what = collection.description or "Subscription"
    how = {
        "direct_debit": "by Direct Debit" + (f" (mandate {mandate_reference})" if mandate_reference
                                             else ""),
        "payroll": "through your payroll deduction",
        "card": "by card",
    }.get(collection.method, f"by {collection.method}")
    status = {
        CollectionStatus.collected: "was collected",
        CollectionStatus.scheduled: "is due to be collected",
        CollectionStatus.failed: "was attempted but your bank returned it, so nothing was taken",
        CollectionStatus.refunded: "was collected and has since been refunded",
    }[collection.status]
    return (
        f"{money(collection.amount)} on {format_day(collection.due_on)}: {what.lower()} "
        f"{how}, which {status}."
    )


def match_collections(
    *, db_session: Session, member: Member, amount: Decimal | None, on: date | None
) -> tuple[list[CollectionMatch], str]:
    """Collections that explain a charge of `amount` around `on`, with a summary for the member."""
    if amount is None and on is None:
        raise InvalidValue("Tell us the amount, the date, or both.", field="amount")
    query = select(Collection).where(Collection.member_id == member.id)
    if amount is not None:
        query = query.where(Collection.amount.between(amount - PENNY, amount + PENNY))
    if on is not None:
        window = timedelta(days=MATCH_DAYS)
        query = query.where(Collection.due_on.between(on - window, on + window))
    found = db_session.scalars(query.order_by(Collection.due_on.desc(), Collection.id.desc())).all()
    kind: MatchKind = "amount_and_date" if amount is not None and on is not None else (
        "amount" if amount is not None else "date")
    fell_back = False
    if not found and amount is not None and on is not None:
        # Bank statements are sometimes dated differently; the same amount at another time is
        # still worth showing, clearly labelled.
        found = db_session.scalars(
            select(Collection)
            .where(Collection.member_id == member.id,
                   Collection.amount.between(amount - PENNY, amount + PENNY))
            .order_by(Collection.due_on.desc(), Collection.id.desc())
            .limit(5)
        ).all()
        kind, fell_back = "amount", True
    if on is not None and not fell_back:
        found = sorted(found, key=lambda c: (abs((c.due_on - on).days), -c.id))
    references = {m.id: m.reference for m in db_session.scalars(
        select(Mandate).where(Mandate.member_id == member.id))}
    matches = [
        CollectionMatch(
            collection=c,
            matched_on=kind,
            explanation=_describe_collection(c, references.get(c.mandate_id or -1)),
        )
        for c in found
    ]
    asked = " ".join(
        part for part in (
            f"of {money(amount)}" if amount is not None else "",
            f"around {format_day(on)}" if on is not None else "",
        ) if part
    )
    if not matches:
        summary = (
            f"We can't find a payment {asked} from your membership. If it is on your bank "
            "statement under our name, our payments team can look into it; otherwise it may "
            "not be from us."
        )
    elif fell_back:
        summary = (
            f"There is no payment {asked}, but we did take {money(amount or Decimal(0))} on "
            "the dates below. Bank statements sometimes show a payment a few days later."
        )
    elif len(matches) == 1:
        summary = f"That looks like this payment: {matches[0].explanation}"
    else:
        summary = f"We found {len(matches)} payments {asked}; the closest is first."
    return matches, summary
