"""Employers and their workplaces: they decide which ballots a member is in.

The register is the data team's. A name a member gives that is not on it is recorded with
`needs_review` set: it is kept (never refused, never swapped for the nearest name) but counts
for no ballot until the data team has checked it.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.database import Base


class Employer(Base):
    __tablename__ = "employers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    workplaces: Mapped[list[Workplace]] = relationship(
        back_populates="employer", order_by="Workplace.name"
    )


class Workplace(Base):
    __tablename__ = "workplaces"
    __table_args__ = (UniqueConstraint("employer_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    employer: Mapped[Employer] = relationship(back_populates="workplaces")
