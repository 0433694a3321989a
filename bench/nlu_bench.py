"""Benchmark of the assistant's NLU pipeline (config.yml) on public data and on its own data.

Not a test: run it by hand and commit the results it writes.

    .venv/bot/bin/python bench/nlu_bench.py             # everything (about an hour on 2 cores)
    .venv/bot/bin/python bench/nlu_bench.py --smoke     # tiny subsets, well under a minute
    .venv/bot/bin/python bench/nlu_bench.py --only own  # just the project's own data

Public data (../shared/datasets, see its README.md): the project's pipeline, a TF-IDF +
logistic regression baseline and stock Rasa's `rasa init` pipeline (DIET at a reduced epoch
count) are trained on Banking77's and CLINC150's train splits. Reported: Banking77 test
accuracy; CLINC150's test in-scope accuracy (raw, and after the threshold), out-of-scope
recall and in-scope fallback rate at one confidence threshold chosen on CLINC150's validation
split by this rule: the highest in-scope accuracy (a fallback counts as wrong) among the
thresholds whose out-of-scope recall is at least 60 % (MIN_OUT_OF_SCOPE_RECALL). The test
splits choose nothing.

Own data: the pipeline trained on data/nlu and scored on tests/nlu/heldout.yml, then a
stratified k-fold cross-validation over data/nlu: accuracy, macro-F1, per-intent F1, entity
F1 and the confusions worth fixing.

Results go to docs/benchmarks-nlu.json and docs/benchmarks-nlu.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# A small fixed thread pool: TensorFlow's default oversubscribes a two-core machine.
os.environ.setdefault("TF_INTRA_OP_PARALLELISM_THREADS", "2")
os.environ.setdefault("TF_INTER_OP_PARALLELISM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import yaml  # noqa: E402

DATASETS = Path(os.environ.get("MEMBERDESK_DATASETS", ROOT.parent / "shared" / "datasets"))
DOCS = ROOT / "docs"
FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE = "oos"
STOCK_EPOCHS = 10
# The product goal for CLINC150: at least this out-of-scope recall, then as many in-scope
# messages right (a fallback counts as wrong) as that allows.
MIN_OUT_OF_SCOPE_RECALL = 0.60

# What `rasa init` writes (Rasa 3.6), with DIET's and the ResponseSelector's epochs lowered
# from 100: at 100 the two public data sets take about three hours on two cores.
STOCK_PIPELINE: list[dict[str, Any]] = [
    {"name": "WhitespaceTokenizer"},
    {"name": "RegexFeaturizer"},
    {"name": "LexicalSyntacticFeaturizer"},
    {"name": "CountVectorsFeaturizer"},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
    {"name": "DIETClassifier", "epochs": STOCK_EPOCHS, "constrain_similarities": True},
    {"name": "EntitySynonymMapper"},
    {"name": "ResponseSelector", "epochs": STOCK_EPOCHS, "constrain_similarities": True},
    {"name": "FallbackClassifier", "threshold": 0.3, "ambiguity_threshold": 0.1},
]

Example = tuple[str, str]  # (text, intent)


# --- data -----------------------------------------------------------------------------------


def load_banking77(folder: Path) -> dict[str, list[Example]]:
    """Banking77's train and test splits (CSV: text, category)."""
    import csv

    splits = {}
    for split in ("train", "test"):
        with (folder / f"{split}.csv").open(newline="", encoding="utf-8") as handle:
            splits[split] = [(row["text"], row["category"]) for row in csv.DictReader(handle)]
    return splits


def load_clinc150(folder: Path) -> dict[str, list[Example]]:
    """CLINC150 'full': train/val/test in scope, oos_* out of scope (label 'oos')."""
    raw = json.loads((folder / "data_full.json").read_text(encoding="utf-8"))
    return {split: [(text, label) for text, label in rows] for split, rows in raw.items()}


def subset(examples: Sequence[Example], intents: int, per_intent: int) -> list[Example]:
    """The first `per_intent` examples of the first `intents` labels (in order of appearance)."""
    kept: Counter[str] = Counter()
    labels: list[str] = []
    chosen = []
    for text, label in examples:
        if label not in labels:
            if len(labels) == intents:
                continue
            labels.append(label)
        if kept[label] < per_intent:
            kept[label] += 1
            chosen.append((text, label))
    return chosen


def rasa_safe(text: str) -> str:
    """Square brackets would read as entity annotations in Rasa's YAML; nothing else changes."""
    return " ".join(text.replace("[", "(").replace("]", ")").split())


def write_nlu_yaml(examples: Sequence[Example], path: Path) -> Path:
    """Writes plain (text, intent) examples as Rasa 3.1 NLU YAML."""
    by_intent: dict[str, list[str]] = {}
    for text, intent in examples:
        by_intent.setdefault(intent, []).append(rasa_safe(text))
    document = {
        "version": "3.1",
        "nlu": [
            {"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)}
            for intent, texts in by_intent.items()
        ],
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=10_000),
                    encoding="utf-8")
    return path


# --- training and parsing through Rasa ------------------------------------------------------


def project_pipeline() -> list[dict[str, Any]]:
    """The pipeline section of the project's config.yml."""
    return yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]


def write_config(pipeline: list[dict[str, Any]], path: Path) -> Path:
    """A Rasa config file holding just `pipeline`."""
    config = {"recipe": "default.v1", "language": "en", "pipeline": pipeline}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def with_epochs(pipeline: list[dict[str, Any]], epochs: int) -> list[dict[str, Any]]:
    """A copy of `pipeline` with every component that has epochs set to `epochs`."""
    return [{**step, "epochs": epochs} if "epochs" in step else dict(step) for step in pipeline]


@contextmanager
def quiet_rasa() -> Iterator[None]:
    """Rasa and TensorFlow log a great deal; the benchmark prints its own progress."""
    import rasa.utils.common
    from rasa.utils.log_utils import configure_structlog

    logging.disable(logging.WARNING)
    rasa.utils.common.configure_library_logging()
    # Rasa 3.6 logs every parse through structlog at debug level unless told otherwise.
    configure_structlog(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)


def train_nlu(config: Path, nlu: Path | Sequence[Path], out: Path, name: str) -> tuple[Path, float]:
    """Trains an NLU-only model; returns its path and the wall-clock seconds it took."""
    from rasa.model_training import train_nlu as rasa_train_nlu

    if isinstance(nlu, Path):
        nlu_data = nlu
    else:
        # Rasa's train_nlu takes one path: several files are gathered into one folder.
        nlu_data = out / f"{name}-nlu"
        nlu_data.mkdir(parents=True, exist_ok=True)
        for path in nlu:
            shutil.copyfile(path, nlu_data / path.name)
    start = time.perf_counter()
    with quiet_rasa():
        model = rasa_train_nlu(str(config), str(nlu_data), str(out), fixed_model_name=name)
    seconds = time.perf_counter() - start
    if model is None:
        raise RuntimeError(f"training {name} with {config} produced no model")
    return Path(model), seconds


@dataclass
class Parse:
    """What the trained pipeline said about one message."""

    intent: str  # after FallbackClassifier: may be nlu_fallback
    top_intent: str  # the classifier's best guess, ignoring the fallback
    confidence: float  # the classifier's confidence in top_intent
    entities: list[tuple[str, int, int]]


def parse_all(model: Path, texts: Sequence[str]) -> tuple[list[Parse], float]:
    """Parses every text with the model; returns the parses and the median seconds per text."""
    from rasa.core.agent import Agent

    with quiet_rasa():
        agent = Agent.load(str(model))

    async def run() -> tuple[list[Parse], list[float]]:
        parses, seconds = [], []
        for text in texts:
            start = time.perf_counter()
            result = await agent.parse_message(text)
            seconds.append(time.perf_counter() - start)
            ranking = [r for r in result.get("intent_ranking", [])
                       if r["name"] != FALLBACK_INTENT]
            top = ranking[0] if ranking else {"name": "", "confidence": 0.0}
            parses.append(Parse(
                intent=(result.get("intent") or {}).get("name") or "",
                top_intent=top["name"], confidence=float(top["confidence"]),
                entities=sorted((e["entity"], e["start"], e["end"])
                                for e in result.get("entities", [])),
            ))
        return parses, seconds

    with quiet_rasa():
        parses, seconds = asyncio.run(run())
    return parses, float(np.median(seconds)) if seconds else 0.0


# --- metrics --------------------------------------------------------------------------------


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


def tune_threshold(in_scope_correct: np.ndarray, in_scope_confidence: np.ndarray,
                   oos_confidence: np.ndarray,
                   min_recall: float = MIN_OUT_OF_SCOPE_RECALL) -> float:
    """The threshold with the best in-scope accuracy whose out-of-scope recall is >= min_recall.

    A message falls back (is called out of scope) when its top confidence is below the
    threshold; in-scope accuracy counts a fallback as a mistake. Ties go to the lower
    threshold. Should no threshold reach min_recall, the one with the highest recall wins.
    """
    top = max(float(np.max(in_scope_confidence, initial=0.0)),
              float(np.max(oos_confidence, initial=0.0)))
    # Just above the highest confidence everything falls back: recall 1, so the goal is
    # always reachable on data with any out-of-scope examples.
    candidates = np.unique(np.concatenate([[0.0, np.nextafter(top, 2.0)],
                                           in_scope_confidence, oos_confidence]))
    best, best_key = 0.0, (False, -1.0, -1.0)
    for threshold in candidates:
        accuracy = float(np.mean(in_scope_correct & (in_scope_confidence >= threshold)))
        recall = float(np.mean(oos_confidence < threshold))
        reached = recall >= min_recall
        key = (reached, accuracy, recall) if reached else (reached, recall, accuracy)
        if key > best_key:
            best, best_key = float(threshold), key
    return best


def scope_scores(threshold: float, in_scope_correct: np.ndarray,
                 in_scope_confidence: np.ndarray, oos_confidence: np.ndarray) -> dict[str, float]:
    """In-scope accuracy (raw and with fallback), out-of-scope recall and fallback rate."""
    return {
        "threshold": round(threshold, 4),
        "in_scope_accuracy": float(np.mean(in_scope_correct)),
        "in_scope_accuracy_with_threshold": float(
            np.mean(in_scope_correct & (in_scope_confidence >= threshold))),
        "out_of_scope_recall": float(np.mean(oos_confidence < threshold)),
        "in_scope_fallback_rate": float(np.mean(in_scope_confidence < threshold)),
    }


# --- the systems compared on public data ----------------------------------------------------


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
    """CLINC150: train on in-scope train, tune the threshold on val, report on test."""
    results = {}
    texts = {split: [t for t, _ in data[split]] for split in ("val", "oos_val", "test",
                                                                "oos_test")}
    for name, predictor in systems.items():
        print(f"clinc150: {name} on {len(data['train'])} examples", flush=True)
        predictions = predictor(data["train"], texts, work / "clinc150")

        def correct(split: str, predictions: dict[str, Predictions] = predictions
                    ) -> np.ndarray:
            return np.array([p == label for p, (_, label) in
                             zip(predictions[split].labels, data[split], strict=True)])

        threshold = tune_threshold(correct("val"), predictions["val"].confidence,
                                   predictions["oos_val"].confidence)
        scores = scope_scores(threshold, correct("test"), predictions["test"].confidence,
                              predictions["oos_test"].confidence)
        validation = scope_scores(threshold, correct("val"), predictions["val"].confidence,
                                  predictions["oos_val"].confidence)
        results[name] = {
            **{key: round(value, 4) for key, value in scores.items()},
            "validation": {key: round(value, 4) for key, value in validation.items()},
            "train_seconds": round(predictions["test"].train_seconds, 1),
            "parse_ms_median": round(predictions["test"].parse_seconds * 1000, 2),
        }
        print(f"  in-scope {scores['in_scope_accuracy']:.4f} (after the threshold "
              f"{scores['in_scope_accuracy_with_threshold']:.4f}), out-of-scope recall "
              f"{scores['out_of_scope_recall']:.4f} at {threshold:.3f}", flush=True)
    return {"train_examples": len(data["train"]), "test_in_scope": len(data["test"]),
            "test_out_of_scope": len(data["oos_test"]),
            "min_out_of_scope_recall": MIN_OUT_OF_SCOPE_RECALL,
            "intents": len({label for _, label in data["train"]}), "systems": results}


# --- the project's own data -----------------------------------------------------------------


def first_per_intent(examples: list[Any], keep_per_intent: int | None) -> list[Any]:
    """The first `keep_per_intent` examples of each intent (all of them when None)."""
    if keep_per_intent is None:
        return examples
    kept: Counter[str] = Counter()
    chosen = []
    for message in examples:
        kept[message.get("intent")] += 1
        if kept[message.get("intent")] <= keep_per_intent:
            chosen.append(message)
    return chosen


def trimmed_training_file(nlu_folder: Path, keep_per_intent: int, path: Path) -> Path:
    """The project's NLU data cut to a few examples per intent (regexes kept), as one file."""
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    with quiet_rasa():
        data = load_data(str(nlu_folder))
    examples = first_per_intent([m for m in data.intent_examples if m.get("text")],
                                keep_per_intent)
    trimmed = TrainingData(training_examples=examples, regex_features=data.regex_features,
                           lookup_tables=data.lookup_tables,
                           entity_synonyms=data.entity_synonyms)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(trimmed.nlu_as_yaml(), encoding="utf-8")
    return path


def own_heldout(config: Path, train_paths: Path | list[Path], heldout: Path, work: Path
                ) -> dict[str, Any]:
    """Trains on the project's NLU data and scores the held-out test set."""
    from rasa.shared.nlu.training_data.loading import load_data

    model, seconds = train_nlu(config, train_paths, work, "heldout")
    with quiet_rasa():
        test = load_data(str(heldout))
    examples = [m for m in test.intent_examples if m.get("text")]
    parses, parse_seconds = parse_all(model, [m.get("text") for m in examples])
    gold = [m.get("intent") for m in examples]
    return {
        "examples": len(examples), "train_seconds": round(seconds, 1),
        "parse_ms_median": round(parse_seconds * 1000, 2),
        **score_parses(gold, parses),
        "entities": entity_scores(
            [sorted((e["entity"], e["start"], e["end"]) for e in m.get("entities", []))
             for m in examples], [p.entities for p in parses]),
    }


def own_cross_validation(config: Path, nlu_folder: Path, folds: int, work: Path,
                         keep_per_intent: int | None = None) -> dict[str, Any]:
    """Stratified k-fold cross-validation over the project's NLU data (regexes kept)."""
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    with quiet_rasa():
        data = load_data(str(nlu_folder))
    examples = first_per_intent([m for m in data.intent_examples if m.get("text")],
                                keep_per_intent)
    intents = [m.get("intent") for m in examples]
    gold, parses, train_seconds = [], [], []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for fold, (train_index, test_index) in enumerate(splitter.split(examples, intents)):
        print(f"own data: fold {fold + 1}/{folds}", flush=True)
        folder = work / f"fold{fold}"
        folder.mkdir(parents=True)
        train = TrainingData(
            training_examples=[examples[i] for i in train_index],
            regex_features=data.regex_features, lookup_tables=data.lookup_tables,
            entity_synonyms=data.entity_synonyms,
        )
        (folder / "nlu.yml").write_text(train.nlu_as_yaml(), encoding="utf-8")
        model, seconds = train_nlu(config, folder / "nlu.yml", folder, f"fold{fold}")
        train_seconds.append(seconds)
        fold_parses, _ = parse_all(model, [examples[i].get("text") for i in test_index])
        parses.extend(fold_parses)
        gold.extend(examples[i] for i in test_index)
    scores = score_parses([m.get("intent") for m in gold], parses)
    return {
        "folds": folds, "examples": len(examples),
        "train_seconds_mean": round(float(np.mean(train_seconds)), 1),
        **scores,
        "entities": entity_scores(
            [sorted((e["entity"], e["start"], e["end"]) for e in m.get("entities", []))
             for m in gold], [p.entities for p in parses]),
    }


# --- report ---------------------------------------------------------------------------------


def percent(value: float) -> str:
    """0.9123 -> 91.2"""
    return f"{100 * value:.1f}"


def markdown(results: dict[str, Any]) -> str:
    """The human-readable half of the results."""
    meta = results["meta"]
    lines = [
        "## NLU",
        "",
        f"Measured {meta['date']} on {meta['machine']} with `{meta['command']}`"
        f"{' (smoke mode: tiny subsets, numbers meaningless)' if meta['smoke'] else ''}.",
        f"The project's pipeline is `config.yml`'s; stock Rasa is the `rasa init` pipeline with "
        f"DIET and ResponseSelector at {meta['stock_epochs']} epochs (100 by default)"
        f"{', left out of this run (--skip-stock)' if meta.get('stock_skipped') else ''}.",
        "",
    ]
    public = results.get("public", {})
    if "banking77" in public:
        b = public["banking77"]
        lines += [
            f"### Banking77 ({b['train_examples']} train, {b['test_examples']} test, "
            f"{b['intents']} intents)", "",
            "| system | accuracy % | macro-F1 % | training s | parse ms (median) |",
            "|---|---|---|---|---|",
        ]
        lines += [f"| {name} | {percent(s['accuracy'])} | {percent(s['macro_f1'])} | "
                  f"{s['train_seconds']} | {s['parse_ms_median']} |"
                  for name, s in b["systems"].items()]
        lines.append("")
    if "clinc150" in public:
        c = public["clinc150"]
        lines += [
            f"### CLINC150 ({c['train_examples']} train, {c['test_in_scope']} in-scope and "
            f"{c['test_out_of_scope']} out-of-scope test, {c['intents']} intents)", "",
            "Out of scope is detected by a confidence threshold chosen on the validation split: "
            "the highest in-scope accuracy (a fallback counts as wrong) among the thresholds "
            f"with out-of-scope recall >= {percent(c['min_out_of_scope_recall'])} % on "
            "validation. The test numbers below use that threshold; out-of-scope examples "
            "are never trained on.", "",
            "| system | in-scope accuracy % | out-of-scope recall % | in-scope fallback % | "
            "in-scope acc. after threshold % | threshold | training s |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [f"| {name} | {percent(s['in_scope_accuracy'])} | "
                  f"{percent(s['out_of_scope_recall'])} | "
                  f"{percent(s['in_scope_fallback_rate'])} | "
                  f"{percent(s['in_scope_accuracy_with_threshold'])} | {s['threshold']} | "
                  f"{s['train_seconds']} |" for name, s in c["systems"].items()]
        lines.append("")
    own = results.get("own", {})
    for key, title in (("heldout", "Own data: held-out test set (tests/nlu/heldout.yml)"),
                       ("cross_validation", "Own data: cross-validation over data/nlu")):
        if key not in own:
            continue
        o = own[key]
        size = (f"{o['folds']} folds over {o['examples']} examples" if "folds" in o
                else f"{o['examples']} examples")
        train = o.get("train_seconds", o.get("train_seconds_mean"))
        lines += [
            f"### {title}", "",
            f"{size}: intent accuracy {percent(o['accuracy'])} %, macro-F1 "
            f"{percent(o['macro_f1'])} %, accuracy after the fallback "
            f"{percent(o['accuracy_after_fallback'])} % (fallback rate "
            f"{percent(o['fallback_rate'])} %), entity F1 (exact span) "
            f"{percent(o['entities']['micro']['f1'])} %; NLU training {train} s"
            f"{' per fold' if 'folds' in o else ''}.", "",
            "| intent | precision % | recall % | F1 % | support |", "|---|---|---|---|---|",
        ]
        lines += [f"| {intent} | {percent(s['precision'])} | {percent(s['recall'])} | "
                  f"{percent(s['f1'])} | {s['support']} |"
                  for intent, s in sorted(o["per_intent"].items(), key=lambda i: i[1]["f1"])]
        lines += ["", "| entity | precision % | recall % | F1 % | support |",
                  "|---|---|---|---|---|"]
        lines += [f"| {entity} | {percent(s['precision'])} | {percent(s['recall'])} | "
                  f"{percent(s['f1'])} | {s['support']} |"
                  for entity, s in o["entities"]["per_entity"].items()]
        if o["confusions"]:
            lines += ["", "Most frequent confusions (intent -> predicted: count): "
                      + "; ".join(f"{c['intent']} -> {c['predicted']}: {c['count']}"
                                  for c in o["confusions"]) + "."]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark and writes docs/benchmarks-nlu.{json,md}."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="tiny subsets and one epoch: checks the harness, not the model")
    parser.add_argument("--only", choices=("public", "own"), help="run one half only")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--stock-epochs", type=int, default=STOCK_EPOCHS)
    parser.add_argument("--skip-stock", action="store_true",
                        help="leave stock Rasa out (its DIET takes most of the run's time)")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--out", type=Path, default=DOCS,
                        help="folder for benchmarks-nlu.json and benchmarks-nlu.md")
    args = parser.parse_args(argv)

    epochs = 1 if args.smoke else args.stock_epochs
    pipeline = project_pipeline()
    stock = with_epochs(STOCK_PIPELINE, epochs)
    if args.smoke:
        pipeline = with_epochs(pipeline, 1)
    systems: dict[str, Predictor] = {
        "memberdesk pipeline": rasa_predictor(pipeline, "memberdesk"),
        "TF-IDF + logistic regression": tfidf_logreg_predictor,
        f"stock Rasa ({epochs} epochs)": rasa_predictor(stock, "stock"),
    }
    if args.skip_stock:
        del systems[f"stock Rasa ({epochs} epochs)"]
    results: dict[str, Any] = {"meta": {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} CPU cores, {platform.system()} {platform.machine()}, "
                   f"Python {platform.python_version()}",
        "command": "python bench/nlu_bench.py " + shlex.join(argv if argv is not None
                                                            else sys.argv[1:]),
        "smoke": args.smoke, "stock_epochs": epochs, "stock_skipped": args.skip_stock,
        "pipeline": pipeline,
    }}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nlu-bench-") as temporary:
        work = Path(temporary)
        if args.only in (None, "public"):
            banking = load_banking77(args.datasets / "banking77")
            clinc = load_clinc150(args.datasets / "clinc150")
            if args.smoke:
                banking = {"train": subset(banking["train"], 5, 8),
                           "test": subset(banking["test"], 5, 4)}
                clinc = {split: subset(rows, 5, 4 if split != "train" else 8)
                         for split, rows in clinc.items()}
            results["public"] = {"banking77": run_banking77(banking, systems, work),
                                 "clinc150": run_clinc150(clinc, systems, work)}
        if args.only in (None, "own"):
            config = write_config(pipeline, work / "own-config.yml")
            nlu_paths: Path | list[Path] = sorted((ROOT / "data" / "nlu").glob("*.yml"))
            if args.smoke:
                nlu_paths = trimmed_training_file(ROOT / "data" / "nlu", 6,
                                                  work / "smoke-nlu" / "nlu.yml")
            print("own data: held-out test set", flush=True)
            results["own"] = {"heldout": own_heldout(config, nlu_paths,
                                                     ROOT / "tests/nlu/heldout.yml",
                                                     work / "heldout")}
            if not args.smoke:
                results["own"]["cross_validation"] = own_cross_validation(
                    config, ROOT / "data" / "nlu", args.folds, work / "cv")
            else:
                results["own"]["cross_validation"] = own_cross_validation(
                    config, ROOT / "data" / "nlu", 2, work / "cv", keep_per_intent=4)
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmarks-nlu.json").write_text(json.dumps(results, indent=2) + "\n",
                                                   encoding="utf-8")
    (args.out / "benchmarks-nlu.md").write_text(markdown(results) + "\n", encoding="utf-8")
    print(f"wrote {args.out / 'benchmarks-nlu.json'} and benchmarks-nlu.md "
          f"in {results['meta']['seconds']} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
