"""Emails rendered from templates (api/templates/email/), for the outbox.

Each email is three templates: NAME.subject.txt, NAME.txt (plain text) and NAME.html. The
environment is sandboxed and autoescapes everything except the plain-text parts, where HTML
escaping would only garble a member's words; values are never evaluated as templates, so
`{{ 7*7 }}` in a transcript stays as typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy.orm import Session

from api.outbox.models import OutboundEmail
from api.outbox.service import queue_email

_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "email"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body_text: str
    body_html: str


@lru_cache
def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=FileSystemLoader(str(_TEMPLATES)),
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True,
            default_for_string=True,
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_email(name: str, **context: Any) -> RenderedEmail:
    """Render the subject, plain-text and HTML parts of the email called `name`."""
    env = _environment()
    subject = env.get_template(f"{name}.subject.txt").render(**context)
    return RenderedEmail(
        subject=" ".join(subject.split())[:200],
        body_text=env.get_template(f"{name}.txt").render(**context),
        body_html=env.get_template(f"{name}.html").render(**context),
    )


def queue_rendered(
    *, db_session: Session, to_address: str, name: str,
    headers: dict[str, str] | None = None, **context: Any
) -> OutboundEmail:
    """Render the email called `name` and put it in the outbox (in the caller's transaction),
    with any extra `headers` (a case reference, say)."""
    email = render_email(name, **context)
    return queue_email(
        db_session=db_session,
        to_address=to_address,
        subject=email.subject,
        body_text=email.body_text,
        body_html=email.body_html,
        headers=headers,
    )
