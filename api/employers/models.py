"""Employers and their workplaces: they decide which ballots a member is in."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.database import Base


class Employer(Base):
    __tablename__ = "employers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    workplaces: Mapped[list[Workplace]] = relationship(
        back_populates="employer", order_by="Workplace.name"
    )


class Workplace(Base):
    __tablename__ = "workplaces"
    __table_args__ = (UniqueConstraint("employer_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    employer: Mapped[Employer] = relationship(back_populates="workplaces")
