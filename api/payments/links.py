"""Single-use, expiring links to the secure payment page.

The token in the link is the capability: only its SHA-256 is stored, so a copy of the database
cannot be used to pay or to set up a mandate. The page's form also echoes a per-link nonce
(an HMAC of the stored hash), so a form posted from elsewhere without first loading the page
is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.audit.service import record
from api.config import Settings
from api.errors import Conflict, DomainError, InvalidValue, NotFound
from api.members.models import Member, PaymentMethod
from api.payments.arrears import arrears_for, unsettled_failed_collections
from api.payments.models import (
    Collection,
    CollectionStatus,
    Mandate,
    MandateStatus,
    PaymentLink,
    PaymentLinkPurpose,
)
from api.references import new_reference
from api.security import Caller, hash_secret
from api.timekeeping import today, utcnow
from api.validation import clean_text

# The audit log's name for the page: the link, not a token, proves who is paying.
PAGE_CHANNEL = "payment_page"
_MAX_TOKEN_LENGTH = 100


class LinkNotFound(NotFound):
    """No link has this token."""


class LinkUnusable(DomainError):
    """The link has expired or was already used."""

    status_code = 410


def _aware(moment: datetime) -> datetime:
    # SQLite hands timezone-aware columns back without their zone; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def create_link(
    *,
    db_session: Session,
    settings: Settings,
    member: Member,
    purpose: PaymentLinkPurpose,
    caller: Caller,
    channel: str,
) -> tuple[str, PaymentLink]:
    """A new link for `member`; returns (url, link). The raw token exists only in the url."""
    amount: Decimal | None = None
    if purpose == PaymentLinkPurpose.pay_arrears:
        amount = arrears_for(db_session=db_session, member=member)
        if amount <= 0:
            raise Conflict("There are no arrears to pay on this membership.", field="purpose")
    token = secrets.token_urlsafe(32)
    link = PaymentLink(
        token_hash=hash_secret(token),
        member_id=member.id,
        purpose=purpose,
        amount=amount,
        expires_at=utcnow() + timedelta(minutes=settings.payment_link_minutes),
        created_at=utcnow(),
    )
    db_session.add(link)
    record(
        db_session=db_session, actor=caller.actor, action="payment_link_created",
        member_id=member.id, channel=channel, detail=purpose.value,
    )
    db_session.commit()
    return f"{settings.public_url.rstrip('/')}/pay/{token}", link


def expires_at(link: PaymentLink) -> datetime:
    """When the link stops working, timezone-aware."""
    return _aware(link.expires_at)


def open_link(*, db_session: Session, token: str) -> PaymentLink:
    """The live link for a token, or LinkNotFound / LinkUnusable."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        raise LinkNotFound("This link has expired or was already used.")
    link = db_session.scalar(
        select(PaymentLink).where(PaymentLink.token_hash == hash_secret(token))
    )
    if link is None:
        raise LinkNotFound("This link has expired or was already used.")
    if link.used_at is not None or expires_at(link) <= utcnow():
        raise LinkUnusable("This link has expired or was already used.")
    return link


def link_nonce(*, settings: Settings, link: PaymentLink) -> str:
    """The value the page's form must echo back; derived, so nothing more is stored."""
    return hmac.new(
        settings.secret_key.encode(), f"payment-link-form:{link.token_hash}".encode(),
        hashlib.sha256,
    ).hexdigest()


def _check_nonce(*, settings: Settings, link: PaymentLink, nonce: str | None) -> None:
    expected = link_nonce(settings=settings, link=link)
    if not hmac.compare_digest((nonce or "").encode(), expected.encode()):
        raise InvalidValue(
            "This form has expired. Open the link again to start over.", field="nonce"
        )


def _use(*, db_session: Session, link: PaymentLink) -> None:
    # One conditional UPDATE, so two submissions racing on the same link cannot both succeed.
    now = utcnow()
    used = db_session.execute(
        update(PaymentLink)
        .where(PaymentLink.id == link.id, PaymentLink.used_at.is_(None),
               PaymentLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        db_session.rollback()
        raise LinkUnusable("This link has expired or was already used.")


@dataclass(frozen=True)
class BankDetails:
    """What the mandate form asks for, validated. Never stored whole."""

    account_holder: str
    sort_code: str
    account_number: str
    collection_day: int


def collection_day_of(raw: str | None) -> int | None:
    """The collection day typed (1 to 28), or None.

    ASCII digits only: "²".isdigit() is true, and int("²") raised a 500 on the payment page.
    """
    day = (raw or "").strip()
    return int(day) if re.fullmatch(r"[0-9]{1,2}", day) and 1 <= int(day) <= 28 else None


def validate_bank_details(
    *, account_holder: str | None, sort_code: str | None, account_number: str | None,
    collection_day: str | None,
) -> tuple[BankDetails | None, dict[str, str]]:
    """The details, or the problems by field name (so the page can show every one at once)."""
    problems: dict[str, str] = {}
    holder = None
    try:
        holder = clean_text(account_holder, field="account_holder", max_length=100, required=True)
    except InvalidValue:
        problems["account_holder"] = "Enter the name on the account, up to 100 characters."
    sort = re.sub(r"[\s-]", "", sort_code or "")
    if not re.fullmatch(r"[0-9]{6}", sort):
        problems["sort_code"] = "Enter a sort code of 6 digits, like 30-94-57."
    number = re.sub(r"\s", "", account_number or "")
    if not re.fullmatch(r"[0-9]{8}", number):
        problems["account_number"] = "Enter an account number of 8 digits."
    day = collection_day_of(collection_day)
    if day is None:
        problems["collection_day"] = "Choose a collection day from 1 to 28."
    if problems or holder is None or day is None:
        return None, problems
    return BankDetails(holder, sort, number, day), problems


def set_up_mandate(
    *, db_session: Session, settings: Settings, link: PaymentLink, nonce: str | None,
    details: BankDetails,
) -> Mandate:
    """Use the link to replace the member's Direct Debit with a new active mandate."""
    _check_nonce(settings=settings, link=link, nonce=nonce)
    if link.purpose != PaymentLinkPurpose.set_up_mandate:
        raise LinkNotFound("This link has expired or was already used.")
    _use(db_session=db_session, link=link)
    member = db_session.get(Member, link.member_id)
    if member is None:
        raise LinkNotFound("This link has expired or was already used.")
    for old in db_session.scalars(
        select(Mandate).where(
            Mandate.member_id == member.id, Mandate.status == MandateStatus.active
        )
    ):
        old.status = MandateStatus.cancelled
        old.cancelled_on = today()
    # Only the last two digits are kept, so the member can recognise the account; the sort code
    # and the full number go to the bank and nowhere else.
    mandate = Mandate(
        member_id=member.id,
        reference=new_reference("DD"),
        status=MandateStatus.active,
        collection_day=details.collection_day,
        account_last_two=details.account_number[-2:],
        created_on=today(),
    )
    db_session.add(mandate)
    member.payment_method = PaymentMethod.direct_debit
    record(
        db_session=db_session, actor=f"member:{member.membership_number}",
        action="mandate_set_up", member_id=member.id,
        fields=("account_last_two", "collection_day", "payment_method"), channel=PAGE_CHANNEL,
        detail=mandate.reference,
    )
    db_session.commit()
    return mandate


def pay_arrears(
    *, db_session: Session, settings: Settings, link: PaymentLink, nonce: str | None
) -> Collection:
    """Use the link to pay everything owed now: settles failed collections, records the payment.

    In this demo the card step belongs to the payment provider's hosted page; reaching here
    stands for its success callback.
    """
    _check_nonce(settings=settings, link=link, nonce=nonce)
    if link.purpose != PaymentLinkPurpose.pay_arrears:
        raise LinkNotFound("This link has expired or was already used.")
    member = db_session.get(Member, link.member_id)
    if member is None:
        raise LinkNotFound("This link has expired or was already used.")
    owed = arrears_for(db_session=db_session, member=member)
    if owed <= 0:
        raise Conflict("There is nothing left to pay: your arrears are already cleared.")
    _use(db_session=db_session, link=link)
    for failed in unsettled_failed_collections(db_session=db_session, member=member):
        failed.settled_on = today()
    member.arrears_brought_forward = Decimal("0.00")
    payment = Collection(
        member_id=member.id,
        due_on=today(),
        amount=owed,
        method="card",
        status=CollectionStatus.collected,
        description="Arrears payment",
    )
    db_session.add(payment)
    record(
        db_session=db_session, actor=f"member:{member.membership_number}",
        action="arrears_paid", member_id=member.id, fields=("arrears",), channel=PAGE_CHANNEL,
        detail=f"£{owed:,.2f}",
    )
    db_session.commit()
    return payment
