"""What the API says about employers and how a typed name matched them."""

from __future__ import annotations

from pydantic import BaseModel

from api.employers.matching import MatchStatus


class EmployerPublic(BaseModel):
    """An employer and the names of its workplaces."""

    name: str
    workplaces: list[str]


class EmploymentChoice(BaseModel):
    """One candidate employer (and workplace) to read back to the member."""

    employer: str
    workplace: str | None


class EmploymentMatchPublic(BaseModel):
    """exact: use it; likely: confirm it with the member; choices: ask which; none: not ours."""

    status: MatchStatus
    employer: str | None
    workplace: str | None
    choices: list[EmploymentChoice]
