"""The acknowledgement (and, for informational questions, the answer) sent to an email.

Rendered from Jinja2 templates in api/templates/email/, in a sandbox, plain text and HTML
(autoescaped). Nothing in a reply comes from a member's record: the sender is not verified.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy.orm import Session

from api.ballots.service import list_ballots, spoken_date
from api.cases.opening_hours import opening_hours
from api.config import Settings
from api.mail.settings import EmailSettings
from api.money import money
from api.subscriptions.rates import current_rates
from api.timekeeping import local_today

_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@lru_cache
def _environment(html: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=FileSystemLoader(str(_TEMPLATES)),
        autoescape=select_autoescape(default=html, default_for_string=html),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _ballots(*, db_session: Session, today: date) -> list[dict[str, Any]]:
    found = list_ballots(db_session=db_session, state="open", today=today)
    found += list_ballots(db_session=db_session, state="upcoming", today=today)
    return [
        {
            "title": ballot.title,
            "question": ballot.question,
            "opens": spoken_date(ballot.opens_on),
            "closes": spoken_date(ballot.closes_on),
            "method": ballot.method.value,
            "turnout_threshold": ballot.turnout_threshold_percent,
            "support_threshold": ballot.support_threshold_percent,
            "details": ballot.details,
        }
        for ballot in found
    ]


def _rates(*, db_session: Session, today: date) -> list[dict[str, Any]]:
    return [
        {
            "label": category.label,
            "who_qualifies": category.who_qualifies,
            "rates": [f"{money(rate.amount)} {rate.frequency.value}" for rate in category.rates],
        }
        for category in current_rates(db_session=db_session, on=today)
        if category.rates
    ]


def _opening(*, now: datetime, settings: Settings) -> dict[str, Any]:
    # An email is read hours after it is answered, so the reply gives the usual hours and the
    # bank holidays ahead rather than whether the doors are open this minute.
    hours = opening_hours(at=now, settings=settings)
    return {
        "usual_hours": hours.usual_hours,
        "bank_holidays": [
            f"{spoken_date(holiday.day)} ({holiday.name})"
            for holiday in hours.upcoming_bank_holidays
        ],
    }


def render_reply(
    *,
    db_session: Session,
    reference: str,
    team_name: str,
    intent: str | None,
    joined: bool,
    resolved: bool,
    card_number_removed: bool,
    first_response: str,
    settings: Settings,
    email_settings: EmailSettings,
    now: datetime,
) -> tuple[str, str]:
    """The reply's plain-text and HTML bodies."""
    today = local_today(now=now, settings=settings)
    context: dict[str, Any] = {
        "reference": reference,
        "team_name": team_name,
        "intent": intent,
        "joined": joined,
        "resolved": resolved,
        "card_number_removed": card_number_removed,
        "first_response": first_response,
        "webchat_url": email_settings.webchat_url,
        "join_url": email_settings.join_url,
        "ballots": _ballots(db_session=db_session, today=today)
        if intent in ("ballot_info", "industrial_action_info") else [],
        "rates": _rates(db_session=db_session, today=today)
        if intent in ("join_membership", "check_subscription") else [],
        "opening": _opening(now=now, settings=settings) if intent == "opening_hours" else None,
    }
    text = _environment(False).get_template("email/inbound_reply.txt").render(**context)
    html = _environment(True).get_template("email/inbound_reply.html").render(**context)
    return text, html
