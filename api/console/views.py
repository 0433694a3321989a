"""The staff console: HTML pages under /console (Jinja2, autoescaped; htmx for live parts).

Pages: sign-in, the queues, a case (member summary, transcript, live conversation, notes, held
changes), a member (with the subject access export), approvals, the dashboard, the
data-quality report and the scrutineer's ballot exports, one module each; this is the one
place they become the console's router. Every route except sign-in and the static files needs
a console session (see api.console.session); every POST also needs the session's CSRF token.
The work itself is done by the domain services; the console only speaks HTTP, and draws its
pages through api.console.pages.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.console import approvals, ballot_exports, cases, members, reports, sign_in

router = APIRouter()
for _pages in (sign_in, cases, members, approvals, reports, ballot_exports):
    router.include_router(_pages.router, prefix="/console", include_in_schema=False)
