"""Console pages for the reports: the dashboard and the data-quality report with its CSV.

The figures and findings come from api.reports; this module draws them and audits the export.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.console.pages import csv_headers, page
from api.console.session import ConsoleUser, needs
from api.deps import SessionDep, SettingsDep
from api.reports import charts, data_quality
from api.reports import service as reports
from api.staff.permissions import Permission
from api.timekeeping import utcnow

router = APIRouter()


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request, db: SessionDep, settings: SettingsDep,
    days: Annotated[int, Query(ge=7, le=366)] = 30,
    who: ConsoleUser = needs(Permission.view_reports),
) -> HTMLResponse:
    """Conversations and their outcomes, escalation, misunderstandings, satisfaction and first
    replies."""
    figures = reports.dashboard(db_session=db, settings=settings, days=days)
    return page(
        "dashboard.html", who, request, figures=figures, days=days,
        outcome_names=reports.OUTCOMES,
        per_day_chart=charts.stacked_days(
            title="Conversations per day by channel", days=figures.days,
            series=figures.channels, values=figures.per_day,
        ),
        outcome_chart=charts.horizontal_bars(
            title="What became of each conversation",
            rows=[(outcome, figures.share(outcome),
                   f"{figures.outcomes[outcome]} ({figures.share(outcome) * 100:.0f}%)")
                  for outcome in reports.OUTCOMES],
            maximum=1.0,
        ),
        misunderstanding_chart=charts.percent_gauge(
            title="Misunderstanding rate", share=figures.misunderstanding_rate,
            caption=f"{figures.misunderstood_turns} of {figures.member_turns} member turns did "
            f"not move the request forward ({figures.fallback_turns} fallbacks)",
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
    return page("data_quality.html", who, request, findings=found, counts=counts,
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
