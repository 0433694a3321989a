"""Masking card numbers wherever member text is kept (transcripts, cases, emails).

Any Luhn-valid run of 13-19 digits, with or without spaces or dashes between them, is treated
as a payment card number: PCI DSS says it must never be stored. The channels mask card
numbers before a message reaches the assistant; the actions mask again wherever they keep
text, with the same rules, which live in `channels.safety`.
"""

from __future__ import annotations

from channels.safety import CARD_MASK, luhn_valid, mask_card_numbers

__all__ = ["CARD_MASK", "luhn_valid", "mask_card_numbers"]
