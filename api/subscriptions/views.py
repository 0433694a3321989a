"""Subscription routes: the published rates, what a member pays and why, circumstances."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from api.deps import CallerDep, ChannelDep, SessionDep
from api.members.deps import OwnedMember
from api.subscriptions import circumstances
from api.subscriptions import service as subscriptions
from api.subscriptions.rates import current_rates
from api.subscriptions.schemas import (
    CategoryRatesPublic,
    CircumstanceOutcomePublic,
    CircumstanceReport,
    RatePublic,
    RatesPublic,
    SubscriptionPublic,
)
from api.timekeeping import today

router = APIRouter(tags=["subscriptions"])


@router.get("/subscriptions/rates", response_model=RatesPublic)
def rates(_caller: CallerDep, db: SessionDep) -> RatesPublic:
    """The rates in force today for every category and frequency, with who qualifies."""
    on = today()
    return RatesPublic(
        on=on,
        categories=[
            CategoryRatesPublic(
                category=c.category, label=c.label, who_qualifies=c.who_qualifies,
                rates=[
                    RatePublic(frequency=r.frequency, amount=r.amount,
                               effective_from=r.effective_from)
                    for r in c.rates
                ],
            )
            for c in current_rates(db_session=db, on=on)
        ],
    )


@router.get("/members/{membership_number}/subscription", response_model=SubscriptionPublic)
def subscription(member: OwnedMember, db: SessionDep) -> SubscriptionPublic:
    """What the member pays, how, when next, and why it is that amount."""
    found = subscriptions.subscription_for(db_session=db, member=member)
    return SubscriptionPublic.model_validate(asdict(found))


@router.post(
    "/members/{membership_number}/circumstances",
    response_model=CircumstanceOutcomePublic,
    status_code=201,
)
def report_circumstances(
    body: CircumstanceReport, member: OwnedMember, db: SessionDep, caller: CallerDep,
    channel: ChannelDep,
) -> CircumstanceOutcomePublic:
    """A change of circumstances (retiring, parental leave...): the new category and rate."""
    outcome = circumstances.report_circumstance(
        db_session=db, member=member, circumstance=body.circumstance,
        effective_from=body.effective_from, caller=caller, channel=channel,
        claimed=body.identity_level, version=body.version,
    )
    return CircumstanceOutcomePublic.model_validate(asdict(outcome))
