"""Gathers the benchmarks' own reports into docs/benchmarks.md and docs/benchmarks.json.

Each benchmark writes its section beside the others (docs/benchmarks-<part>.md and .json), so
one can be run again on its own; `make bench` runs them all and then this. A part that has
not been run yet is listed as missing rather than left out silently.

    python bench/report.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"

# (file stem, title, the command that produces it)
PARTS = (
    ("benchmarks-nlu", "NLU accuracy", ".venv/bot/bin/python bench/nlu_bench.py"),
    ("benchmarks-serving", "Serving", ".venv/bot/bin/python bench/serving_bench.py"),
    ("benchmarks-email", "Email triage", ".venv/bot/bin/python bench/email_bench.py"),
    ("bench-api", "Records API", ".venv/api/bin/python bench/api_bench.py"),
)


def demote_headings(markdown: str) -> str:
    """The part's headings shifted so its top level is `##`, under the report's own title."""
    lines = markdown.splitlines()
    levels = [len(line) - len(line.lstrip("#")) for line in lines if line.startswith("#")]
    shift = 2 - min(levels) if levels else 0
    return "\n".join("#" * shift + line if line.startswith("#") and shift > 0 else line
                     for line in lines)


def build(docs: Path = DOCS) -> tuple[str, dict[str, object]]:
    """The combined markdown and JSON from whatever parts are present in `docs`."""
    sections = ["# Benchmarks", "",
                "Each section below is written by its own benchmark, with the command that "
                "measured it; `make bench` runs them all and rebuilds this page.", ""]
    combined: dict[str, object] = {}
    for stem, title, command in PARTS:
        markdown, data = docs / f"{stem}.md", docs / f"{stem}.json"
        if not markdown.is_file():
            sections += [f"## {title}", "", f"Not measured yet: run `{command}`.", ""]
            continue
        sections += [demote_headings(markdown.read_text(encoding="utf-8")).strip(), ""]
        if data.is_file():
            combined[stem.removeprefix("benchmarks-").removeprefix("bench-")] = json.loads(
                data.read_text(encoding="utf-8"))
    return "\n".join(sections), combined


def main() -> int:
    markdown, combined = build()
    (DOCS / "benchmarks.md").write_text(markdown, encoding="utf-8")
    (DOCS / "benchmarks.json").write_text(json.dumps(combined, indent=2) + "\n",
                                          encoding="utf-8")
    print(f"wrote {DOCS / 'benchmarks.md'} and benchmarks.json ({len(combined)} parts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
