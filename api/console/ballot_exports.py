"""Console pages for the independent scrutineer: ballots and their audited CSV exports.

Who is in a constituency is the ballots service's answer; this module only lays it out as the
scrutineer's files and records that they were taken.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from api.ballots import service as ballots
from api.ballots.models import Ballot
from api.console.pages import csv_download, page
from api.console.session import ConsoleUser, needs
from api.deps import SessionDep
from api.errors import DomainError
from api.staff.permissions import Permission

router = APIRouter()


@router.get("/ballots", response_class=HTMLResponse)
def ballots_page(
    request: Request, db: SessionDep, who: ConsoleUser = needs(Permission.ballot_exports)
) -> HTMLResponse:
    """Ballots and their exports for the independent scrutineer."""
    found = list(db.scalars(select(Ballot).order_by(Ballot.closes_on.desc(), Ballot.ballot_code)))
    return page("ballots.html", who, request, ballots=found)


def _ballot(db: SessionDep, code: str) -> Ballot:
    try:
        return ballots.get_ballot(db_session=db, ballot_code=code)
    except DomainError as exc:
        raise HTTPException(404, exc.message) from None


@router.get("/ballots/{ballot_code}/constituency.csv")
def constituency_csv(
    ballot_code: Annotated[str, PathParam(max_length=40)], db: SessionDep,
    who: ConsoleUser = needs(Permission.ballot_exports),
) -> Response:
    """The constituency as at the register date, with postal addresses (audited)."""
    ballot = _ballot(db, ballot_code)
    voters = ballots.constituency(db_session=db, ballot=ballot)
    rows = [["membership_number", "title", "first_name", "last_name", "address_line1",
             "address_line2", "town", "postcode", "employer", "workplace"]]
    for v in voters:
        m = v.member
        rows.append([m.membership_number, m.title or "", m.first_name, m.last_name,
                     m.address_line1, m.address_line2 or "", m.town, m.postcode, v.employer.name,
                     v.workplace_name or ""])
    ballots.record_scrutineer_export(db_session=db, ballot=ballot, what="constituency",
                                     rows=len(voters), actor=f"staff:{who.user.username}")
    return csv_download(rows, f"{ballot.ballot_code}-constituency-{ballot.register_date}.csv")


@router.get("/ballots/{ballot_code}/replacement-papers.csv")
def replacement_papers_csv(
    ballot_code: Annotated[str, PathParam(max_length=40)], db: SessionDep,
    who: ConsoleUser = needs(Permission.ballot_exports),
) -> Response:
    """Requests for replacement ballot papers, with the address each goes to (audited)."""
    ballot = _ballot(db, ballot_code)
    requests = ballots.replacement_requests(db_session=db, ballot=ballot)
    rows = [["reference", "membership_number", "first_name", "last_name", "address", "status",
             "requested_at", "channel"]]
    for req, m in requests:
        rows.append([req.reference, m.membership_number, m.first_name, m.last_name, req.address,
                     req.status.value, req.requested_at.isoformat(), req.channel])
    ballots.record_scrutineer_export(db_session=db, ballot=ballot, what="replacement_requests",
                                     rows=len(requests), actor=f"staff:{who.user.username}")
    return csv_download(rows, f"{ballot.ballot_code}-replacement-papers.csv")
