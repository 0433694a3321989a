"""What every channel does to a member's message before the assistant sees it.

Shared by Telegram, webchat and email. In order:

1. Control characters go (newlines and emoji stay; tabs become spaces). HTML is left as text:
   whatever shows a message escapes it there, so escaping here would only double it.
2. Payment card numbers are masked: any Luhn-valid run of 13-19 digits, with or without
   spaces, dashes or dots between them. PCI DSS says a card number must never be stored, so
   it must never reach the tracker store, the logs or a transcript.
3. Very long messages are cut, with a notice.

Each channel also keeps a `SenderRateLimit`, so one member (or script) sending a flood of
messages gets one polite notice and cannot slow the assistant down for everyone else.
"""

from __future__ import annotations

import enum
import re
import sys
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

CARD_MASK = "[card number removed]"
MAX_MESSAGE_CHARACTERS = 5000
# A guard against pathological input only: members never get near it.
_MAX_RAW_CHARACTERS = 100_000

CARD_NUMBER_NOTICE = (
    "Please don't send card details in this chat. I've removed the number you sent and "
    "haven't kept it. To pay safely, ask me to \"make a payment\" and I'll send you a secure "
    "payment link."
)
TRUNCATED_NOTICE = (
    f"Your message was too long for me to read in full, so I've only read the first "
    f"{MAX_MESSAGE_CHARACTERS:,} characters."
)
EMPTY_NOTICE = "I didn't get any words in that message. Please type your question."
THROTTLE_NOTICE = (
    "You're sending messages faster than I can answer them. Please wait a moment, then send "
    "your message again."
)

# Between the digits of a card number: up to three spaces (of any width), a dash (of any
# kind) with an optional space either side, a dot, or a zero-width character.
_SEPARATOR = (
    r"(?:[ \t\u00a0\u2007\u2009\u202f]{1,3}"
    r"|[ ]?[-\u2010\u2011\u2012\u2013\u2014\u2212][ ]?"
    r"|[.\u200b\u200c\u200d\u2060])"
)
_DIGIT_RUN = re.compile(rf"\d+(?:{_SEPARATOR}\d+)*")
_DIGIT_GROUP = re.compile(r"\d+")
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x85]")


def luhn_valid(digits: str) -> bool:
    """True when `digits` passes the Luhn check used by every payment card."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _mask_run(run: str) -> tuple[str, bool]:
    """`run` (digit groups and separators) with every card number in it masked."""
    groups = [(match.start(), match.end()) for match in _DIGIT_GROUP.finditer(run)]
    if sum(end - start for start, end in groups) < 13:
        return run, False
    # Any span of whole groups holding 13-19 digits that passes Luhn is a card number, so a
    # card followed by its expiry or security code ("4111 1111 1111 1111 123") is still
    # caught. Overlapping spans are masked together.
    covered = [False] * len(groups)
    for first in range(len(groups)):
        digits = ""
        for last in range(first, len(groups)):
            start, end = groups[last]
            digits += run[start:end]
            if len(digits) > 19:
                break
            if len(digits) >= 13 and luhn_valid(digits):
                for index in range(first, last + 1):
                    covered[index] = True
    if not any(covered):
        return run, False
    pieces: list[str] = []
    position = 0
    index = 0
    while index < len(groups):
        if not covered[index]:
            index += 1
            continue
        last = index
        while last + 1 < len(groups) and covered[last + 1]:
            last += 1
        pieces += [run[position : groups[index][0]], CARD_MASK]
        position = groups[last][1]
        index = last + 1
    pieces.append(run[position:])
    return "".join(pieces), True


def mask_card_numbers(text: str) -> tuple[str, bool]:
    """`text` with card numbers replaced, and whether any were found."""
    found = False

    def _replace(match: re.Match[str]) -> str:
        nonlocal found
        masked, masked_any = _mask_run(match[0])
        found = found or masked_any
        return masked

    return _DIGIT_RUN.sub(_replace, text or ""), found


@lru_cache(maxsize=1)
def _invisible_characters() -> re.Pattern[str]:
    """Control, format and lone-surrogate characters, built once on first use."""
    dropped: list[int] = []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        category = unicodedata.category(char)
        control = category in ("Cc", "Cs") and char not in "\n\t"
        # Format characters hide text or reverse it on screen. The zero-width joiner and the
        # tag characters stay: emoji sequences and the flags of England, Scotland and Wales
        # are built from them.
        hidden = category == "Cf" and char != "\u200d" and not 0xE0020 <= code <= 0xE007F
        if control or hidden:
            dropped.append(code)
    ranges: list[tuple[int, int]] = []
    for code in dropped:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    parts = (f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in ranges)
    return re.compile("[" + "".join(parts) + "]")


def clean_text(text: str) -> str:
    """`text` without control or invisible format characters; newlines and emoji kept."""
    text = _LINE_BREAKS.sub("\n", text)
    return _invisible_characters().sub("", text).replace("\t", " ")


@dataclass(frozen=True)
class CheckedMessage:
    """A member's message made safe to pass on, and what to tell the member about it."""

    text: str
    card_number_removed: bool = False
    truncated: bool = False

    @property
    def empty(self) -> bool:
        return not self.text.strip()

    @property
    def says_something(self) -> bool:
        """False when nothing is left once masked card numbers and punctuation are taken out."""
        rest = self.text.replace(CARD_MASK, "")
        return any(unicodedata.category(char)[0] not in "PZ" for char in rest.strip())

    @property
    def notices(self) -> list[str]:
        """What the member should be told, in order, before any answer."""
        told = []
        if self.card_number_removed:
            told.append(CARD_NUMBER_NOTICE)
        if self.truncated:
            told.append(TRUNCATED_NOTICE)
        if self.empty and not self.card_number_removed:
            told.append(EMPTY_NOTICE)
        return told


def check_message(
    text: str | None, *, max_characters: int = MAX_MESSAGE_CHARACTERS
) -> CheckedMessage:
    """Clean, mask and cut one incoming message."""
    cleaned = clean_text((text or "")[:_MAX_RAW_CHARACTERS])
    masked, card_found = mask_card_numbers(cleaned)
    truncated = len(masked) > max_characters
    if truncated:
        # Cutting can leave the front of a longer run of digits that happens to pass Luhn.
        masked, cut_card = mask_card_numbers(masked[:max_characters])
        card_found = card_found or cut_card
    return CheckedMessage(text=masked.strip(), card_number_removed=card_found, truncated=truncated)


class Admission(enum.Enum):
    """What a rate limit says about one message."""

    allowed = "allowed"
    # Over the limit for the first time since the last allowed message: tell the member once.
    throttled_first = "throttled_first"
    throttled = "throttled"


@dataclass
class _Bucket:
    tokens: float
    refilled_at: float
    told: bool = field(default=False)


class SenderRateLimit:
    """A token bucket per sender: a burst of `capacity` messages, then `per_second` a second.

    Buckets live in memory and the least recently seen senders are forgotten past
    `max_senders` (a forgotten sender starts again with a full bucket, which only ever helps
    them). A restart forgets everyone, which is harmless for a flood guard.
    """

    def __init__(
        self,
        *,
        capacity: float = 10,
        per_second: float = 0.5,
        max_senders: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.max_senders = max_senders
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def admit(self, sender: str) -> Admission:
        """Take one message from `sender`'s bucket, if there is one to take."""
        now = self._clock()
        bucket = self._buckets.get(sender)
        if bucket is None:
            bucket = _Bucket(tokens=self.capacity, refilled_at=now)
            self._buckets[sender] = bucket
            while len(self._buckets) > self.max_senders:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(sender)
            elapsed = max(0.0, now - bucket.refilled_at)
            bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.per_second)
            bucket.refilled_at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.told = False
            return Admission.allowed
        if bucket.told:
            return Admission.throttled
        bucket.told = True
        return Admission.throttled_first
