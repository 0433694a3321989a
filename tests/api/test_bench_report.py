"""docs/benchmarks.md is put together from each benchmark's own section."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_report_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_report", ROOT / "bench/report.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_present_parts_are_merged_and_missing_ones_named(tmp_path: Path) -> None:
    report = load_report_module()
    (tmp_path / "benchmarks-nlu.md").write_text("## NLU\n\n### Banking77\n\n| a |\n")
    (tmp_path / "benchmarks-nlu.json").write_text(json.dumps({"accuracy": 0.9}))
    (tmp_path / "bench-api.md").write_text("# Records API benchmark\n\ntext\n")

    markdown, combined = report.build(tmp_path)

    assert combined == {"nlu": {"accuracy": 0.9}}
    lines = markdown.splitlines()
    assert lines[0] == "# Benchmarks"
    # Each part's top heading sits at level two, its own sub-headings below it.
    assert "## NLU" in lines and "### Banking77" in lines
    assert "## Records API benchmark" in lines
    assert "Not measured yet: run `.venv/bot/bin/python bench/serving_bench.py`." in markdown
