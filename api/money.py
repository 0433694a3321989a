"""Amounts of money as members read them. Imports no domain, so every domain can use it."""

from __future__ import annotations

from decimal import Decimal

PENNY = Decimal("0.01")


def money(amount: Decimal) -> str:
    """'£1,234.50'."""
    return f"£{Decimal(amount):,.2f}"

