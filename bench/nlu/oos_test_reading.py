"""One reading of CLINC150's test split for out-of-scope confidences already chosen on validation.

Not the benchmark, and not for choosing: bench/nlu/oos_validation.py compares candidate
confidences on the validation split; a candidate that looks better there (by a criterion
written down before this runs) is read here once, beside the shipped confidence, before anyone
builds it into the assistant. Each candidate's threshold is chosen on val + oos_val by the
benchmark's rule (bench/nlu/metrics.py); test + oos_test only report.

    MEMBERDESK_DATASETS=<shared>/datasets .venv/bot/bin/python -m bench.nlu.oos_test_reading

The pipeline is config.yml's, trained on CLINC150's in-scope training split and its 100
out-of-scope rows (intent `oos`), as in oos_validation.py. Each text is answered as the
assistant answers it: by the cheap model when it is sure enough (`cheap_enough`), else by the
full model blended with the nearest examples' vote. A cheap answer has no embedding, so a
similarity cannot touch it. Candidates:

- the shipped confidence;
- that confidence times the similarity to the nearest in-scope training example;
- that confidence gated: 0 when that similarity is lower than all but 0.5 % of the training
  rows' similarity to their own nearest other row.

Read on 2026-12-05 (in scope %, after the threshold %, out-of-scope recall %):

    shipped     95.96  95.76  58.6   (the benchmark's own run: 95.9, 95.7, 58.7)
    x nearest   95.96  95.82  56.8
    gated       95.96  95.71  56.9

So neither was built in.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.nlu.data import load_clinc150, rasa_safe  # noqa: E402
from bench.nlu.metrics import scope_scores, tune_threshold  # noqa: E402
from bench.nlu.oos_validation import OUT_OF_SCOPE, minilm_rows, nearest_other  # noqa: E402
from bench.nlu.pipeline import project_pipeline, quiet_rasa  # noqa: E402
from bench.nlu.typo_validation import (  # noqa: E402
    DATASETS,
    SKIPPED,
    CachedEncoder,
    featurised,
)

SPLITS = ("val", "oos_val", "test", "oos_test")
GATE_QUANTILE = 0.005


def cheap_answers(classifier: Any, messages: list, cheap_enough: float) -> np.ndarray:
    """Which messages the cascade's cheap model answers alone, before any embedding."""
    from bot.nlu.linear_intent_classifier import softmax

    return np.array([softmax(classifier.cheap_scores(m)).max() >= cheap_enough
                     for m in messages])


def main() -> int:
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    clinc = load_clinc150(DATASETS / "clinc150")
    train = clinc["train"] + [(text, OUT_OF_SCOPE) for text, _ in clinc["oos_train"]]
    training = TrainingData(training_examples=[
        Message(data={"text": rasa_safe(text), "intent": label}) for text, label in train])
    pipeline = [step for step in project_pipeline() if step["name"] not in SKIPPED]
    cheap_enough = next(float(step.get("cheap_enough", 1.0)) for step in pipeline
                        if step["name"].endswith("LinearIntentClassifier"))
    with quiet_rasa(), tempfile.TemporaryDirectory() as work:
        data, batches, (classifier, _) = featurised(
            pipeline, training, [[rasa_safe(text) for text, _ in clinc[split]]
                                 for split in SPLITS], CachedEncoder(None), Path(work))
        classifier.train(data)
    trained = minilm_rows(data.intent_examples)
    ours = trained[[m.get("intent") != OUT_OF_SCOPE for m in data.intent_examples]]
    gate = np.quantile(nearest_other(ours), GATE_QUANTILE)
    read = {}
    for split, messages in zip(SPLITS, batches, strict=True):
        # Every split was embedded when featurised, so the similarity is there for each row;
        # process() answers as the assistant does (cheap when sure, else full with the vote).
        nearest = (minilm_rows(messages) @ ours.T).max(axis=1)
        sure = cheap_answers(classifier, messages, cheap_enough)
        classifier.process(messages)
        top = np.array([m.get("intent")["confidence"] for m in messages])
        read[split] = {"labels": np.array([m.get("intent")["name"] for m in messages]),
                       "shipped": top,
                       "x nearest": np.where(sure, top, top * nearest),
                       "gated": np.where(sure | (nearest >= gate), top, 0.0)}

    def scored(candidate: str, in_scope: str, out_of_scope: str) -> dict[str, np.ndarray]:
        """What tune_threshold and scope_scores read, for one pair of splits."""
        gold = np.array([label for _, label in clinc[in_scope]])
        return {"in_scope_correct": read[in_scope]["labels"] == gold,
                "in_scope_confidence": read[in_scope][candidate],
                "oos_confidence": read[out_of_scope][candidate],
                "in_scope_labelled_oos": read[in_scope]["labels"] == OUT_OF_SCOPE,
                "oos_labelled_oos": read[out_of_scope]["labels"] == OUT_OF_SCOPE}

    print("candidate  | threshold | test: in scope %, after the threshold %, recall % "
          "(by the label alone %)")
    for candidate in ("shipped", "x nearest", "gated"):
        threshold = tune_threshold(**scored(candidate, "val", "oos_val"))
        test = scope_scores(threshold, **scored(candidate, "test", "oos_test"))
        print(f"{candidate:10s} | {threshold:9.3f} | {100 * test['in_scope_accuracy']:6.2f} "
              f"{100 * test['in_scope_accuracy_with_threshold']:6.2f} "
              f"{100 * test['out_of_scope_recall']:5.1f} "
              f"({100 * test['out_of_scope_recall_by_label']:.1f})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
