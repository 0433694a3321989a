"""Console pages for the queues and a case: member summary, transcript, live conversation.

Taking a case, replying, handing back and resolving are cases.work steps run as the signed-in
user; this module only turns them into pages and redirects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.cases import handoff as work
from api.cases import service as cases
from api.cases.models import Case
from api.console.pages import CaseRef, attempt, page
from api.console.session import ConsolePost, ConsoleUser, ConsoleUserDep
from api.deps import SessionDep, SettingsDep
from api.errors import DomainError
from api.payments import service as payments
from api.payments.models import RefundStatus
from api.staff.models import StaffUser

router = APIRouter()

Text = Annotated[str | None, Form(max_length=5000)]


def _queue_context(db: SessionDep, settings: SettingsDep, who: ConsoleUser,
                   team: str | None) -> dict[str, Any]:
    all_teams = work.teams(db_session=db)
    chosen = next((t for t in all_teams if t.code == team), None)
    if team is None and who.user.team is not None:
        chosen = who.user.team
    entries = work.queue(db_session=db, team_id=chosen.id if chosen else None, settings=settings)
    return {"teams": all_teams, "team": chosen, "entries": entries}


@router.get("/queue", response_class=HTMLResponse)
def queue_page(
    request: Request, who: ConsoleUserDep, db: SessionDep, settings: SettingsDep,
    team: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """Cases waiting for a person, by team, most urgent first, with their SLA timers."""
    return page("queue.html", who, request, **_queue_context(db, settings, who, team))


@router.get("/queue/rows", response_class=HTMLResponse)
def queue_rows(
    request: Request, who: ConsoleUserDep, db: SessionDep, settings: SettingsDep,
    team: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """The queue's rows alone (htmx refreshes them, so timers and new cases show up)."""
    return page("_queue_rows.html", who, request, **_queue_context(db, settings, who, team))


def _case_context(db: SessionDep, case: Case) -> dict[str, Any]:
    member = cases.member_for_case(db_session=db, case=case)
    pending = work.pending_changes_for(db_session=db, member_id=case.member_id)
    refunds = [
        r for r in payments.refund_requests(db_session=db, status=RefundStatus.pending_review)
        if case.member_id is not None and r.member_id == case.member_id
    ]
    return {
        "case": case,
        "team": cases.team_of(db_session=db, case=case),
        "member": member,
        "pending": pending,
        "refunds": refunds,
        "names": work.staff_names(db_session=db, case=case),
        "assignee": db.get(StaffUser, case.assigned_staff_id)
        if case.assigned_staff_id else None,
        "live": case.status in work.LIVE_STATUSES,
        "money": payments.money,
    }


@router.get("/cases/{reference}", response_class=HTMLResponse)
def case_page(
    reference: CaseRef, request: Request, who: ConsoleUserDep, db: SessionDep
) -> HTMLResponse:
    """Everything about a case on one page."""
    try:
        case = cases.get_case(db_session=db, reference=reference)
    except DomainError as exc:
        return page("not_found.html", who, request, status_code=404, message=exc.message)
    return page("case.html", who, request, **_case_context(db, case))


@router.get("/cases/{reference}/conversation", response_class=HTMLResponse)
def conversation_part(
    reference: CaseRef, request: Request, who: ConsoleUserDep, db: SessionDep
) -> HTMLResponse:
    """The conversation alone: htmx polls it, so the member's replies appear without a reload."""
    case = cases.get_case(db_session=db, reference=reference)
    db.refresh(case)
    return page("_conversation.html", who, request, **_case_context(db, case))


def _case_action(
    who: ConsoleUser, reference: str, db: SessionDep, act: Callable[..., object], done: str,
    **fields: Any,
) -> RedirectResponse:
    """Run a cases.work step on the case as the signed-in user, then back to the case page."""

    def run() -> str:
        case = cases.get_case(db_session=db, reference=reference)
        act(db_session=db, case=case, user=who.user, channel="console", **fields)
        return done

    return attempt(who, db, f"/console/cases/{quote(reference)}", run)


@router.post("/cases/{reference}/take")
def take(reference: CaseRef, who: ConsolePost, db: SessionDep) -> RedirectResponse:
    """Take the case: the member is told who has joined."""
    return _case_action(
        who, reference, db, work.take_case,
        "You have taken the case; the member has been told you joined.",
    )


@router.post("/cases/{reference}/messages")
def send_message(
    reference: CaseRef, who: ConsolePost, db: SessionDep, request: Request,
    text: Text = None, kind: Annotated[Literal["reply", "note"], Form()] = "reply",
) -> Response:
    """A reply to the member, or an internal note."""
    if request.headers.get("hx-request"):
        case = cases.get_case(db_session=db, reference=reference)
        try:
            work.send_staff_message(db_session=db, case=case, user=who.user, text=text,
                                    kind=kind, channel="console")
        except DomainError as exc:
            db.rollback()
            return page("_conversation.html", who, request, status_code=200,
                        failure=exc.message, **_case_context(db, case))
        db.refresh(case)
        return page("_conversation.html", who, request, **_case_context(db, case))
    return _case_action(
        who, reference, db, work.send_staff_message,
        "Note added." if kind == "note" else "Sent to the member.",
        text=text, kind=kind,
    )


@router.post("/cases/{reference}/hand-back")
def hand_back(
    reference: CaseRef, who: ConsolePost, db: SessionDep,
    note: Annotated[str | None, Form(max_length=1000)] = None,
) -> RedirectResponse:
    """Give the conversation back to the assistant, with what was learned."""
    return _case_action(
        who, reference, db, work.hand_back, "Handed back to the assistant.", note=note
    )


@router.post("/cases/{reference}/resolve")
def resolve(
    reference: CaseRef, who: ConsolePost, db: SessionDep,
    outcome: Annotated[str | None, Form(max_length=500)] = None,
) -> RedirectResponse:
    """Close the case with an outcome the member is told."""
    return _case_action(who, reference, db, work.resolve, "Case resolved.", outcome=outcome)
