"""The NLU benchmark's smoke mode runs end to end and writes well-formed results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_run_writes_well_formed_results(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "bench/nlu_bench.py"), "--smoke", "--out", str(tmp_path)],
        cwd=ROOT, check=True, timeout=600, capture_output=True,
    )

    results = json.loads((tmp_path / "benchmarks-nlu.json").read_text())
    assert results["meta"]["smoke"] is True
    banking = results["public"]["banking77"]["systems"]
    clinc = results["public"]["clinc150"]["systems"]
    assert set(banking) == set(clinc) and len(banking) == 3
    for system in banking.values():
        assert 0.0 <= system["accuracy"] <= 1.0 and system["train_seconds"] >= 0
    # CLINC150's out-of-scope training rows are trained on, as its "oos-train" protocol has it.
    assert results["public"]["clinc150"]["train_out_of_scope"] > 0
    for system in clinc.values():
        for key in ("in_scope_accuracy", "out_of_scope_recall", "out_of_scope_recall_by_label",
                    "in_scope_fallback_rate"):
            assert 0.0 <= system[key] <= 1.0
    for part in ("heldout", "cross_validation"):
        own = results["own"][part]
        assert 0.0 <= own["accuracy"] <= 1.0 and 0.0 <= own["macro_f1"] <= 1.0
        assert own["per_intent"] and all(0.0 <= s["f1"] <= 1.0
                                         for s in own["per_intent"].values())
        assert "micro" in own["entities"]
    others = results["others_words"]
    assert len(others["systems"]) == 4 and others["requests"] > 0
    for system in others["systems"].values():
        for variant in ("clean", "typos"):
            assert 0.0 <= system[variant]["accuracy"] <= 1.0
            assert 0.0 <= system[variant]["out_of_scope"] <= 1.0
    # The held-out set covers every intent of the assistant.
    assert len(results["own"]["heldout"]["per_intent"]) == 32

    report = (tmp_path / "benchmarks-nlu.md").read_text()
    assert report.startswith("## NLU")
    assert "### Banking77" in report and "### CLINC150" in report
    assert "held-out" in report and "cross-validation" in report
    assert "### Others' words" in report
