"""What the imports (and the demo seed) share to write many rows at once.

The employer directory resolves employer and workplace names without a query per row; the
summary is what an import tells the operator and the audit log; table_of gives the Core
tables that bulk statements use. Nothing here reads a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from api.database import Base
from api.employers.models import Employer, Workplace

IMPORT_ACTOR = "system:import"


@dataclass
class ImportSummary:
    """What an import did, for the operator and the audit log."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    employers_created: int = 0
    workplaces_created: int = 0

    @property
    def changed_anything(self) -> bool:
        return bool(
            self.created or self.updated or self.employers_created or self.workplaces_created
        )

    def audit_detail(self, source_name: str) -> str:
        return (
            f"file={source_name}; created={self.created}; updated={self.updated}; "
            f"unchanged={self.unchanged}; employers_created={self.employers_created}; "
            f"workplaces_created={self.workplaces_created}"
        )


@dataclass
class EmployerDirectory:
    """Employers and workplaces by name, loaded once, created on first mention."""

    db_session: Session
    summary: ImportSummary
    employers: dict[str, int] = field(default_factory=dict)
    workplaces: dict[tuple[int, str], int] = field(default_factory=dict)

    @staticmethod
    def key(name: str) -> str:
        # "Northshire NHS trust " and "Northshire NHS Trust" are one employer, not two.
        return re.sub(r"\s+", " ", name).strip().casefold()

    def load(self) -> EmployerDirectory:
        for employer_id, name in self.db_session.execute(select(Employer.id, Employer.name)):
            self.employers.setdefault(self.key(name), employer_id)
        for workplace_id, employer_id, name in self.db_session.execute(
            select(Workplace.id, Workplace.employer_id, Workplace.name)
        ):
            self.workplaces.setdefault((employer_id, self.key(name)), workplace_id)
        return self

    def employer_id(self, name: str) -> int:
        """The employer called `name`, created if unknown."""
        found = self.employers.get(self.key(name))
        if found is None:
            found = self.db_session.execute(
                insert(Employer).values(name=name).returning(Employer.id)
            ).scalar_one()
            self.employers[self.key(name)] = found
            self.summary.employers_created += 1
        return found

    def workplace_id(self, employer_id: int, name: str) -> int:
        """The employer's workplace called `name`, created if unknown."""
        found = self.workplaces.get((employer_id, self.key(name)))
        if found is None:
            found = self.db_session.execute(
                insert(Workplace).values(employer_id=employer_id, name=name).returning(Workplace.id)
            ).scalar_one()
            self.workplaces[(employer_id, self.key(name))] = found
            self.summary.workplaces_created += 1
        return found


def table_of(model: type[Base]) -> Table:
    """The model's table, for Core bulk statements that skip per-object ORM bookkeeping."""
    return cast(Table, model.__table__)
