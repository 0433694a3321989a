"""Task completion on the conversation corpus: docs/benchmarks-corpus.md and .json.

The corpus (tests/bot/test_corpus.py, tests/bot/conversations/) runs in the test suite; each run
writes what every conversation achieved to test-artifacts/corpus.json. This turns that file into
the table: per flow, the share of conversations that ended with the right record, and the
median number of member turns they took. A conversation with a known gap is counted as not
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


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Completion and median member turns per flow, and over the whole corpus."""
    by_flow: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        by_flow[result["flow"]].append(result)
    flows = {}
    for flow, done in sorted(by_flow.items()):
        completed = [r for r in done if r["completed"]]
        flows[flow] = {
            "conversations": len(done),
            "completed": len(completed),
            "completion": len(completed) / len(done),
            "median_member_turns": statistics.median(r["turns"] for r in done),
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
        "| flow | conversations | right record | completion | median member turns |",
        "|---|---|---|---|---|",
    ]
    for flow, row in data["flows"].items():
        lines.append(f"| {flow} | {row['conversations']} | {row['completed']} | "
                     f"{row['completion']:.0%} | {row['median_member_turns']:g} |")
    lines.append(f"| **all** | {data['conversations']} | {data['completed']} | "
                 f"**{data['completion']:.1%}** | |")
    gaps = [(flow, gap) for flow, row in data["flows"].items() for gap in row["known_gaps"]]
    if gaps:
        lines += ["", "Known gaps (these conversations fail, and are counted as not completed):",
                  ""]
        lines += [f"- {flow}, {gap}" for flow, gap in gaps]
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
