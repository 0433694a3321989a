"""Request and response bodies for staff sign-in."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SignIn(BaseModel):
    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


class SignedIn(BaseModel):
    token: str
    role: str
    display_name: str


class TeamPublic(BaseModel):
    code: str
    name: str
    email: str | None


class StaffPublic(BaseModel):
    username: str
    display_name: str
    email: str
    role: str
    team: TeamPublic | None
