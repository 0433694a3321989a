"""Employers: the list, and matching what a member typed to it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CallerDep, SessionDep
from api.employers import service
from api.employers.schemas import EmployerPublic, EmploymentChoice, EmploymentMatchPublic
from api.errors import InvalidValue

router = APIRouter(tags=["employers"])


@router.get("/employers", response_model=list[EmployerPublic])
def list_employers(_caller: CallerDep, db: SessionDep) -> list[EmployerPublic]:
    """Every employer with its workplaces."""
    return [
        EmployerPublic(name=e.name, workplaces=[w.name for w in e.workplaces])
        for e in service.list_employers(db_session=db)
    ]


@router.get("/employers/match", response_model=EmploymentMatchPublic)
def match_employer(
    _caller: CallerDep,
    db: SessionDep,
    employer: Annotated[str | None, Query(max_length=200)] = None,
    workplace: Annotated[str | None, Query(max_length=200)] = None,
) -> EmploymentMatchPublic:
    """How a typed employer and/or workplace match our list, forgiving small misspellings."""
    if not (employer or "").strip() and not (workplace or "").strip():
        raise InvalidValue("Give an employer, a workplace or both.", field="employer")
    found = service.match(db_session=db, employer=employer, workplace=workplace)
    return EmploymentMatchPublic(
        status=found.status,
        employer=found.employer,
        workplace=found.workplace,
        choices=[
            EmploymentChoice(employer=c.employer, workplace=c.workplace) for c in found.choices
        ],
    )
