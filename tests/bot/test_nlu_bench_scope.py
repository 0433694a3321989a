"""CLINC150's out-of-scope scoring in the NLU benchmark, and what a run of one part keeps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.nlu.metrics import called_out_of_scope, scope_scores, tune_threshold
from bench.nlu_bench import with_parts_kept


def test_a_message_labelled_out_of_scope_falls_back_at_any_threshold() -> None:
    confidence = np.array([0.9, 0.9, 0.2])
    labelled = np.array([False, True, False])

    assert called_out_of_scope(0.0, confidence, labelled).tolist() == [False, True, False]
    assert called_out_of_scope(0.5, confidence, labelled).tolist() == [False, True, True]
    assert called_out_of_scope(0.5, confidence).tolist() == [False, False, True]


def test_scope_scores_count_the_out_of_scope_label_as_a_fallback() -> None:
    # In scope: right and sure, right but unsure, labelled "oos" (so wrong) and sure.
    correct = np.array([True, True, False])
    in_confidence = np.array([0.9, 0.3, 0.8])
    in_labelled = np.array([False, False, True])
    # Out of scope: labelled "oos", unsure, sure of an in-scope intent, sure of it too.
    oos_confidence = np.array([0.7, 0.2, 0.9, 0.6])
    oos_labelled = np.array([True, False, False, False])

    scores = scope_scores(0.5, correct, in_confidence, oos_confidence, in_labelled,
                          oos_labelled)

    assert scores["in_scope_accuracy"] == pytest.approx(2 / 3)
    assert scores["in_scope_accuracy_with_threshold"] == pytest.approx(1 / 3)
    assert scores["in_scope_fallback_rate"] == pytest.approx(2 / 3)
    assert scores["out_of_scope_recall"] == pytest.approx(2 / 4)
    assert scores["out_of_scope_recall_by_label"] == pytest.approx(1 / 4)


def test_the_threshold_needs_less_once_the_label_finds_some_out_of_scope() -> None:
    correct = np.array([True, True, True, True])
    in_confidence = np.array([0.9, 0.8, 0.5, 0.4])
    oos_confidence = np.array([0.95, 0.6, 0.45, 0.3])
    labelled = np.array([True, False, False, False])

    # Confidence alone: 3 of 4 out of scope need a threshold above 0.6, where half the
    # in-scope messages fall back too.
    alone = tune_threshold(correct, in_confidence, oos_confidence, min_recall=0.75)
    assert scope_scores(alone, correct, in_confidence, oos_confidence
                        )["out_of_scope_recall"] >= 0.75
    # The label finds the surest one: a threshold of 0.5 reaches 75 % and keeps three of four.
    both = tune_threshold(correct, in_confidence, oos_confidence, min_recall=0.75,
                          in_scope_labelled_oos=np.zeros(4, dtype=bool),
                          oos_labelled_oos=labelled)
    assert both == pytest.approx(0.5)
    scores = scope_scores(both, correct, in_confidence, oos_confidence,
                          np.zeros(4, dtype=bool), labelled)
    assert scores["out_of_scope_recall"] == pytest.approx(0.75)
    assert scores["in_scope_accuracy_with_threshold"] == pytest.approx(0.75)
    assert both < alone


def test_a_run_of_one_data_set_keeps_the_other_with_its_date(tmp_path: Path) -> None:
    previous = tmp_path / "benchmarks-nlu.json"
    old_command = "python bench/nlu_bench.py"
    previous.write_text(json.dumps({
        "meta": {"date": "2026-12-01", "command": old_command,
                 "measured": {"public": {"date": "2026-12-01", "command": old_command},
                              "own": {"date": "2026-12-02", "command": "--only own"}}},
        "public": {"banking77": {"old": 1}, "clinc150": {"old": 2}},
        "own": {"old": 3},
    }))
    results = {"meta": {"date": "2026-12-04", "command": "--only clinc150", "smoke": False},
               "public": {"clinc150": {"new": 4}}}

    kept = with_parts_kept(results, previous)

    assert kept["public"] == {"clinc150": {"new": 4}, "banking77": {"old": 1}}
    assert kept["own"] == {"old": 3}
    assert kept["meta"]["measured"] == {
        "banking77": {"date": "2026-12-01", "command": old_command},
        "clinc150": {"date": "2026-12-04", "command": "--only clinc150"},
        "own": {"date": "2026-12-02", "command": "--only own"},
    }


def test_a_run_without_stock_rasa_keeps_its_earlier_row_dated(tmp_path: Path) -> None:
    previous = tmp_path / "benchmarks-nlu.json"
    previous.write_text(json.dumps({
        "meta": {"date": "2026-12-01", "command": "python bench/nlu_bench.py",
                 "measured": {"banking77": {"date": "2026-12-01", "command": "--stock-epochs 5"}}},
        "public": {"banking77": {"systems": {"memberdesk pipeline": {"accuracy": 0.93},
                                             "stock Rasa (5 epochs)": {"accuracy": 0.87}}}},
    }))
    results = {"meta": {"date": "2026-12-04", "command": "--only banking77 --skip-stock",
                        "smoke": False},
               "public": {"banking77": {"systems": {"memberdesk pipeline": {"accuracy": 0.94}}}}}

    kept = with_parts_kept(results, previous)

    assert kept["public"]["banking77"]["systems"] == {
        "memberdesk pipeline": {"accuracy": 0.94},
        "stock Rasa (5 epochs) (measured 2026-12-01)": {"accuracy": 0.87},
    }
