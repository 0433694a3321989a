"""What the API says about employers and how a typed name matched them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.employers.matching import MatchStatus


class EmployerPublic(BaseModel):
    """An employer and the names of its workplaces."""

    name: str
    workplaces: list[str]


class EmployerForReview(EmployerPublic):
    """A register entry members named that the data team has not checked: it counts for no
    ballot until then (the employer itself, or only the workplaces listed)."""

    needs_review: bool
    workplaces_for_review: list[str]


class EmployerReviewed(BaseModel):
    """The data team checked an employer (and, if given, one of its workplaces)."""

    model_config = ConfigDict(extra="forbid")

    employer: str = Field(max_length=200)
    workplace: str | None = Field(default=None, max_length=200)


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
