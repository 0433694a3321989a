"""Linking a Telegram account to a membership, proved by a code emailed to the record.

/link -> the member gives their membership number -> the records API emails a one-time code
to the address on that record -> the member types the code -> the API confirms it -> the
account is linked. Only the API's answer decides the membership; what the member typed is
only ever a request to send a code. /unlink removes the link; /cancel stops an attempt.

Nothing typed during an attempt reaches the assistant: the code stays out of transcripts.
"""

from __future__ import annotations

import logging
import re

from bot.channel_api import LINK_TELEGRAM, OneTimeCodes
from bot.records import RecordsApiRefused, RecordsApiUnavailable
from channels.telegram.store import LinkAttempt, TelegramStore

log = logging.getLogger(__name__)

# Longer than a code lives (ten minutes), so a slow inbox is not a failure here.
ATTEMPT_IDLE_SECONDS = 15 * 60
MAX_NUMBER_TRIES = 3
# The API allows five guesses at one code; stop asking a little before that.
MAX_CODE_TRIES = 5

ASK_NUMBER = (
    "Let's link this Telegram account to your membership, so I know it's you next time. "
    "What's your membership number? It's the seven digits on your membership card. "
    "(Send /cancel to stop.)"
)
NOT_A_NUMBER = (
    "A membership number is seven digits, like 1234567. Please try again, or send /cancel."
)
# The one answer to any seven-digit number: a membership with an email address, one without,
# and no membership at all must look the same, or /link tells strangers which numbers are real
# members' and which of them have an email on record.
CODE_SENT_IF_KNOWN = (
    "If that membership number has an email address on our records, I've emailed a six-digit "
    "code to it. Please type it here to link this account; it expires in 10 minutes. If no "
    "email comes, check the number and send /link again, or carry on without linking: I'll "
    "ask you some security questions instead. (Send /cancel to stop.)"
)
TOO_MANY_CODES = (
    "Too many codes have been asked for recently. Please wait an hour, then send /link again."
)
CANNOT_SEND = "Sorry, I can't send a code right now. Please try again later by sending /link."
NOT_A_CODE = "The code is the six digits in the email. Please type it, or send /cancel."
WRONG_CODE = (
    "That code isn't right, or it has expired. Please check the email and try again, send "
    "/link for a new code, or send /cancel."
)
CANNOT_CHECK = (
    "Sorry, I can't check that code right now. Please try again in a few minutes, or send "
    "/cancel."
)
GIVEN_UP_NUMBER = "I've stopped linking for now. Send /link whenever you want to try again."
GIVEN_UP_CODE = "That's too many tries for one code. Send /link to get a new code."
CANCELLED = "OK, I've stopped linking this account. Nothing has changed."
NOTHING_TO_CANCEL = "There's nothing to cancel."
UNLINKED = (
    "Done: this Telegram account is no longer linked to your membership. Next time you ask "
    "about your membership I'll ask you some security questions first."
)
NOT_LINKED = "This Telegram account isn't linked to a membership."


def _linked(membership_number: str) -> str:
    return (
        f"Linked: this Telegram account is now linked to membership ending "
        f"{membership_number[-3:]}. I'll know it's you when you message me from here. "
        "Send /unlink at any time to undo this."
    )


def _already_linked(membership_number: str) -> str:
    return (
        f"This Telegram account is already linked to membership ending "
        f"{membership_number[-3:]}. Send /unlink first if you want to link a different one."
    )


def _membership_number(text: str) -> str | None:
    """The one seven-digit number in `text`, spaces and dashes between digits ignored."""
    found = re.findall(r"(?<!\d)\d{7}(?!\d)", re.sub(r"(?<=\d)[ -](?=\d)", "", text))
    return found[0] if len(found) == 1 else None


def _code(text: str) -> str | None:
    compact = re.sub(r"[\s-]", "", text)
    return compact if re.fullmatch(r"\d{6}", compact) else None


class AccountLinking:
    """The /link, /unlink and /cancel conversation; each step returns the replies to send."""

    def __init__(self, *, store: TelegramStore, codes: OneTimeCodes) -> None:
        self.store = store
        self.codes = codes

    @staticmethod
    def subject(telegram_user_id: int) -> str:
        """What the one-time code is bound to: this Telegram user, and no other."""
        return f"tg:{telegram_user_id}"

    def attempt(self, telegram_user_id: int) -> LinkAttempt | None:
        return self.store.link_attempt(telegram_user_id, max_age_seconds=ATTEMPT_IDLE_SECONDS)

    async def start(self, telegram_user_id: int) -> list[str]:
        """/link: ask for the membership number."""
        linked = self.store.linked_account(telegram_user_id)
        if linked is not None:
            return [_already_linked(linked.membership_number)]
        self.store.save_link_attempt(
            LinkAttempt(telegram_user_id=telegram_user_id, step="membership_number")
        )
        return [ASK_NUMBER]

    def cancel(self, telegram_user_id: int) -> list[str]:
        """/cancel: stop an attempt in progress."""
        return [CANCELLED if self.store.end_link_attempt(telegram_user_id) else NOTHING_TO_CANCEL]

    def unlink(self, telegram_user_id: int) -> list[str]:
        """/unlink: forget the link (and any attempt in progress)."""
        self.store.end_link_attempt(telegram_user_id)
        return [UNLINKED if self.store.unlink(telegram_user_id) else NOT_LINKED]

    async def answer(self, attempt: LinkAttempt, text: str) -> list[str]:
        """The member's answer to the current step."""
        if attempt.step == "code":
            return await self._code_answer(attempt, text)
        return await self._number_answer(attempt, text)

    def _failed(self, attempt: LinkAttempt, *, limit: int, again: str, given_up: str) -> list[str]:
        failures = attempt.failures + 1
        if failures >= limit:
            self.store.end_link_attempt(attempt.telegram_user_id)
            return [given_up]
        self.store.save_link_attempt(
            LinkAttempt(
                telegram_user_id=attempt.telegram_user_id,
                step=attempt.step,
                membership_number=attempt.membership_number,
                failures=failures,
            )
        )
        return [again]

    async def _number_answer(self, attempt: LinkAttempt, text: str) -> list[str]:
        number = _membership_number(text)
        if number is None:
            return self._failed(
                attempt, limit=MAX_NUMBER_TRIES, again=NOT_A_NUMBER, given_up=GIVEN_UP_NUMBER
            )
        user = attempt.telegram_user_id
        try:
            sent = await self.codes.send(
                membership_number=number, purpose=LINK_TELEGRAM, subject=self.subject(user)
            )
        except RecordsApiRefused as refused:
            if refused.status in (404, 409, 422):
                # No such member, or none with an email: answered as if a code went out.
                return self._await_code(user, number)
            self.store.end_link_attempt(user)
            if refused.status == 429:
                return [TOO_MANY_CODES]
            log.warning("one-time code refused with HTTP %s", refused.status)
            return [CANNOT_SEND]
        except RecordsApiUnavailable as exc:
            log.warning("one-time code not sent: %s", exc)
            self.store.end_link_attempt(user)
            return [CANNOT_SEND]
        del sent  # where it went (a masked address) would say the number is a member's
        return self._await_code(user, number)

    def _await_code(self, user: int, number: str) -> list[str]:
        self.store.save_link_attempt(
            LinkAttempt(telegram_user_id=user, step="code", membership_number=number)
        )
        return [CODE_SENT_IF_KNOWN]

    async def _code_answer(self, attempt: LinkAttempt, text: str) -> list[str]:
        code = _code(text)
        if code is None:
            return self._failed(
                attempt, limit=MAX_CODE_TRIES, again=NOT_A_CODE, given_up=GIVEN_UP_CODE
            )
        user = attempt.telegram_user_id
        try:
            number = await self.codes.verify(
                purpose=LINK_TELEGRAM, subject=self.subject(user), code=code
            )
        except RecordsApiRefused as refused:
            if refused.status == 401:
                return self._failed(
                    attempt, limit=MAX_CODE_TRIES, again=WRONG_CODE, given_up=GIVEN_UP_CODE
                )
            log.warning("one-time code check refused with HTTP %s", refused.status)
            return [CANNOT_CHECK]
        except RecordsApiUnavailable as exc:
            log.warning("one-time code not checked: %s", exc)
            return [CANNOT_CHECK]
        # The API says whose code it was; that, not what was typed, is the membership linked.
        linked = self.store.link(user, number)
        log.info("telegram account linked (link %s)", linked.link_id)
        return [_linked(number)]
