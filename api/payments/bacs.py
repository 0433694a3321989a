"""Bacs ARUDD return reasons, in words a member understands, and what happens next.

ARUDD (Automated Return of Unpaid Direct Debits) reports tell us which collections the payer's
bank returned and why, as a one-character reason code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ReturnReason:
    """One ARUDD reason code: the Bacs name, and what it means for the member."""

    code: str
    bacs_name: str
    # What happened, said to the member.
    explanation: str
    # What happens next; "{retry}" is replaced with the date we will try again, when known.
    next_step: str
    # The old mandate can no longer be used: the member needs to set up a new one (or pay).
    needs_new_mandate: bool
    # We will collect the amount again without the member doing anything.
    will_retry: bool


_NEW_MANDATE = (
    "Nothing more can be collected from that Direct Debit. To carry on paying, set up a new "
    "Direct Debit (we can send you a secure link), or pay the amount owed now."
)

REASONS: dict[str, ReturnReason] = {
    reason.code: reason
    for reason in (
        ReturnReason(
            code="0",
            bacs_name="Refer to payer",
            explanation=(
                "Your bank returned the payment, usually because there wasn't enough money in "
                "the account on the day."
            ),
            next_step=(
                "We will try again {retry}. Please make sure the money is in the account by "
                "then, or pay it now with a secure payment link."
            ),
            needs_new_mandate=False,
            will_retry=True,
        ),
        ReturnReason(
            code="1",
            bacs_name="Instruction cancelled by payer",
            explanation=(
                "The Direct Debit was cancelled at your bank, so the payment was not taken."
            ),
            next_step=_NEW_MANDATE,
            needs_new_mandate=True,
            will_retry=False,
        ),
        ReturnReason(
            code="2",
            bacs_name="Payer deceased",
            explanation=(
                "The bank told us that the account holder has died, so the payment was not taken. "
                "We are very sorry."
            ),
            next_step=(
                "We will not collect from that account again. If you are looking after the "
                "member's affairs, our payments team will help you with what happens next; "
                "nothing needs to be paid now."
            ),
            needs_new_mandate=True,
            will_retry=False,
        ),
        ReturnReason(
            code="3",
            bacs_name="Account transferred",
            explanation=(
                "Your bank told us the account has moved to another bank or branch, and the "
                "Direct Debit did not move with it."
            ),
            next_step=(
                "Set up a new Direct Debit with your new account details (we can send you a "
                "secure link), or pay the amount owed now."
            ),
            needs_new_mandate=True,
            will_retry=False,
        ),
        ReturnReason(
            code="5",
            bacs_name="No account",
            explanation=(
                "Your bank couldn't find an open account with the details on the Direct Debit."
            ),
            next_step=_NEW_MANDATE,
            needs_new_mandate=True,
            will_retry=False,
        ),
        ReturnReason(
            code="6",
            bacs_name="No instruction",
            explanation=(
                "Your bank has no Direct Debit instruction for us on the account, so it refused "
                "the payment."
            ),
            next_step=_NEW_MANDATE,
            needs_new_mandate=True,
            will_retry=False,
        ),
        ReturnReason(
            code="7",
            bacs_name="Amount differs",
            explanation=(
                "Your bank returned the payment because the amount was different from the amount "
                "you were told about in advance."
            ),
            next_step=(
                "Our payments team will check the amount and write to you with the correct "
                "amount and date before collecting again. If a payment was taken in error, the "
                "Direct Debit Guarantee entitles you to an immediate refund from your bank."
            ),
            needs_new_mandate=False,
            will_retry=True,
        ),
        ReturnReason(
            code="8",
            bacs_name="Amount not yet due",
            explanation=(
                "Your bank returned the payment because it was taken before the date you were "
                "told about in advance."
            ),
            next_step="You don't need to do anything: we will collect it again {retry}.",
            needs_new_mandate=False,
            will_retry=True,
        ),
        ReturnReason(
            code="9",
            bacs_name="Presentation overdue",
            explanation=(
                "The payment reached your bank too late to be taken, so the bank returned it. "
                "This was not caused by anything you did."
            ),
            next_step="You don't need to do anything: we will collect it again {retry}.",
            needs_new_mandate=False,
            will_retry=True,
        ),
        ReturnReason(
            code="A",
            bacs_name="Service user differs",
            explanation=(
                "Your bank returned the payment because the Direct Debit it holds is for a "
                "different organisation's reference than the one we used. This was our mistake, "
                "not yours."
            ),
            next_step=(
                "Our payments team will put it right and contact you. You may be asked to set up "
                "a new Direct Debit; nothing needs to be paid in the meantime."
            ),
            needs_new_mandate=False,
            will_retry=False,
        ),
        ReturnReason(
            code="B",
            bacs_name="Account closed",
            explanation="Your bank told us the account has been closed.",
            next_step=_NEW_MANDATE,
            needs_new_mandate=True,
            will_retry=False,
        ),
    )
}

_UNKNOWN = ReturnReason(
    code="?",
    bacs_name="Unknown",
    explanation="Your bank returned the payment without giving us a reason we recognise.",
    next_step=(
        "Our payments team will look into it and contact you. You can pay the amount owed now "
        "with a secure payment link if you'd like to."
    ),
    needs_new_mandate=False,
    will_retry=False,
)


def reason_for(code: str | None) -> ReturnReason:
    """The return reason for an ARUDD code (case-insensitive); a generic one when unknown."""
    return REASONS.get((code or "").strip().upper(), _UNKNOWN)


def what_happens_next(code: str | None, *, retry_on: date | None) -> str:
    """The next step for this code, naming the retry date when we have one."""
    when = f"on {format_day(retry_on)}" if retry_on else "with your next collection"
    return reason_for(code).next_step.replace("{retry}", when)


def format_day(day: date) -> str:
    """'Tuesday 3 March 2026': how a date is said to a member."""
    return f"{day:%A} {day.day} {day:%B %Y}"
