"""Human-friendly references members can read down the phone: 'CR-7K3M9Q'."""

from __future__ import annotations

import secrets

# No 0/O or 1/I/L: references get read aloud.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_reference(prefix: str) -> str:
    """A random reference with a prefix naming what it refers to (CR, CASE, RF, BP)."""
    return f"{prefix}-" + "".join(secrets.choice(_ALPHABET) for _ in range(7))
