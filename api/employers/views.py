"""Employers: the list, and matching what a member typed to it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CallerDep, SessionDep, StaffCaller
from api.employers import service
from api.employers.models import Employer
from api.employers.schemas import (
    EmployerForReview,
    EmployerPublic,
    EmployerReviewed,
    EmploymentChoice,
    EmploymentMatchPublic,
)
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


def _for_review(employer: Employer) -> EmployerForReview:
    return EmployerForReview(
        name=employer.name,
        workplaces=[w.name for w in employer.workplaces],
        needs_review=employer.needs_review,
        workplaces_for_review=[w.name for w in employer.workplaces if w.needs_review],
    )


@router.get("/employers/for-review", response_model=list[EmployerForReview])
def employers_for_review(_staff: StaffCaller, db: SessionDep) -> list[EmployerForReview]:
    """Names members gave that are not yet checked, so count for no ballot."""
    return [_for_review(e) for e in service.waiting_for_review(db_session=db)]


@router.post("/employers/reviewed", response_model=EmployerForReview)
def employer_reviewed(
    body: EmployerReviewed, staff: StaffCaller, db: SessionDep
) -> EmployerForReview:
    """The data team confirms an employer (or one of its workplaces) is a real, distinct entry."""
    employer = service.mark_reviewed(
        db_session=db, caller=staff, employer=body.employer, workplace=body.workplace
    )
    return _for_review(employer)
