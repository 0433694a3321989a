"""Subscription rates by category and frequency, and the names of the categories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import NotFound
from api.members.models import Category, Frequency
from api.subscriptions.models import CategoryInfo, SubscriptionRate


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


def rate_or_none(
    *, db_session: Session, category: Category, frequency: Frequency, on: date
) -> SubscriptionRate | None:
    try:
        return rate_for(db_session=db_session, category=category, frequency=frequency, on=on)
    except NotFound:
        return None


def previous_rate(*, db_session: Session, rate: SubscriptionRate) -> SubscriptionRate | None:
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
            if (rate := rate_or_none(db_session=db_session, category=category,
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
