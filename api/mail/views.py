"""Inbound email routes: the email channel records each email once, or asks what would happen."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from api.deps import ServiceCaller, SessionDep, SettingsDep
from api.mail import inbound, triage
from api.mail.schemas import InboundEmailIn, InboundEmailRecorded, TriageDecision
from api.mail.settings import EmailSettings, get_email_settings

router = APIRouter(tags=["email"])

EmailSettingsDep = Annotated[EmailSettings, Depends(get_email_settings)]


@router.post("/email/inbound", response_model=InboundEmailRecorded, status_code=201)
def record_inbound(
    body: InboundEmailIn,
    caller: ServiceCaller,
    db: SessionDep,
    settings: SettingsDep,
    email_settings: EmailSettingsDep,
    response: Response,
) -> InboundEmailRecorded:
    """Record a triaged email: open or join its case and queue its reply (once per Message-ID)."""
    recorded = inbound.record_inbound(
        db_session=db, email=body, settings=settings, email_settings=email_settings,
        actor=caller.actor,
    )
    if recorded.duplicate:
        response.status_code = 200
    return recorded


@router.post("/email/triage", response_model=TriageDecision)
def preview_triage(
    body: InboundEmailIn,
    _caller: ServiceCaller,
    db: SessionDep,
    settings: SettingsDep,
    email_settings: EmailSettingsDep,
) -> TriageDecision:
    """What recording this email would do (member matched, case joined, team, SLA), not done."""
    return triage.preview(
        db_session=db, email=body, settings=settings, email_settings=email_settings
    )
