"""Payments routes: collections, arrears, mandates, refunds, payment links and the payment page.

`router` is mounted under /api/v1; `pages_router` (the secure payment page) at the root.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy.orm import Session

from api.caller_first import KeyedDoor
from api.deps import CallerDep, ChannelDep, SessionDep, SettingsDep, StaffCaller
from api.errors import Conflict, DomainError, InvalidValue
from api.members.deps import OwnedMember
from api.members.models import Frequency, Member
from api.payments import links
from api.payments import service as payments
from api.payments.bacs import format_day
from api.payments.matching import match_collections
from api.payments.models import (
    Collection,
    PaymentLink,
    PaymentLinkPurpose,
    RefundRequest,
    RefundStatus,
)
from api.payments.schemas import (
    ArrearsPublic,
    CollectionHistory,
    CollectionMatches,
    CollectionMatchPublic,
    CollectionPublic,
    FailedCollectionPublic,
    MandatePublic,
    PaymentLinkCreate,
    PaymentLinkPublic,
    RefundDecision,
    RefundRequestCreate,
    RefundRequestForStaff,
    RefundRequestList,
    RefundRequestPublic,
)
from api.security import Caller
from api.staff.deps import staff_who_may
from api.staff.permissions import Permission

router = APIRouter(tags=["payments"])
pages_router = APIRouter(tags=["payment page"], include_in_schema=False)

_MEMBER = "/members/{membership_number}"


def _failed_public(failed: payments.FailedCollection) -> FailedCollectionPublic:
    return FailedCollectionPublic(
        due_on=failed.collection.due_on,
        amount=failed.collection.amount,
        reason_code=failed.collection.failure_code,
        reason=failed.reason,
        what_happens_next=failed.what_happens_next,
        settled_on=failed.collection.settled_on,
    )


@router.get(_MEMBER + "/collections", response_model=CollectionHistory)
def list_collections(
    member: OwnedMember, db: SessionDep, limit: Annotated[int, Query(ge=1, le=100)] = 12
) -> CollectionHistory:
    """The member's payment history, newest first."""
    found = payments.collections_for(db_session=db, member=member, limit=limit)
    return CollectionHistory(collections=[CollectionPublic.model_validate(c) for c in found])


@router.get(_MEMBER + "/collections/last-failed", response_model=FailedCollectionPublic)
def last_failed(member: OwnedMember, db: SessionDep) -> FailedCollectionPublic:
    """The most recent failed collection, why it failed and what happens next."""
    return _failed_public(payments.last_failed_collection(db_session=db, member=member))


@router.get(_MEMBER + "/collections/match", response_model=CollectionMatches)
def match(
    member: OwnedMember,
    db: SessionDep,
    amount: Annotated[Decimal | None, Query(gt=0, max_digits=10, decimal_places=2)] = None,
    on: date | None = None,
) -> CollectionMatches:
    """Which of our collections a charge on the member's bank statement is ("what is this?")."""
    found, explanation = match_collections(
        db_session=db, member=member, amount=amount, on=on
    )
    return CollectionMatches(
        explanation=explanation,
        matches=[
            CollectionMatchPublic(
                due_on=m.collection.due_on, amount=m.collection.amount, method=m.collection.method,
                status=m.collection.status, description=m.collection.description,
                matched_on=m.matched_on, explanation=m.explanation,
            )
            for m in found
        ],
    )


@router.get(_MEMBER + "/arrears", response_model=ArrearsPublic)
def arrears(member: OwnedMember, db: SessionDep) -> ArrearsPublic:
    """What the member owes, and the failed collections it is made of."""
    summary = payments.arrears_summary(db_session=db, member=member)
    return ArrearsPublic(
        amount=summary.amount,
        brought_forward=summary.brought_forward,
        failed_collections=[_failed_public(f) for f in summary.failed_collections],
    )


@router.get(_MEMBER + "/mandate", response_model=MandatePublic)
def mandate(member: OwnedMember, db: SessionDep) -> MandatePublic:
    """The member's Direct Debit mandate (the active one, else the latest)."""
    found = payments.current_mandate(db_session=db, member=member)
    return MandatePublic(
        status=found.status,
        reference=found.reference,
        collection_day=found.collection_day,
        account_ending=found.account_last_two,
        created_on=found.created_on,
        cancelled_on=found.cancelled_on,
        next_collection_date=payments.next_collection_for(db_session=db, member=member),
    )


def _refund_public(db: SessionDep, refund: RefundRequest) -> RefundRequestPublic:
    collection = db.get(Collection, refund.collection_id) if refund.collection_id else None
    messages = {
        RefundStatus.pending_review: (
            f"Your refund request {refund.reference} is with our payments team, who review every "
            "refund. We'll let you know their decision."
        ),
        RefundStatus.approved: f"Your refund request {refund.reference} was approved.",
        RefundStatus.rejected: f"Your refund request {refund.reference} was not approved.",
    }
    return RefundRequestPublic(
        reference=refund.reference,
        amount=refund.amount,
        status=refund.status,
        collection_due_on=collection.due_on if collection else None,
        reason=refund.reason,
        requested_at=refund.requested_at,
        message=messages[refund.status],
    )


@router.post(_MEMBER + "/refund-requests", response_model=RefundRequestPublic, status_code=201)
def create_refund_request(
    body: RefundRequestCreate, member: OwnedMember, db: SessionDep, caller: CallerDep,
    channel: ChannelDep,
) -> RefundRequestPublic:
    """Ask for money back; staff review every request."""
    refund = payments.request_refund(
        db_session=db, member=member, collection_due_on=body.collection_due_on,
        amount=body.amount, reason=body.reason, caller=caller, channel=channel,
    )
    return _refund_public(db, refund)


@router.get(_MEMBER + "/refund-requests", response_model=list[RefundRequestPublic])
def list_member_refund_requests(member: OwnedMember, db: SessionDep) -> list[RefundRequestPublic]:
    """The member's own refund requests and where they stand, newest first."""
    found = payments.refunds_for_member(db_session=db, member=member)
    return [_refund_public(db, r) for r in found]


def _refund_for_staff(db: SessionDep, refund: RefundRequest) -> RefundRequestForStaff:
    member = db.get(Member, refund.member_id)
    collection = db.get(Collection, refund.collection_id) if refund.collection_id else None
    return RefundRequestForStaff(
        reference=refund.reference,
        membership_number=member.membership_number if member else "",
        member_name=f"{member.first_name} {member.last_name}" if member else "",
        amount=refund.amount,
        status=refund.status,
        collection_due_on=collection.due_on if collection else None,
        collection_status=collection.status if collection else None,
        reason=refund.reason,
        channel=refund.channel,
        requested_at=refund.requested_at,
        decided_at=refund.decided_at,
        decision_reason=refund.decision_reason,
    )


@router.get("/refund-requests", response_model=RefundRequestList)
def list_refund_requests(
    _staff: Annotated[Caller, staff_who_may(Permission.decide_changes)],
    db: SessionDep,
    status: RefundStatus | None = RefundStatus.pending_review,
) -> RefundRequestList:
    """Refund requests for staff to work through, oldest first."""
    found = payments.refund_requests(db_session=db, status=status)
    return RefundRequestList(refund_requests=[_refund_for_staff(db, r) for r in found])


@router.post("/refund-requests/{reference}/decision", response_model=RefundRequestForStaff)
def decide_refund_request(
    reference: Annotated[str, PathParam(max_length=20)], body: RefundDecision, staff: StaffCaller,
    db: SessionDep, channel: ChannelDep,
) -> RefundRequestForStaff:
    """Approve or reject a refund request (team leads, the data team, admins)."""
    refund = payments.decide_refund(
        db_session=db, reference=reference, decision=body.decision, reason=body.reason,
        caller=staff, channel=channel,
    )
    return _refund_for_staff(db, refund)


@router.post(_MEMBER + "/payment-links", response_model=PaymentLinkPublic, status_code=201)
def create_payment_link(
    body: PaymentLinkCreate, member: OwnedMember, db: SessionDep, caller: CallerDep,
    channel: ChannelDep, settings: SettingsDep,
) -> PaymentLinkPublic:
    """A single-use link to the secure page to set up a Direct Debit or pay arrears."""
    url, link = links.create_link(
        db_session=db, settings=settings, member=member, purpose=body.purpose, caller=caller,
        channel=channel,
    )
    return PaymentLinkPublic(
        url=url, expires_at=links.expires_at(link), purpose=link.purpose, amount=link.amount
    )


# --- The secure payment page ------------------------------------------------------------------

_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# The token in the URL is a capability: keep it out of caches, referrers and other sites' frames.
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


@lru_cache
def _page_templates() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=FileSystemLoader(str(_TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )


def _page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = _page_templates().get_template(f"payments/{name}").render(**context)
    return HTMLResponse(html, status_code=status_code, headers=_PAGE_HEADERS)


def _unavailable(exc: DomainError) -> HTMLResponse:
    return _page(
        "unavailable.html", status_code=exc.status_code,
        heading="This link has expired or was already used", message=str(exc.message),
    )


def _mandate_form(
    *, settings: SettingsDep, link: PaymentLink, member: Member,
    errors: dict[str, str] | None = None, account_holder: str = "", collection_day: int = 1,
) -> HTMLResponse:
    return _page(
        "set_up_mandate.html",
        status_code=422 if errors else 200,
        first_name=member.first_name,
        membership_number=member.membership_number,
        amount=payments.money(member.subscription_amount),
        per="a month" if member.payment_frequency == Frequency.monthly else "a year",
        nonce=links.link_nonce(settings=settings, link=link),
        errors=errors or {},
        account_holder=account_holder,
        collection_day=collection_day,
    )


def _arrears_form(*, db: SessionDep, settings: SettingsDep, link: PaymentLink,
                  member: Member) -> HTMLResponse:
    summary = payments.arrears_summary(db_session=db, member=member)
    lines = [
        f"{payments.money(f.collection.amount)} due on {format_day(f.collection.due_on)}, "
        f"which your bank returned"
        for f in summary.failed_collections
    ]
    if summary.brought_forward > 0:
        lines.insert(0, f"{payments.money(summary.brought_forward)} owed from earlier")
    return _page(
        "pay_arrears.html",
        first_name=member.first_name,
        membership_number=member.membership_number,
        amount=payments.money(summary.amount),
        failed=lines,
        nonce=links.link_nonce(settings=settings, link=link),
    )


@pages_router.get("/pay/{token}", response_class=HTMLResponse)
def payment_page(token: str, db: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """The secure page behind a payment link."""
    try:
        link = links.open_link(db_session=db, token=token)
    except (links.LinkNotFound, links.LinkUnusable) as exc:
        return _unavailable(exc)
    member = db.get(Member, link.member_id)
    if member is None:
        return _unavailable(links.LinkNotFound("This link has expired or was already used."))
    if link.purpose == PaymentLinkPurpose.set_up_mandate:
        return _mandate_form(settings=settings, link=link, member=member)
    if payments.arrears_summary(db_session=db, member=member).amount <= 0:
        return _page("done.html", heading="Nothing to pay",
                     lines=["Your arrears are already cleared. Thank you."])
    return _arrears_form(db=db, settings=settings, link=link, member=member)


def _dead_link(db_session: Session, found: re.Match[str], _request: object) -> HTMLResponse | None:
    try:
        links.open_link(db_session=db_session, token=found["token"])
    except (links.LinkNotFound, links.LinkUnusable) as exc:
        return _unavailable(exc)
    return None


# The token in the address is the only key to the payment page: it is checked before the bank
# details in the form are read (api.caller_first).
PAYMENT_LINK_DOOR = KeyedDoor(pattern=re.compile(r"/pay/(?P<token>[^/]+)"), refusal=_dead_link)


@pages_router.post("/pay/{token}", response_class=HTMLResponse)
def submit_payment_page(
    token: str,
    db: SessionDep,
    settings: SettingsDep,
    nonce: Annotated[str | None, Form()] = None,
    account_holder: Annotated[str | None, Form()] = None,
    sort_code: Annotated[str | None, Form()] = None,
    account_number: Annotated[str | None, Form()] = None,
    collection_day: Annotated[str | None, Form()] = None,
    authorise: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    """Set up the Direct Debit or take the arrears payment; the link then stops working."""
    # Form fields are read as plain optional strings and checked here, so every problem is shown
    # on the page beside its field rather than as a JSON error.
    try:
        link = links.open_link(db_session=db, token=token)
    except (links.LinkNotFound, links.LinkUnusable) as exc:
        return _unavailable(exc)
    member = db.get(Member, link.member_id)
    if member is None:
        return _unavailable(links.LinkNotFound("This link has expired or was already used."))
    try:
        if link.purpose == PaymentLinkPurpose.set_up_mandate:
            details, problems = links.validate_bank_details(
                account_holder=account_holder, sort_code=sort_code,
                account_number=account_number, collection_day=collection_day,
            )
            if authorise != "yes":
                problems["authorise"] = (
                    "Confirm you are the account holder and can authorise Direct Debits."
                )
            if details is None or problems:
                return _mandate_form(
                    settings=settings, link=link, member=member, errors=problems,
                    account_holder=(account_holder or "")[:100],
                    collection_day=links.collection_day_of(collection_day) or 1,
                )
            created = links.set_up_mandate(
                db_session=db, settings=settings, link=link, nonce=nonce, details=details
            )
            return _page(
                "done.html", heading="Your Direct Debit is set up",
                lines=[
                    f"Your Direct Debit reference is {created.reference}.",
                    f"We'll collect {payments.money(member.subscription_amount)} on day "
                    f"{created.collection_day} of the month from the account ending "
                    f"{created.account_last_two}, after telling you in advance.",
                    "Any earlier Direct Debit to us has been cancelled.",
                ],
            )
        payment = links.pay_arrears(db_session=db, settings=settings, link=link, nonce=nonce)
        return _page(
            "done.html", heading="Payment received",
            lines=[f"Thank you. We've received {payments.money(payment.amount)} and your "
                   "arrears are cleared."],
        )
    except (links.LinkNotFound, links.LinkUnusable) as exc:
        return _unavailable(exc)
    except InvalidValue as exc:
        return _page("unavailable.html", status_code=400, heading="Please start again",
                     message=exc.message)
    except Conflict as exc:
        return _page("done.html", status_code=409, heading="Nothing to pay", lines=[exc.message])

