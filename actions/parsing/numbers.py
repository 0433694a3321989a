"""Membership numbers and amounts of money in what a member typed."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_AMOUNT = re.compile(
    r"£\s?(\d{1,6}(?:[.,]\d{1,2})?)|(\d{1,6}(?:\.\d{1,2})?)\s?(?:quid|pounds?|gbp|p\b)",
    re.IGNORECASE,
)


def membership_number(text: str) -> str | None:
    """The seven-digit membership number in `text`, if there is exactly one."""
    found = re.findall(r"(?<!\d)(\d{7})(?!\d)", re.sub(r"(?<=\d)[ -](?=\d)", "", text or ""))
    return found[0] if len(found) == 1 else None


def amount(text: str) -> Decimal | None:
    """An amount of money in `text` ('£24.50', '20 quid'), or a bare number like '24.50'."""
    m = _AMOUNT.search(text or "")
    raw = (m[1] or m[2]) if m else None
    if raw is None:
        bare = re.fullmatch(r"\s*(\d{1,6}(?:\.\d{2})?)\s*", text or "")
        raw = bare[1] if bare else None
    if raw is None:
        return None
    try:
        return Decimal(raw.replace(",", ".")).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
