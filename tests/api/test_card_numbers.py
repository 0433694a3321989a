"""Card numbers are never stored by the records API, whoever sends them (PCI DSS).

The member channels mask what members type; these are the other ways in: a staff member's
note, a service's case with its summary, transcript and collected values.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.cases.models import Case, CaseMessage
from api.config import Settings
from api.staff.models import Role
from api.validation import CARD_MASK, clean_text, mask_card_numbers
from tests.api import factories
from tests.api.conftest import SERVICE_TOKEN, staff_headers

CARD = "4111 1111 1111 1111"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (f"card {CARD} exp 12/27", f"card {CARD_MASK} exp 12/27"),
        ("5555-5555-5555-4444", CARD_MASK),
        ("378282246310005", CARD_MASK),  # 15 digits, American Express
        # Not card numbers: a membership number, a phone number, a long reference that fails
        # the Luhn check.
        ("member 1000002, phone 07700900999", "member 1000002, phone 07700900999"),
        ("ref 1234567890123", "ref 1234567890123"),
    ],
)
def test_card_numbers_are_masked_and_nothing_else(typed: str, stored: str) -> None:
    assert mask_card_numbers(typed) == stored
    assert clean_text(typed, field="note", max_length=200) == stored


def test_a_case_from_a_service_keeps_no_card_number(
    service_client: TestClient, db: Session
) -> None:
    response = service_client.post("/api/v1/cases", json={
        "channel": "rest", "summary": f"Wants to pay by card {CARD}",
        "transcript": [{"sender": "member", "text": f"my card is {CARD}"}],
        "collected_values": {"card": CARD},
    })

    assert response.status_code == 201
    case = db.scalar(select(Case).where(Case.reference == response.json()["reference"]))
    assert case is not None
    stored = f"{case.summary} {case.transcript} {case.collected_values}"
    assert not factories.shows_card_number(stored, CARD) and CARD_MASK in stored


def test_a_staff_note_keeps_no_card_number(
    service_client: TestClient, db: Session, settings: Settings
) -> None:
    opened = service_client.post("/api/v1/cases", json={"channel": "rest", "summary": "Help"})
    reference = opened.json()["reference"]
    agent = factories.staff(db, username="alex.agent", role=Role.agent)
    service_client.headers["Authorization"] = staff_headers(settings, agent)["Authorization"]

    noted = service_client.post(f"/api/v1/cases/{reference}/messages",
                                json={"sender": "note", "text": f"Member read out {CARD}"})

    service_client.headers["Authorization"] = f"Bearer {SERVICE_TOKEN}"
    assert noted.status_code == 201, noted.text
    assert not factories.shows_card_number(noted.text, CARD)
    texts = [m.text for m in db.scalars(select(CaseMessage))]
    assert texts and not any(factories.shows_card_number(t, CARD) for t in texts)
