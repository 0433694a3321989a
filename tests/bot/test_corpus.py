"""The conversation corpus: members talking the way people do, each checked in the record.

Every file in tests/bot/conversations/ is one flow that changes a record or takes a payment;
each entry is one conversation with its own demo member, typed the way a hurried member types
(lower case, typos, several values at once, corrections, questions in the middle, changes of
mind). After the last turn the record is read back through the records API, as a data-team
user, and compared with what the member asked for.

An entry:

    - name: short description
      member: active            # a profile below: the next unused demo member that fits
      turns:
        - say: "hi im {number} born {born} pc {postcode_lower}, new address 5 queen sq bristol"
          expect: "shall i update"           # optional: words the reply must hold
          reject: ["what would you like"]    # optional: words it must not hold
        - say: "yes"
      record: {town: Bristol, postcode: BS1 4JQ}   # the member's record afterwards
      change: {field: address, status: applied}    # the newest change request
      refunds: 1 | payment_link: true | replacement_paper: true | unchanged: [town]
      known_gap: what the assistant does wrong   # optional: expected to fail, until fixed

{number}, {born} (dd/mm/yyyy), {born_words} ("5 May 1995"), {postcode}, {postcode_lower},
{first_name}, {last_name} and {email} are the member's own. A run writes what each
conversation achieved, how many turns it took and how many values its flow needs (below) to
test-artifacts/corpus.json; `bench/corpus_report.py` turns that into the task-completion table
in docs/benchmarks.md.

The values a flow needs are everything its goal (actions/goals.py) has to be given by the
member: the identity check's answers when the goal needs the check, one answer per slot of
its form (bot/domain/forms.yml; a question that may be skipped still takes an answer), and the
yes to the read-back when the goal asks for one (`on_affirm`). A conversation that gives each
value in its own message, after the message that asks for the goal, takes that many turns plus
one; one that takes more had to say something twice, or was asked something it had said.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.goals import GOALS_BY_INTENT
from tests.bot.servers import Assistant, RecordsApi
from tests.bot.test_conversations import Conversation

CONVERSATIONS = Path(__file__).parent / "conversations"
FORMS = Path(__file__).resolve().parents[2] / "bot" / "domain" / "forms.yml"
RESULTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "corpus.json"
# Demo members the rest of the bot tests use are the first sixty; the corpus takes its own.
FIRST_CORPUS_MEMBER = "1000061"

# Which demo members fit a conversation: SQL over the demo database, one member each.
PROFILES = {
    "active": "m.status = 'active' AND m.email IS NOT NULL",
    # Pays the full rate: a change of circumstances moves them to a lower one.
    "full_rate": "m.status = 'active' AND m.category = 'full'",
    "direct_debit": "m.status = 'active' AND m.payment_method = 'direct_debit'",
    "not_payroll": (
        "m.status = 'active' AND m.payment_method = 'direct_debit' AND m.employer_id IS NOT NULL"
    ),
    "paid": (
        "m.status = 'active' AND EXISTS (SELECT 1 FROM collections c WHERE c.member_id = m.id "
        "AND c.status = 'collected')"
    ),
    # Arrears as the records API counts them: a failed collection not settled since.
    "owes": (
        "m.status IN ('active', 'grace') AND EXISTS (SELECT 1 FROM collections c "
        "WHERE c.member_id = m.id AND c.status = 'failed' AND c.settled_on IS NULL)"
    ),
    "in_open_ballot": (
        "m.status = 'active' AND EXISTS (SELECT 1 FROM ballot_employers be "
        "JOIN ballots b ON b.id = be.ballot_id WHERE be.employer_id = m.employer_id "
        "AND b.opens_on <= date('now') AND b.closes_on >= date('now') "
        "AND b.method = 'postal' AND m.joined_on <= b.register_date)"
    ),
}


# The goal (actions/goals.py) each file of conversations is about.
FLOW_GOALS = {
    "address": "change_address",
    "arrears": "make_payment",
    "ballot_paper": "ballot_paper_missing",
    "circumstances": "change_circumstances",
    "contact": "change_contact_details",
    "employment": "change_employment",
    "name": "change_personal_details",
    "payment_method": "change_payment_method",
    "refund": "request_refund",
    "resign": "cancel_membership",
}


def values_needed(flow: str) -> int:
    """How many values the member has to give for `flow`'s goal (see the module docstring)."""
    goal = GOALS_BY_INTENT[FLOW_GOALS[flow]]
    forms = yaml.safe_load(FORMS.read_text(encoding="utf-8"))["forms"]
    needed = len(forms["identity_form"]["required_slots"]) if goal.needs_identity else 0
    if goal.form:
        needed += len(forms[goal.form]["required_slots"])
    return needed + (1 if goal.on_affirm else 0)


@dataclass
class Entry:
    flow: str
    name: str
    profile: str
    turns: list[dict[str, Any]]
    checks: dict[str, Any]
    # What the assistant still gets wrong here: the conversation must fail (strict xfail), so
    # it is counted as not completed, and fixing the gap makes the run say so.
    known_gap: str | None = None


def _entries() -> list[Entry]:
    entries = []
    for path in sorted(CONVERSATIONS.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")):
            checks = {k: v for k, v in item.items()
                      if k not in ("name", "member", "turns", "known_gap")}
            entries.append(Entry(flow=path.stem, name=item["name"],
                                 profile=item.get("member", "active"), turns=item["turns"],
                                 checks=checks, known_gap=item.get("known_gap")))
    return entries


ENTRIES = _entries()


@dataclass
class Allocation:
    """Hands each conversation a demo member of its profile that no other conversation has."""

    database: Path
    taken: set[str] = field(default_factory=set)

    def member(self, profile: str) -> str:
        with sqlite3.connect(self.database) as db:
            numbers = [row[0] for row in db.execute(
                f"SELECT m.membership_number FROM members m WHERE {PROFILES[profile]} "  # noqa: S608
                "AND m.membership_number >= ? ORDER BY m.membership_number",
                (FIRST_CORPUS_MEMBER,),
            )]
        number = next(n for n in numbers if n not in self.taken)
        self.taken.add(number)
        return number


@pytest.fixture(scope="module")
def allocation(api: RecordsApi) -> Allocation:
    return Allocation(api.database)


@pytest.fixture(scope="module")
def results() -> Iterator[list[dict[str, Any]]]:
    kept: list[dict[str, Any]] = []
    yield kept
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(kept, indent=1) + "\n", encoding="utf-8")


def _values(api: RecordsApi, number: str) -> dict[str, str]:
    record = api.member(number)
    born = date.fromisoformat(record["date_of_birth"])
    return {
        "number": number,
        "born": born.strftime("%d/%m/%Y"),
        "born_words": f"{born.day} {born:%B %Y}",
        "postcode": record["postcode"],
        "postcode_lower": record["postcode"].lower().replace(" ", ""),
        "first_name": record["first_name"],
        "last_name": record["last_name"],
        "email": record.get("email") or "",
    }


def _words(value: str | list[str] | None) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _check(api: RecordsApi, number: str, before: dict[str, Any], checks: dict[str, Any],
           chat: Conversation) -> None:
    after = api.member(number)
    for name, wanted in (checks.get("record") or {}).items():
        assert str(after.get(name)) == str(wanted), f"{name}={after.get(name)!r}\n{chat}"
    for name in checks.get("unchanged") or []:
        assert after.get(name) == before.get(name), f"{name} changed\n{chat}"
    with api.client() as client:
        if "change" in checks:
            history = client.get(f"/members/{number}/history").json()
            wanted = checks["change"]
            if wanted is None:
                assert history == [], f"a change was made\n{chat}"
            else:
                assert history, f"no change request\n{chat}"
                for name, value in wanted.items():
                    got = history[0][name]
                    if isinstance(value, dict):  # new_value: only the values named
                        got = {key: got.get(key) for key in value}
                    assert got == value, f"change {name}={got}\n{chat}"
        if "refunds" in checks:
            refunds = client.get(f"/members/{number}/refund-requests").json()
            assert len(refunds) == checks["refunds"], f"{len(refunds)} refunds\n{chat}"
    if "payment_link" in checks or "replacement_paper" in checks:
        with sqlite3.connect(api.database) as db:
            member_id = db.execute("SELECT id FROM members WHERE membership_number = ?",
                                   (number,)).fetchone()[0]
            for check, table in (("payment_link", "payment_links"),
                                 ("replacement_paper", "replacement_paper_requests")):
                if check in checks:
                    count = db.execute(f"SELECT count(*) FROM {table} WHERE member_id = ?",  # noqa: S608
                                       (member_id,)).fetchone()[0]
                    assert bool(count) is checks[check], f"{table}: {count}\n{chat}"


def _cases() -> list[Any]:
    return [
        pytest.param(entry, id=f"{entry.flow}: {entry.name}", marks=[
            pytest.mark.xfail(strict=True, reason=entry.known_gap)] if entry.known_gap else [])
        for entry in ENTRIES
    ]


@pytest.mark.parametrize("entry", _cases())
def test_a_member_gets_what_they_asked_for(
    stack: Assistant, allocation: Allocation, results: list[dict[str, Any]], entry: Entry
) -> None:
    number = allocation.member(entry.profile)
    values = _values(stack.api, number)
    before = stack.api.member(number)
    chat = Conversation(stack)
    outcome = {"flow": entry.flow, "name": entry.name, "turns": len(entry.turns),
               "values": values_needed(entry.flow), "completed": False,
               "known_gap": entry.known_gap}
    results.append(outcome)
    for turn in entry.turns:
        reply = chat.say(turn["say"].format(**values)).lower()
        for words in _words(turn.get("expect")):
            assert words.lower() in reply, f"expected {words!r}\n{chat}"
        for words in _words(turn.get("reject")):
            assert words.lower() not in reply, f"did not expect {words!r}\n{chat}"
        assert reply.count("your reference is") <= 1, f"a reference said twice\n{chat}"
    _check(stack.api, number, before, entry.checks, chat)
    outcome["completed"] = True


def test_the_corpus_covers_every_flow_with_enough_conversations() -> None:
    flows = {entry.flow for entry in ENTRIES}
    assert flows >= {"address", "contact", "name", "employment", "circumstances",
                     "payment_method", "refund", "arrears", "ballot_paper", "resign"}
    assert len(ENTRIES) >= 150
    names = [(entry.flow, entry.name) for entry in ENTRIES]
    assert len(names) == len(set(names)), "two conversations share a name"
    assert set(FLOW_GOALS) == flows, "a flow without its goal in FLOW_GOALS"


def test_the_values_a_flow_needs_are_counted_from_its_goal() -> None:
    # Identity check, the three lines of the address, the yes to the read-back.
    assert values_needed("address") == 3 + 3 + 1
    # Identity check only: the action does the rest.
    assert values_needed("ballot_paper") == 3
    # Identity check, which detail and its new value; no read-back.
    assert values_needed("name") == 3 + 2
