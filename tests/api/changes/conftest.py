"""Employers and ballots the change tests share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from api.ballots.models import Ballot
from api.employers.models import Employer
from api.timekeeping import today
from tests.api import factories


@dataclass
class Employers:
    nhs: Employer  # in the running ballot
    council: Employer  # in no ballot
    water: Employer  # in no ballot


@pytest.fixture
def employers(db: Session) -> Employers:
    return Employers(
        nhs=factories.employer(
            db, "Northshire NHS Trust", ("General Hospital", "St James's Hospital")
        ),
        council=factories.employer(db, "Leeds City Council", ("Civic Hall", "Merrion House")),
        water=factories.employer(db, "Yorkshire Water", ("Head Office",)),
    )


@pytest.fixture
def running_ballot(db: Session, employers: Employers) -> Ballot:
    """A strike ballot of Northshire NHS Trust staff, open now and closing in three weeks."""
    return factories.ballot(
        db,
        employers=[employers.nhs],
        register_date=today() - timedelta(days=10),
        opens_on=today() - timedelta(days=3),
        closes_on=today() + timedelta(days=21),
    )
