"""Console pages for one member: their record at a glance, their cases, and (for the data team)
the subject access export, downloaded and audited.

The export itself is api.data_protection.subject_access's; this module only finds the member,
lays the page out and hands the document over as a file.
"""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from api.cases.models import Case
from api.console.pages import csv_headers, page
from api.console.session import ConsoleUser, ConsoleUserDep, needs
from api.data_protection import subject_access
from api.deps import SessionDep, SettingsDep
from api.members.models import Member
from api.staff.permissions import Permission

router = APIRouter()
MembershipNumber = Annotated[str, PathParam(max_length=20)]


def _member(db: SessionDep, number: str) -> Member | None:
    return db.scalar(select(Member).where(Member.membership_number == number.strip()))


def _not_found(request: Request, who: ConsoleUser) -> HTMLResponse:
    return page("not_found.html", who, request, status_code=404,
                message="There is no member with that membership number.")


@router.get("/members", response_class=HTMLResponse, response_model=None)
def find_member(
    request: Request, who: ConsoleUserDep, db: SessionDep,
    number: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse | RedirectResponse:
    """Find a member by membership number."""
    if number is None or not number.strip():
        return page("members.html", who, request, number="", missing=False)
    member = _member(db, number)
    if member is None:
        return page("members.html", who, request, status_code=404, number=number.strip(),
                    missing=True)
    return RedirectResponse(f"/console/members/{quote(member.membership_number)}",
                            status_code=303)


@router.get("/members/{membership_number}", response_class=HTMLResponse)
def member_page(
    membership_number: MembershipNumber, request: Request, who: ConsoleUserDep, db: SessionDep
) -> HTMLResponse:
    """A member's record at a glance, with their cases and, for the data team, the export."""
    member = _member(db, membership_number)
    if member is None:
        return _not_found(request, who)
    cases = list(db.scalars(select(Case).where(Case.member_id == member.id)
                            .order_by(Case.created_at.desc(), Case.id.desc())))
    return page("member.html", who, request, member=member, cases=cases)


@router.get("/members/{membership_number}/subject-access-export", response_model=None)
def subject_access_export(
    membership_number: MembershipNumber, request: Request, db: SessionDep,
    settings: SettingsDep, who: ConsoleUser = needs(Permission.subject_access),
) -> Response:
    """Everything held about the member, as a JSON file (audited)."""
    member = _member(db, membership_number)
    if member is None:
        return _not_found(request, who)
    document = subject_access.produce(db_session=db, member=member,
                                      actor=f"staff:{who.user.username}", channel="console",
                                      settings=settings)
    headers = csv_headers(subject_access.filename_for(member))
    return Response(json.dumps(document, indent=2, ensure_ascii=False),
                    media_type="application/json", headers=headers)
