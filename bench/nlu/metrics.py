"""Scoring the NLU benchmark's predictions: intents, entities, and the out-of-scope threshold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from bench.nlu.pipeline import FALLBACK_INTENT, Parse

# The product goal for CLINC150 (issue #13): at least this out-of-scope recall, then as many
# in-scope messages right (a fallback counts as wrong) as that allows. The threshold is chosen
# at this floor on the validation split, so the test split chooses nothing.
MIN_OUT_OF_SCOPE_RECALL = 0.70


def intent_scores(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-intent precision/recall/F1/support over gold's labels."""
    from sklearn.metrics import precision_recall_fscore_support

    labels = sorted(set(gold))
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=labels, zero_division=0
    )
    return {
        "accuracy": float(np.mean([g == p for g, p in zip(gold, predicted, strict=True)])),
        "macro_f1": float(np.mean(f1)),
        "per_intent": {
            label: {"precision": round(float(p), 4), "recall": round(float(r), 4),
                    "f1": round(float(f), 4), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
    }


def confusions(gold: Sequence[str], predicted: Sequence[str], top: int = 10) -> list[dict]:
    """The most frequent (gold, predicted) mistakes."""
    pairs = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p)
    return [{"intent": g, "predicted": p, "count": n} for (g, p), n in pairs.most_common(top)]


def entity_scores(gold: Sequence[Sequence[tuple[str, int, int]]],
                  predicted: Sequence[Sequence[tuple[str, int, int]]]) -> dict[str, Any]:
    """Exact-span entity precision/recall/F1, micro over all entities and per entity type."""
    counts: dict[str, Counter[str]] = {}
    for gold_spans, predicted_spans in zip(gold, predicted, strict=True):
        gold_set, predicted_set = set(gold_spans), set(predicted_spans)
        for span in gold_set | predicted_set:
            tally = counts.setdefault(span[0], Counter())
            tally["tp" if span in gold_set and span in predicted_set
                  else "fn" if span in gold_set else "fp"] += 1

    def prf(tally: Counter[str]) -> dict[str, float | int]:
        tp, fp, fn = tally["tp"], tally["fp"], tally["fn"]
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 4), "recall": round(recall, 4),
                "f1": round(f1, 4), "support": tp + fn}

    total = sum(counts.values(), Counter())
    return {"micro": prf(total), "per_entity": {e: prf(t) for e, t in sorted(counts.items())}}


def score_parses(gold: Sequence[str], parses: Sequence[Parse]) -> dict[str, Any]:
    """Intent scores two ways: the classifier's top intent, and after the fallback."""
    top = intent_scores(gold, [p.top_intent for p in parses])
    final = [p.intent for p in parses]
    return {
        **top,
        "accuracy_after_fallback": float(np.mean([g == p for g, p in zip(gold, final,
                                                                          strict=True)])),
        "fallback_rate": float(np.mean([p == FALLBACK_INTENT for p in final])),
        "confusions": confusions(gold, [p.top_intent for p in parses]),
    }


def called_out_of_scope(threshold: float, confidence: np.ndarray,
                        labelled_out_of_scope: np.ndarray | None = None) -> np.ndarray:
    """Which messages are called out of scope: those whose top confidence is under the
    threshold, and those whose top label is the trained out-of-scope class (CLINC150's
    "oos-train" protocol) whatever their confidence."""
    below = confidence < threshold
    return below if labelled_out_of_scope is None else below | labelled_out_of_scope


def tune_threshold(in_scope_correct: np.ndarray, in_scope_confidence: np.ndarray,
                   oos_confidence: np.ndarray,
                   min_recall: float = MIN_OUT_OF_SCOPE_RECALL,
                   in_scope_labelled_oos: np.ndarray | None = None,
                   oos_labelled_oos: np.ndarray | None = None) -> float:
    """The threshold with the best in-scope accuracy whose out-of-scope recall is >= min_recall.

    A message is called out of scope (falls back) when called_out_of_scope says so; in-scope
    accuracy counts that as a mistake. The *_labelled_oos arrays say which messages the
    classifier labelled with the trained out-of-scope class; leave them out when there is
    none. Ties go to the lower threshold. Should no threshold reach min_recall, the one with
    the highest recall wins.
    """
    top = max(float(np.max(in_scope_confidence, initial=0.0)),
              float(np.max(oos_confidence, initial=0.0)))
    # Just above the highest confidence everything falls back: recall 1, so the goal is
    # always reachable on data with any out-of-scope examples.
    candidates = np.unique(np.concatenate([[0.0, np.nextafter(top, 2.0)],
                                           in_scope_confidence, oos_confidence]))
    best, best_key = 0.0, (False, -1.0, -1.0)
    for threshold in candidates:
        kept = ~called_out_of_scope(threshold, in_scope_confidence, in_scope_labelled_oos)
        accuracy = float(np.mean(in_scope_correct & kept))
        recall = float(np.mean(called_out_of_scope(threshold, oos_confidence,
                                                   oos_labelled_oos)))
        reached = recall >= min_recall
        key = (reached, accuracy, recall) if reached else (reached, recall, accuracy)
        if key > best_key:
            best, best_key = float(threshold), key
    return best


def scope_scores(threshold: float, in_scope_correct: np.ndarray,
                 in_scope_confidence: np.ndarray, oos_confidence: np.ndarray,
                 in_scope_labelled_oos: np.ndarray | None = None,
                 oos_labelled_oos: np.ndarray | None = None) -> dict[str, float]:
    """In-scope accuracy (raw and with fallback), out-of-scope recall and fallback rate.

    A message labelled with the trained out-of-scope class counts as a fallback at any
    threshold; `out_of_scope_recall_by_label` is the recall of that label alone.
    """
    in_scope_fallback = called_out_of_scope(threshold, in_scope_confidence,
                                            in_scope_labelled_oos)
    oos_fallback = called_out_of_scope(threshold, oos_confidence, oos_labelled_oos)
    by_label = (np.zeros(len(oos_confidence), dtype=bool) if oos_labelled_oos is None
                else oos_labelled_oos)
    return {
        "threshold": round(threshold, 4),
        "in_scope_accuracy": float(np.mean(in_scope_correct)),
        "in_scope_accuracy_with_threshold": float(
            np.mean(in_scope_correct & ~in_scope_fallback)),
        "out_of_scope_recall": float(np.mean(oos_fallback)),
        "out_of_scope_recall_by_label": float(np.mean(by_label)),
        "in_scope_fallback_rate": float(np.mean(in_scope_fallback)),
    }
