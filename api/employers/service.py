"""Employers and workplaces: listing them, resolving the names members type, and the data
team's check of names new to the register (which count for no ballot until checked)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.audit.service import record
from api.employers.matching import EmploymentMatch, is_same_name, match_employment
from api.employers.models import Employer, Workplace
from api.errors import InvalidValue, NotAllowed, NotFound
from api.security import Caller
from api.staff.models import Role

T = TypeVar("T")


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


def _same_name(names: list[T], typed: str, name_of: Callable[[T], str]) -> T | None:
    return next((n for n in names if is_same_name(typed, name_of(n))), None)


def find_or_record_employer(*, db_session: Session, name: str) -> Employer:
    """The register's employer with this name (but for case and punctuation), or a new one
    recorded for the data team to check; never the nearest other name."""
    found = _same_name(list_employers(db_session=db_session), name, lambda e: e.name)
    if found is not None:
        return found
    employer = Employer(name=name, needs_review=True)
    db_session.add(employer)
    db_session.flush()
    return employer


def find_or_record_workplace(*, db_session: Session, employer: Employer, name: str) -> Workplace:
    """The employer's workplace with this name, or a new one recorded for the data team."""
    found = _same_name(list(employer.workplaces), name, lambda w: w.name)
    if found is not None:
        return found
    workplace = Workplace(employer=employer, name=name, needs_review=True)
    db_session.add(workplace)
    db_session.flush()
    return workplace


def resolve_employment(
    *,
    db_session: Session,
    employer: str,
    workplace: str,
    new_employer: bool = False,
    new_workplace: bool = False,
) -> tuple[Employer, Workplace]:
    """The employer and workplace named, recording unknown ones as new for review.

    Only names that are the same but for case and punctuation are taken from the register:
    employment decides ballots, so a close name goes back to the member with the candidates
    (InvalidValue) unless they said it is none of them (`new_employer`, `new_workplace`).
    """
    found = match(db_session=db_session, employer=employer, workplace=None)
    if found.status in ("likely", "choices") and not new_employer:
        raise InvalidValue(
            "That employer isn't on our list as you wrote it."
            + _suggestion(found, field="employer")
            + " If it is none of these, say so and we will add it for our data team to check.",
            field="employer",
        )
    chosen = find_or_record_employer(db_session=db_session, name=employer)
    at_workplace = match(db_session=db_session, employer=chosen.name, workplace=workplace)
    if at_workplace.status in ("likely", "choices") and not new_workplace:
        hint = _suggestion(at_workplace, field="workplace")
        raise InvalidValue(
            f"That workplace isn't one of {chosen.name}'s as you wrote it.{hint} If it is none"
            " of these, say so and we will add it for our data team to check.",
            field="workplace",
        )
    return chosen, find_or_record_workplace(db_session=db_session, employer=chosen, name=workplace)


# Who keeps the employer register: the same people who decide held changes.
REGISTER_KEEPERS = frozenset({Role.data_team.value, Role.team_lead.value, Role.admin.value})


def waiting_for_review(*, db_session: Session) -> list[Employer]:
    """Employers new to the register, or with a new workplace, that nobody has checked yet."""
    return [
        e
        for e in list_employers(db_session=db_session)
        if e.needs_review or any(w.needs_review for w in e.workplaces)
    ]


def mark_reviewed(
    *, db_session: Session, caller: Caller, employer: str, workplace: str | None
) -> Employer:
    """The data team has checked a name members gave: from now on it counts for ballots."""
    if caller.kind != "staff" or caller.role not in REGISTER_KEEPERS:
        raise NotAllowed("Only the data team, team leads and admins keep the employer register.")
    chosen = db_session.scalar(
        select(Employer).options(selectinload(Employer.workplaces)).where(Employer.name == employer)
    )
    if chosen is None:
        raise NotFound("No employer with that name on the register.", field="employer")
    chosen.needs_review = False
    if workplace is not None:
        place = next((w for w in chosen.workplaces if w.name == workplace), None)
        if place is None:
            raise NotFound(f"{chosen.name} has no workplace with that name.", field="workplace")
        place.needs_review = False
    record(
        db_session=db_session, actor=caller.actor, action="employer_reviewed",
        fields=["employer"] + (["workplace"] if workplace is not None else []),
        detail=f"{chosen.name} / {workplace}" if workplace else chosen.name,
    )
    db_session.commit()
    return chosen
