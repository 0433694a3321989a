"""Employers and workplaces: listing them and resolving the names members type."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.employers.matching import EmploymentMatch, match_employment
from api.employers.models import Employer, Workplace
from api.errors import InvalidValue


def list_employers(*, db_session: Session) -> list[Employer]:
    """Every employer with its workplaces, by name."""
    return list(
        db_session.scalars(
            select(Employer).options(selectinload(Employer.workplaces)).order_by(Employer.name)
        )
    )


def known_employment(*, db_session: Session) -> dict[str, list[str]]:
    """Employer name -> its workplace names, as the matcher wants them."""
    return {e.name: [w.name for w in e.workplaces] for e in list_employers(db_session=db_session)}


def match(*, db_session: Session, employer: str | None, workplace: str | None) -> EmploymentMatch:
    """How a typed employer and workplace match our list."""
    return match_employment(
        employer=employer, workplace=workplace, known=known_employment(db_session=db_session)
    )


def _suggestion(found: EmploymentMatch, *, field: str) -> str:
    if found.status == "likely":
        name = found.workplace if field == "workplace" else found.employer
        if name:
            return f" Did you mean {name}?"
    offered = [c.workplace if field == "workplace" else c.employer for c in found.choices]
    names = [n for n in dict.fromkeys(offered) if n]
    if names:
        return " Did you mean one of: " + "; ".join(names) + "?"
    return ""


def resolve_employment(
    *, db_session: Session, employer: str, workplace: str
) -> tuple[Employer, Workplace]:
    """The employer and workplace named, or InvalidValue with suggestions.

    Only names that are the same but for case and punctuation are accepted: employment decides
    ballots, so a likely guess goes back to the member to confirm instead of being applied.
    """
    found = match(db_session=db_session, employer=employer, workplace=None)
    if found.status != "exact" or found.employer is None:
        raise InvalidValue(
            "That employer isn't on our list." + _suggestion(found, field="employer"),
            field="employer",
        )
    chosen = db_session.scalar(
        select(Employer)
        .options(selectinload(Employer.workplaces))
        .where(Employer.name == found.employer)
    )
    assert chosen is not None
    at_workplace = match(db_session=db_session, employer=chosen.name, workplace=workplace)
    place = next((w for w in chosen.workplaces if w.name == at_workplace.workplace), None)
    if at_workplace.status != "exact" or place is None:
        hint = _suggestion(at_workplace, field="workplace")
        if not hint and chosen.workplaces:
            hint = " Its workplaces are: " + "; ".join(w.name for w in chosen.workplaces[:10]) + "."
        raise InvalidValue(f"That workplace isn't one of {chosen.name}'s.{hint}", field="workplace")
    return chosen, place
