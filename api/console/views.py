"""The staff console: HTML pages under /console (Jinja2, autoescaped; htmx for live parts).

Pages: sign-in, the queues, a case (member summary, transcript, live conversation, notes, held
changes), approvals, the dashboard, the data-quality report and the scrutineer's ballot
exports. Every route except sign-in and the static files needs a console session (see
api.console.session); every POST also needs the session's CSRF token. The work itself is done
by the domain services; this module only speaks HTTP.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select

from api.ballots import service as ballots
from api.ballots.models import Ballot
from api.cases import service as cases
from api.cases import work
from api.cases.models import Case
from api.changes import service as changes
from api.changes.models import ChangeStatus
from api.config import get_settings
from api.console.session import (
    COOKIE,
    SIGN_IN_COOKIE,
    ConsolePost,
    ConsoleUser,
    ConsoleUserDep,
    needs,
    set_cookie,
)
from api.deps import SessionDep, SettingsDep
from api.errors import DomainError, NotAuthenticated
from api.members.models import Member
from api.payments import service as payments
from api.payments.models import RefundStatus
from api.reports import charts, data_quality
from api.reports import service as reports
from api.staff import service as staff_service
from api.staff.models import StaffUser
from api.staff.permissions import ROLE_LABELS, Permission
from api.timekeeping import utcnow

router = APIRouter(prefix="/console", include_in_schema=False)

_ROOT = Path(__file__).resolve().parent.parent
_TEMPLATES = _ROOT / "templates" / "console"
_STATIC = _ROOT / "static" / "console"
# Browser packages come from npm (package.json), installed by scripts/setup.sh.
_NODE_MODULES = _ROOT.parent / "node_modules"
_STATIC_FILES = {
    "console.css": (_STATIC / "console.css", "text/css"),
    "console.js": (_STATIC / "console.js", "text/javascript"),
    "htmx.min.js": (_NODE_MODULES / "htmx.org" / "dist" / "htmx.min.js", "text/javascript"),
}
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
CaseRef = Annotated[str, PathParam(max_length=20)]
Text = Annotated[str | None, Form(max_length=5000)]


@lru_cache
def _templates() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(_TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.globals["diff"] = _change_rows
    env.filters["label"] = lambda value: str(value).replace("_", " ")
    return env


def _change_rows(change: Any) -> list[tuple[str, str, str]]:
    """A held change as (field, now, asked for) rows, leaving out internal ids."""
    try:
        old = json.loads(change.old_value or "{}")
        new = json.loads(change.new_value or "{}")
    except ValueError:
        return [("value", change.old_value or "", change.new_value or "")]
    names = [n for n in dict.fromkeys([*old, *new]) if not n.endswith("_id")]
    return [
        (name.replace("_", " "), "" if old.get(name) is None else str(old.get(name)),
         "" if new.get(name) is None else str(new.get(name)))
        for name in names
    ]


def _when(moment: datetime | str | None) -> str:
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        try:
            parsed = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    else:
        parsed = moment
    aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return aware.astimezone(ZoneInfo(get_settings().timezone)).strftime("%d %b %Y %H:%M")


def _page(
    name: str, who: ConsoleUser | None, request: Request, status_code: int = 200, **context: Any
) -> HTMLResponse:
    html = _templates().get_template(name).render(
        who=who,
        role_label=ROLE_LABELS[who.user.role] if who else "",
        csrf=who.session.csrf_token if who else "",
        P=Permission,
        notice=_flash(request, who, "notice"),
        error=_flash(request, who, "error"),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=_HEADERS)


def _flash_signature(who: ConsoleUser, kind: str, message: str) -> str:
    key = who.session.csrf_token.encode()
    return hmac.new(key, f"{kind}:{message}".encode(), hashlib.sha256).hexdigest()[:32]


def _flash(request: Request, who: ConsoleUser | None, kind: str) -> str:
    # Shown only when this session's redirect wrote it: a crafted link cannot put words
    # ("call this number") on a console page.
    message = request.query_params.get(kind, "")[:300]
    sent = request.query_params.get("sig", "")
    if not message or who is None:
        return ""
    expected = _flash_signature(who, kind, message)
    return message if hmac.compare_digest(sent.encode(), expected.encode()) else ""


def _back(
    who: ConsoleUser, path: str, *, notice: str = "", error: str = ""
) -> RedirectResponse:
    """Back to a console page (POST, redirect, GET) with a one-line outcome."""
    kind, message = ("error", error) if error else ("notice", notice)
    message = message[:300]
    signature = _flash_signature(who, kind, message)
    query = f"?{kind}={quote(message)}&sig={signature}" if message else ""
    return RedirectResponse(path + query, status_code=303)


# --- Static files and signing in --------------------------------------------------------------


@router.get("/static/{name}")
def static(name: Annotated[str, PathParam(max_length=40)]) -> FileResponse:
    """The console's own stylesheet and script, and htmx from node_modules."""
    found = _STATIC_FILES.get(name)
    if found is None or not found[0].is_file():
        raise HTTPException(404, "No such file.")
    return FileResponse(found[0], media_type=found[1], headers={"Cache-Control": "max-age=3600"})


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request) -> HTMLResponse:
    """The sign-in form, with a fresh sign-in CSRF token (double-submit cookie)."""
    token = secrets.token_urlsafe(24)
    response = _page("sign_in.html", None, request, sign_in_token=token, username="")
    set_cookie(response, SIGN_IN_COOKIE, token, max_age=3600)
    return response


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=60)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    sign_in_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Check the password (lock-out after repeated failures) and start a session."""
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, sign_in_token):
        raise HTTPException(403, "This form has expired. Reload the page and try again.")
    try:
        user = staff_service.authenticate(
            db_session=db, username=username, password=password, channel="console"
        )
    except NotAuthenticated as exc:
        token = secrets.token_urlsafe(24)
        refused = _page("sign_in.html", None, request, status_code=401, sign_in_token=token,
                        username=username[:60], failure=exc.message)
        set_cookie(refused, SIGN_IN_COOKIE, token, max_age=3600)
        return refused
    lifetime = settings.staff_token_minutes * 60
    token, _csrf = staff_service.start_session(
        db_session=db, user=user, lifetime=timedelta(seconds=lifetime)
    )
    response = RedirectResponse("/console/queue", status_code=303)
    set_cookie(response, COOKIE, token, max_age=lifetime)
    response.delete_cookie(SIGN_IN_COOKIE, path="/console")
    return response


@router.post("/sign-out")
def sign_out(who: ConsolePost, db: SessionDep) -> RedirectResponse:
    """End the session everywhere."""
    staff_service.end_session(db_session=db, session=who.session, channel="console")
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("")
def home(_who: ConsoleUserDep) -> RedirectResponse:
    """The queues are the console's front page."""
    return RedirectResponse("/console/queue", status_code=303)


# --- Queues and cases -------------------------------------------------------------------------


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
    return _page("queue.html", who, request, **_queue_context(db, settings, who, team))


@router.get("/queue/rows", response_class=HTMLResponse)
def queue_rows(
    request: Request, who: ConsoleUserDep, db: SessionDep, settings: SettingsDep,
    team: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """The queue's rows alone (htmx refreshes them, so timers and new cases show up)."""
    return _page("_queue_rows.html", who, request, **_queue_context(db, settings, who, team))


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
        return _page("not_found.html", who, request, status_code=404, message=exc.message)
    return _page("case.html", who, request, **_case_context(db, case))


@router.get("/cases/{reference}/conversation", response_class=HTMLResponse)
def conversation_part(
    reference: CaseRef, request: Request, who: ConsoleUserDep, db: SessionDep
) -> HTMLResponse:
    """The conversation alone: htmx polls it, so the member's replies appear without a reload."""
    case = cases.get_case(db_session=db, reference=reference)
    db.refresh(case)
    return _page("_conversation.html", who, request, **_case_context(db, case))


def _case_action(
    who: ConsoleUser, reference: str, db: SessionDep, act: Callable[..., object], done: str,
    **fields: Any,
) -> RedirectResponse:
    """Run a cases.work step on the case as the signed-in user, then back to the case page."""

    def run() -> str:
        case = cases.get_case(db_session=db, reference=reference)
        act(db_session=db, case=case, user=who.user, channel="console", **fields)
        return done

    return _attempt(who, db, f"/console/cases/{quote(reference)}", run)


def _attempt(
    who: ConsoleUser, db: SessionDep, path: str, act: Callable[[], str]
) -> RedirectResponse:
    """Back to `path` with the notice `act` returns, or with why the domain refused it."""
    try:
        notice = act()
    except DomainError as exc:
        db.rollback()
        return _back(who, path, error=exc.message)
    return _back(who, path, notice=notice)


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
            return _page("_conversation.html", who, request, status_code=200,
                         failure=exc.message, **_case_context(db, case))
        db.refresh(case)
        return _page("_conversation.html", who, request, **_case_context(db, case))
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


# --- Approvals --------------------------------------------------------------------------------


@router.get("/approvals", response_class=HTMLResponse)
def approvals(
    request: Request, db: SessionDep, who: ConsoleUser = needs(Permission.decide_changes)
) -> HTMLResponse:
    """Changes and refunds waiting for a decision, oldest first."""
    refunds = payments.refund_requests(db_session=db, status=RefundStatus.pending_review)
    members = {m.id: m for m in db.scalars(
        select(Member).where(Member.id.in_([r.member_id for r in refunds]))
    )} if refunds else {}
    return _page(
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

    return _attempt(who, db, _next(back_to), run)


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

    return _attempt(who, db, _next(back_to), run)


# --- Reports ----------------------------------------------------------------------------------


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request, db: SessionDep, settings: SettingsDep,
    days: Annotated[int, Query(ge=7, le=366)] = 30,
    who: ConsoleUser = needs(Permission.view_reports),
) -> HTMLResponse:
    """Conversations, containment, escalation, fallbacks, satisfaction and first replies."""
    figures = reports.dashboard(db_session=db, settings=settings, days=days)
    return _page(
        "dashboard.html", who, request, figures=figures, days=days,
        per_day_chart=charts.stacked_days(
            title="Conversations per day by channel", days=figures.days,
            series=figures.channels, values=figures.per_day,
        ),
        containment_chart=charts.percent_gauge(
            title="Containment", share=figures.containment,
            caption=f"{figures.contained} of {figures.conversations} finished without a person",
        ),
        fallback_chart=charts.percent_gauge(
            title="Fallback rate", share=figures.fallback_rate,
            caption=f"{figures.fallback_turns} of {figures.member_turns} member turns",
        ),
        escalation_chart=charts.horizontal_bars(
            title="Escalation rate by intent",
            rows=[(r.intent, r.rate, f"{r.rate * 100:.0f}% of {r.conversations}")
                  for r in figures.escalation_by_intent[:15]],
            maximum=1.0,
        ),
        satisfaction_chart=charts.horizontal_bars(
            title="Satisfaction ratings",
            rows=[(f"{'★' * score}", count, str(count))
                  for score, count in sorted(figures.satisfaction.items(), reverse=True)],
        ),
        median_first_reply=reports.duration_text(figures.median_first_reply),
    )


def _threshold(raw: str | None) -> Decimal:
    try:
        value = Decimal(raw) if raw else data_quality.DEFAULT_ARREARS_THRESHOLD
    except InvalidOperation:
        return data_quality.DEFAULT_ARREARS_THRESHOLD
    return value if value.is_finite() and value >= 0 else data_quality.DEFAULT_ARREARS_THRESHOLD


@router.get("/data-quality", response_class=HTMLResponse)
def data_quality_page(
    request: Request, db: SessionDep,
    arrears_over: Annotated[str | None, Query(max_length=12)] = None,
    who: ConsoleUser = needs(Permission.data_quality),
) -> HTMLResponse:
    """Records that need attention, by issue."""
    threshold = _threshold(arrears_over)
    found = data_quality.findings(db_session=db, arrears_threshold=threshold)
    counts = {issue: 0 for issue in data_quality.ISSUES}
    for finding in found:
        counts[finding.issue] += 1
    return _page("data_quality.html", who, request, findings=found, counts=counts,
                 issues=data_quality.ISSUES, threshold=threshold)


@router.get("/data-quality.csv")
def data_quality_csv(
    db: SessionDep,
    arrears_over: Annotated[str | None, Query(max_length=12)] = None,
    who: ConsoleUser = needs(Permission.data_quality),
) -> Response:
    """The data-quality findings as CSV (audited)."""
    threshold = _threshold(arrears_over)
    found = data_quality.findings(db_session=db, arrears_threshold=threshold)
    data_quality.record_export(db_session=db, actor=f"staff:{who.user.username}",
                               rows=len(found), threshold=threshold)
    return Response(data_quality.as_csv(found), media_type="text/csv; charset=utf-8",
                    headers=csv_headers(f"data-quality-{utcnow():%Y-%m-%d}.csv"))


# --- Ballot exports for the scrutineer --------------------------------------------------------


@router.get("/ballots", response_class=HTMLResponse)
def ballots_page(
    request: Request, db: SessionDep, who: ConsoleUser = needs(Permission.ballot_exports)
) -> HTMLResponse:
    """Ballots and their exports for the independent scrutineer."""
    found = list(db.scalars(select(Ballot).order_by(Ballot.closes_on.desc(), Ballot.ballot_code)))
    return _page("ballots.html", who, request, ballots=found)


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
    return _csv(rows, f"{ballot.ballot_code}-constituency-{ballot.register_date}.csv")


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
    return _csv(rows, f"{ballot.ballot_code}-replacement-papers.csv")


def csv_headers(filename: str) -> dict[str, str]:
    """Download, never display or cache, a file of members' personal data."""
    return {"Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _csv(rows: list[list[str]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([data_quality.safe_cell(str(cell)) for cell in row])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers=csv_headers(filename))
