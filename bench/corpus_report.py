"""Task completion on the conversation corpus: docs/benchmarks-corpus.md and .json.

The corpus (tests/bot/test_corpus.py, tests/bot/conversations/) runs in the test suite; each run
writes what every conversation achieved to test-artifacts/corpus.json. This turns that file into
the table: per flow, the share of conversations that ended with the right record, the
median number of member turns they took, and how many took more turns than the values their
flow needs plus one (the message asking for it). The values a flow needs are counted from its
goal in actions/goals.py by tests/bot/test_corpus.py (`values_needed`): the identity check's
three answers when the goal needs the check, one answer per question of its form, and the yes
to the read-back when there is one. A conversation with a known gap is counted as not
completed.

    .venv/bot/bin/python -m pytest tests/bot/test_corpus.py    # writes test-artifacts/corpus.json
    .venv/bot/bin/python bench/corpus_report.py                 # writes docs/benchmarks-corpus.*
    .venv/api/bin/python bench/report.py                        # rebuilds docs/benchmarks.md
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "test-artifacts" / "corpus.json"
DOCS = ROOT / "docs"
GOAL = 1.0


def over_values(result: dict[str, Any]) -> bool | None:
    """More member turns than the values the flow needs plus one; None when not recorded."""
    if result.get("values") is None:
        return None
    return bool(result["turns"] > result["values"] + 1)


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Completion and median member turns per flow, and over the whole corpus."""
    by_flow: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        by_flow[result["flow"]].append(result)
    flows = {}
    for flow, done in sorted(by_flow.items()):
        completed = [r for r in done if r["completed"]]
        over = [r for r in done if over_values(r)]
        counted = all(over_values(r) is not None for r in done)
        flows[flow] = {
            "conversations": len(done),
            "completed": len(completed),
            "completion": len(completed) / len(done),
            "median_member_turns": statistics.median(r["turns"] for r in done),
            "values_needed": sorted({r["values"] for r in done if r.get("values") is not None}),
            "over_values_plus_one": len(over) if counted else None,
            "over_values_plus_one_names": sorted(
                f"{r['name']} ({r['turns']} turns, {r['values']} values)" for r in over),
            "known_gaps": sorted(r["name"] + ": " + r["known_gap"] for r in done
                                 if r.get("known_gap")),
            "failed": sorted(r["name"] for r in done
                             if not r["completed"] and not r.get("known_gap")),
        }
    total = len(results)
    completed = sum(f["completed"] for f in flows.values())
    return {"conversations": total, "completed": completed,
            "completion": completed / total if total else 0.0, "goal": GOAL, "flows": flows}


def markdown(data: dict[str, Any]) -> str:
    lines = [
        "## Conversation corpus: task completion",
        "",
        f"{data['conversations']} conversations typed as members type (lower case, typos, "
        "several values at once, corrections, questions in the middle, changes of mind), each "
        "checked in the record afterwards (tests/bot/test_corpus.py). Goal: "
        f"{GOAL:.0%} completion. Measured by the test suite's own run:",
        "",
        "```sh",
        ".venv/bot/bin/python -m pytest tests/bot/test_corpus.py && "
        ".venv/bot/bin/python bench/corpus_report.py",
        "```",
        "",
        "| flow | conversations | right record | completion | median member turns | "
        "values needed | conversations over values+1 turns |",
        "|---|---|---|---|---|---|---|",
    ]
    for flow, row in data["flows"].items():
        needed = ", ".join(str(v) for v in row.get("values_needed") or []) or "-"
        over = row.get("over_values_plus_one")
        lines.append(f"| {flow} | {row['conversations']} | {row['completed']} | "
                     f"{row['completion']:.0%} | {row['median_member_turns']:g} | {needed} | "
                     f"{'-' if over is None else over} |")
    overs = [row.get("over_values_plus_one") for row in data["flows"].values()]
    total_over = "-" if None in overs else str(sum(o for o in overs if o is not None))
    lines.append(f"| **all** | {data['conversations']} | {data['completed']} | "
                 f"**{data['completion']:.1%}** | | | {total_over} |")
    lines += [
        "",
        "Values needed: what the flow's goal (actions/goals.py) needs the member to give: the "
        "identity check's three answers when it needs the check, one answer per question of its "
        "form (one that may be skipped still takes an answer), and the yes to the read-back "
        "when it asks for one. A conversation over values+1 turns (the +1 is the message "
        "asking for it) had to say something again, was asked for something it had said, or "
        "chose to: a question in the middle, a correction, a change of mind.",
    ]
    gaps = [(flow, gap) for flow, row in data["flows"].items() for gap in row["known_gaps"]]
    if gaps:
        lines += ["", "Known gaps (these conversations fail, and are counted as not completed):",
                  ""]
        lines += [f"- {flow}, {gap}" for flow, gap in gaps]
    over_names = [(flow, name) for flow, row in data["flows"].items()
                  for name in row.get("over_values_plus_one_names") or []]
    if over_names:
        lines += ["", "Over values+1 turns:", ""]
        lines += [f"- {flow}, {name}" for flow, name in over_names]
    failed = [(flow, name) for flow, row in data["flows"].items() for name in row["failed"]]
    if failed:
        lines += ["", "Failed in this run:", ""] + [f"- {flow}: {name}" for flow, name in failed]
    return "\n".join(lines) + "\n"


def main() -> int:
    if not RESULTS.is_file():
        print(f"no {RESULTS}: run the corpus first (pytest tests/bot/test_corpus.py)")
        return 1
    data = summary(json.loads(RESULTS.read_text(encoding="utf-8")))
    (DOCS / "benchmarks-corpus.md").write_text(markdown(data), encoding="utf-8")
    (DOCS / "benchmarks-corpus.json").write_text(json.dumps(data, indent=2) + "\n",
                                                 encoding="utf-8")
    print(f"{data['completed']}/{data['conversations']} conversations completed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
