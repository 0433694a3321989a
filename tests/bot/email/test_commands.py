"""`memberdesk email classify` and `ingest`, run as a member of staff would run them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bot.email.conftest import CORPUS
from tests.bot.servers import RecordsApi

Memberdesk = Callable[..., Any]


def counts(api: RecordsApi) -> tuple[int, int, int]:
    with sqlite3.connect(api.database) as db:
        return tuple(  # type: ignore[return-value]
            db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in ("inbound_emails", "cases", "outbound_emails")
        )


def test_classify_explains_the_decision_as_json_and_changes_nothing(
    memberdesk: Memberdesk, email_api: RecordsApi
) -> None:
    before = counts(email_api)

    result = memberdesk("email", "classify", str(CORPUS / "01-change_address.eml"),
                        str(CORPUS / "16-out_of_office.eml"))

    assert result.returncode == 0, result.stderr[-3000:]
    address, out_of_office = json.loads(result.stdout)
    assert address["intent"] == "change_address" and address["confidence"] > 0.5
    assert address["entities"]["postcode"] == "LS6 3AG"
    assert address["matched_member"] == "1000001"
    assert address["route"]["team"] == "records"
    assert address["route"]["acknowledge"] is True and address["route"]["sla_due_at"]
    assert address["automatic"] is None
    assert out_of_office["automatic"].startswith("Auto-Submitted")
    assert out_of_office["route"]["acknowledge"] is False
    assert counts(email_api) == before


def test_ingest_records_an_email_once_however_often_it_is_run(
    memberdesk: Memberdesk, email_api: RecordsApi, tmp_path: Path
) -> None:
    # A copy with its own Message-ID: the corpus's own emails belong to the end-to-end test.
    saved = tmp_path / "subject-access-request.eml"
    saved.write_bytes((CORPUS / "11-data_protection_request.eml").read_bytes().replace(
        b"<11-data_protection_request.10@mail.example.net>", b"<sar.ingest@mail.example.net>"
    ))
    path = str(saved)
    inbound, cases, _ = counts(email_api)

    first = memberdesk("email", "ingest", path)
    again = memberdesk("email", "ingest", path)

    assert first.returncode == 0 and again.returncode == 0, first.stderr[-3000:]
    recorded, repeated = json.loads(first.stdout), json.loads(again.stdout)
    assert recorded["outcome"] == "opened_case" and recorded["duplicate"] is False
    assert recorded["team"] == "data_protection" and recorded["priority"] == "high"
    assert repeated["duplicate"] is True and repeated["reference"] == recorded["reference"]
    assert counts(email_api)[:2] == (inbound + 1, cases + 1)


def test_commands_say_plainly_when_the_records_api_is_down(memberdesk: Memberdesk) -> None:
    result = memberdesk("email", "ingest", str(CORPUS / "05-ballot_paper_missing.eml"),
                        env={"MEMBERDESK_API_URL": "http://127.0.0.1:9"})

    assert result.returncode == 1
    assert "not recorded, try again" in json.loads(result.stdout)["error"]
    assert "Traceback" not in result.stderr
