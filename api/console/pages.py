"""How every console page is drawn and answered: templates, security headers, outcomes, CSV.

The page modules (sign_in, cases, members, approvals, reports, ballot_exports) render through
here, so the sandboxed templates, the Content-Security-Policy and the signed one-line outcomes
after a POST are the same on every page. Nothing here touches the database.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Callable
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Path as PathParam
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from api.config import get_settings
from api.console.session import ConsoleUser
from api.deps import SessionDep
from api.errors import DomainError
from api.reports import data_quality
from api.staff.permissions import ROLE_LABELS, Permission

API_ROOT = Path(__file__).resolve().parent.parent
_TEMPLATES = API_ROOT / "templates" / "console"
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


def page(
    name: str, who: ConsoleUser | None, request: Request, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A console template rendered for `who`, with the console's security headers."""
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


def back(
    who: ConsoleUser, path: str, *, notice: str = "", error: str = ""
) -> RedirectResponse:
    """Back to a console page (POST, redirect, GET) with a one-line outcome."""
    kind, message = ("error", error) if error else ("notice", notice)
    message = message[:300]
    signature = _flash_signature(who, kind, message)
    query = f"?{kind}={quote(message)}&sig={signature}" if message else ""
    return RedirectResponse(path + query, status_code=303)


def attempt(
    who: ConsoleUser, db: SessionDep, path: str, act: Callable[[], str]
) -> RedirectResponse:
    """Back to `path` with the notice `act` returns, or with why the domain refused it."""
    try:
        notice = act()
    except DomainError as exc:
        db.rollback()
        return back(who, path, error=exc.message)
    return back(who, path, notice=notice)


def csv_headers(filename: str) -> dict[str, str]:
    """Download, never display or cache, a file of members' personal data."""
    return {"Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def csv_download(rows: list[list[str]], filename: str) -> Response:
    """Rows as a CSV download, every cell made safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([data_quality.safe_cell(str(cell)) for cell in row])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers=csv_headers(filename))
