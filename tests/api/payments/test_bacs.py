"""Every ARUDD reason code has an explanation a member understands and a next step."""

from __future__ import annotations

from datetime import date

import pytest

from api.payments.bacs import REASONS, reason_for, what_happens_next

ALL_CODES = ["0", "1", "2", "3", "5", "6", "7", "8", "9", "A", "B"]


def test_every_arudd_code_is_covered() -> None:
    assert sorted(REASONS) == sorted(ALL_CODES)


@pytest.mark.parametrize("code", ALL_CODES)
def test_each_code_is_explained_in_plain_english(code: str) -> None:
    reason = reason_for(code)
    assert reason.code == code
    assert len(reason.explanation) > 30
    # Plain English: the member never sees Bacs jargon in the explanation.
    for jargon in ("ARUDD", "AUDDIS", "ADDACS", "payer", "service user"):
        assert jargon.lower() not in reason.explanation.lower()
    next_step = what_happens_next(code, retry_on=date(2026, 3, 3))
    assert "{retry}" not in next_step and len(next_step) > 20


def test_refer_to_payer_says_money_and_names_the_retry_date() -> None:
    assert "enough money" in reason_for("0").explanation
    assert "try again on Tuesday 3 March 2026" in what_happens_next("0", retry_on=date(2026, 3, 3))
    assert "next collection" in what_happens_next("0", retry_on=None)


@pytest.mark.parametrize("code", ["1", "3", "5", "6", "B"])
def test_a_dead_instruction_asks_for_a_new_mandate(code: str) -> None:
    reason = reason_for(code)
    assert reason.needs_new_mandate and not reason.will_retry
    assert "new Direct Debit" in what_happens_next(code, retry_on=date(2026, 3, 3))
    # No promise to try again from a cancelled or closed account.
    assert "try again" not in what_happens_next(code, retry_on=date(2026, 3, 3))


def test_our_own_mistakes_say_so() -> None:
    assert "not caused by anything you did" in reason_for("9").explanation
    assert "our mistake" in reason_for("A").explanation


def test_codes_are_case_insensitive_and_unknown_codes_get_a_safe_answer() -> None:
    assert reason_for("b") is REASONS["B"]
    unknown = reason_for("Z")
    assert unknown.code == "?" and "payments team" in unknown.next_step
    assert reason_for(None).code == "?"
