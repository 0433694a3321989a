"""Console pages for approvals: held changes and refund requests waiting for a decision.

The decision itself (never your own request, the member told) is the changes and payments
services' business; this module only turns it into a page and a redirect.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from api.cases import handoff as work
from api.changes import reviewing as changes
from api.changes.models import ChangeStatus
from api.console.pages import CaseRef, attempt, page
from api.console.session import ConsolePost, ConsoleUser, needs
from api.deps import SessionDep
from api.members.models import Member
from api.payments import service as payments
from api.payments.models import RefundStatus
from api.staff.permissions import Permission

router = APIRouter()


@router.get("/approvals", response_class=HTMLResponse)
def approvals(
    request: Request, db: SessionDep, who: ConsoleUser = needs(Permission.decide_changes)
) -> HTMLResponse:
    """Changes and refunds waiting for a decision, oldest first."""
    refunds = payments.refund_requests(db_session=db, status=RefundStatus.pending_review)
    members = {m.id: m for m in db.scalars(
        select(Member).where(Member.id.in_([r.member_id for r in refunds]))
    )} if refunds else {}
    return page(
        "approvals.html", who, request,
        changes=changes.review_queue(db_session=db, status=ChangeStatus.pending_review),
        refunds=[(r, members.get(r.member_id)) for r in refunds],
        money=payments.money,
    )


def _next(back_to: str | None) -> str:
    # Only back to a console page, never to another site.
    if back_to and back_to.startswith("/console/") and "//" not in back_to:
        return back_to
    return "/console/approvals"


@router.post("/change-requests/{reference}/decision")
def decide_change(
    reference: CaseRef, db: SessionDep, who: ConsolePost,
    decision: Annotated[Literal["approve", "reject"], Form()],
    reason: Annotated[str | None, Form(max_length=500)] = None,
    back_to: Annotated[str | None, Form(max_length=200)] = None,
) -> RedirectResponse:
    """Approve or reject a held change (never one you asked for); the member is told."""

    def run() -> str:
        result = changes.decide(
            db_session=db, reference=reference, caller=work.staff_caller(who.user),
            channel="console", decision=decision, reason=reason,
        )
        return result.message + " The member has been told."

    return attempt(who, db, _next(back_to), run)


@router.post("/refund-requests/{reference}/decision")
def decide_refund(
    reference: CaseRef, db: SessionDep, who: ConsolePost,
    decision: Annotated[Literal["approve", "reject"], Form()],
    reason: Annotated[str | None, Form(max_length=500)] = None,
    back_to: Annotated[str | None, Form(max_length=200)] = None,
) -> RedirectResponse:
    """Approve or reject a refund request; the member is told."""

    def run() -> str:
        refund = payments.decide_refund(
            db_session=db, reference=reference, decision=decision, reason=reason,
            caller=work.staff_caller(who.user), channel="console",
        )
        return f"Refund {refund.reference} is {refund.status.value}. The member has been told."

    return attempt(who, db, _next(back_to), run)
