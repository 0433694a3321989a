"""How the assistant writes amounts and dates for members: £1,234.50 and 1 March 2027."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any


def money(value: Any) -> str:
    """An amount in pounds as members read it, from the API's decimal string."""
    return f"£{Decimal(str(value)):,.2f}"


def when(value: str | None) -> str:
    """An ISO date from the API as members read it; no date means nothing is scheduled."""
    return date.fromisoformat(value).strftime("%-d %B %Y") if value else "not scheduled"


def with_reference(message: str, reference: str) -> str:
    """The records API's message, ending with the reference once (most of its messages give
    it already; saying it twice reads as two requests)."""
    if reference in message:
        return message
    return f"{message.rstrip()} Your reference is {reference}."
