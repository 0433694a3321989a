"""The systems compared on the public data sets, and how each data set is scored."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.nlu.data import OUT_OF_SCOPE, Example, write_nlu_yaml
from bench.nlu.metrics import (
    MIN_OUT_OF_SCOPE_RECALL,
    intent_scores,
    scope_scores,
    tune_threshold,
)
from bench.nlu.pipeline import parse_all, train_nlu, write_config


@dataclass
class Predictions:
    """Top label and its confidence for every text, plus how long training took."""

    labels: list[str]
    confidence: np.ndarray
    train_seconds: float
    parse_seconds: float  # median per message


Predictor = Callable[[list[Example], dict[str, list[str]], Path], dict[str, Predictions]]


def rasa_predictor(pipeline: list[dict[str, Any]], name: str) -> Predictor:
    """Trains `pipeline` with Rasa on the examples and parses each named list of texts."""

    def predict(train: list[Example], texts: dict[str, list[str]], work: Path
                ) -> dict[str, Predictions]:
        folder = work / name
        folder.mkdir(parents=True, exist_ok=True)
        config = write_config(pipeline, folder / "config.yml")
        nlu = write_nlu_yaml(train, folder / "nlu.yml")
        model, train_seconds = train_nlu(config, nlu, folder, name)
        out = {}
        for split, split_texts in texts.items():
            parses, parse_seconds = parse_all(model, split_texts)
            out[split] = Predictions([p.top_intent for p in parses],
                                     np.array([p.confidence for p in parses]),
                                     train_seconds, parse_seconds)
        return out

    return predict


def tfidf_logreg_predictor(train: list[Example], texts: dict[str, list[str]], work: Path
                           ) -> dict[str, Predictions]:
    """TF-IDF (word 1-2 + char_wb 2-5 grams) and logistic regression with scikit-learn."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                            min_df=2),
        ),
        LogisticRegression(C=20.0, max_iter=1000),
    )
    start = time.perf_counter()
    model.fit([t for t, _ in train], [label for _, label in train])
    train_seconds = time.perf_counter() - start
    out = {}
    for split, split_texts in texts.items():
        start = time.perf_counter()
        probabilities = model.predict_proba(split_texts)
        per_text = (time.perf_counter() - start) / max(len(split_texts), 1)
        best = probabilities.argmax(axis=1)
        out[split] = Predictions([str(model.classes_[i]) for i in best],
                                 probabilities.max(axis=1), train_seconds, per_text)
    return out


def run_banking77(data: dict[str, list[Example]], systems: dict[str, Predictor], work: Path
                  ) -> dict[str, Any]:
    """Banking77: train on train, accuracy and macro-F1 on test."""
    results = {}
    gold = [label for _, label in data["test"]]
    for name, predictor in systems.items():
        print(f"banking77: {name} on {len(data['train'])} examples", flush=True)
        predictions = predictor(data["train"], {"test": [t for t, _ in data["test"]]},
                                work / "banking77")["test"]
        scores = intent_scores(gold, predictions.labels)
        results[name] = {
            "accuracy": round(scores["accuracy"], 4), "macro_f1": round(scores["macro_f1"], 4),
            "train_seconds": round(predictions.train_seconds, 1),
            "parse_ms_median": round(predictions.parse_seconds * 1000, 2),
        }
        print(f"  accuracy {scores['accuracy']:.4f}, trained in "
              f"{predictions.train_seconds:.0f} s", flush=True)
    return {"train_examples": len(data["train"]), "test_examples": len(data["test"]),
            "intents": len({label for _, label in data["train"]}), "systems": results}


def run_clinc150(data: dict[str, list[Example]], systems: dict[str, Predictor], work: Path
                 ) -> dict[str, Any]:
    """CLINC150 by its standard "oos-train" protocol: train on the in-scope train split plus
    the 100 oos_train rows as one more intent ("oos"); a message is called out of scope when
    its top label is "oos" or its confidence is under a threshold chosen on val + oos_val;
    report on test + oos_test, which choose nothing."""
    results = {}
    train = data["train"] + data["oos_train"]
    texts = {split: [t for t, _ in data[split]] for split in ("val", "oos_val", "test",
                                                                "oos_test")}
    for name, predictor in systems.items():
        print(f"clinc150: {name} on {len(train)} examples", flush=True)
        predictions = predictor(train, texts, work / "clinc150")

        def correct(split: str, predictions: dict[str, Predictions] = predictions
                    ) -> np.ndarray:
            return np.array([p == label for p, (_, label) in
                             zip(predictions[split].labels, data[split], strict=True)])

        def scored(in_scope: str, out_of_scope: str,
                   predictions: dict[str, Predictions] = predictions) -> dict[str, Any]:
            """What tune_threshold and scope_scores read, for one pair of splits."""
            return {
                "in_scope_correct": correct(in_scope),
                "in_scope_confidence": predictions[in_scope].confidence,
                "oos_confidence": predictions[out_of_scope].confidence,
                "in_scope_labelled_oos": np.array(
                    [label == OUT_OF_SCOPE for label in predictions[in_scope].labels]),
                "oos_labelled_oos": np.array(
                    [label == OUT_OF_SCOPE for label in predictions[out_of_scope].labels]),
            }

        threshold = tune_threshold(**scored("val", "oos_val"))
        scores = scope_scores(threshold, **scored("test", "oos_test"))
        validation = scope_scores(threshold, **scored("val", "oos_val"))
        results[name] = {
            **{key: round(value, 4) for key, value in scores.items()},
            "validation": {key: round(value, 4) for key, value in validation.items()},
            "train_seconds": round(predictions["test"].train_seconds, 1),
            "parse_ms_median": round(predictions["test"].parse_seconds * 1000, 2),
        }
        print(f"  in-scope {scores['in_scope_accuracy']:.4f} (after the threshold "
              f"{scores['in_scope_accuracy_with_threshold']:.4f}), out-of-scope recall "
              f"{scores['out_of_scope_recall']:.4f} at {threshold:.3f} "
              f"({scores['out_of_scope_recall_by_label']:.4f} by the oos label alone)",
              flush=True)
    return {"protocol": "oos-train", "train_examples": len(data["train"]),
            "train_out_of_scope": len(data["oos_train"]), "test_in_scope": len(data["test"]),
            "test_out_of_scope": len(data["oos_test"]),
            "min_out_of_scope_recall": MIN_OUT_OF_SCOPE_RECALL,
            "intents": len({label for _, label in data["train"]}), "systems": results}
