"""The serving benchmark's smoke mode starts the real stack, holds a checked conversation
through the REST channel and writes well-formed results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_run_writes_well_formed_results(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench/serving_bench.py"), "--smoke", "--out", str(tmp_path)],
        cwd=ROOT, timeout=240, capture_output=True, text=True,
    )
    # A reply that does not make sense for its turn makes the benchmark exit non-zero.
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    results = json.loads((tmp_path / "benchmarks-serving.json").read_text())
    assert results["meta"]["smoke"] is True
    assert set(results["configurations"]) == {"ours-sqlite"}
    ours = results["configurations"]["ours-sqlite"]
    assert set(ours["ready_seconds_by_process"]) == {"api", "actions", "rasa"}
    assert 0 < ours["ready_seconds"] == max(ours["ready_seconds_by_process"].values())
    assert set(ours["rss_mb_peak_by_process"]) == {"api", "actions", "rasa"}
    assert all(value > 0 for value in ours["rss_mb_peak_by_process"].values())
    assert ours["rss_mb_peak_total"] >= ours["rss_mb_after_ready_total"] > 0
    assert ours["model_mb"] > 0

    level = ours["levels"]["1"]
    assert level["errors"] == 0 and level["error_examples"] == []
    # The first journey gets at least through the identity check.
    assert level["turns"] >= 5
    assert level["turns_per_second"] > 0
    assert 0 < level["p50_ms"] <= level["p95_ms"] <= level["p99_ms"] <= level["max_ms"]
    # Every process used some CPU for the turns.
    cpu = level["cpu_ms_per_turn_by_process"]
    assert set(cpu) == {"api", "actions", "rasa"} and all(value > 0 for value in cpu.values())

    goals = {row["goal"] for row in results["verdict"]}
    assert {"ready after start", "resident memory (peak, 3 processes)"} <= goals
    assert all(isinstance(row["met"], bool) for row in results["verdict"])

    report = (tmp_path / "benchmarks-serving.md").read_text()
    assert report.startswith("## Serving")
    assert "| ours-sqlite | 1 |" in report and "bench/serving_bench.py --smoke" in report
    assert (tmp_path / "benchmarks-serving.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
