"""The project's own NLU data: the held-out test set and a stratified cross-validation."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from bench.nlu.data import PUBLIC_EXAMPLES_FILE
from bench.nlu.metrics import entity_scores, score_parses
from bench.nlu.pipeline import parse_all, quiet_rasa, train_nlu


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


def fold_training_files(data: Any, examples: list[Any], always: list[Path], folder: Path
                        ) -> list[Path]:
    """One fold's training files: its own examples (with data's regexes, lookup tables and
    synonyms) written to folder/nlu.yml, then the files always trained on, as they are."""
    from rasa.shared.nlu.training_data.training_data import TrainingData

    folder.mkdir(parents=True)
    train = TrainingData(training_examples=examples, regex_features=data.regex_features,
                         lookup_tables=data.lookup_tables, entity_synonyms=data.entity_synonyms)
    (folder / "nlu.yml").write_text(train.nlu_as_yaml(), encoding="utf-8")
    return [folder / "nlu.yml", *always]


def own_cross_validation(config: Path, nlu_folder: Path, folds: int, work: Path,
                         keep_per_intent: int | None = None,
                         always_train: tuple[str, ...] = (PUBLIC_EXAMPLES_FILE,)) -> dict[str, Any]:
    """Stratified k-fold cross-validation over the project's NLU data (regexes kept).

    The files named in `always_train` (the examples generated from public data sets) are in
    every fold's training data and never scored: the folds are our own examples. They are
    trained on as the files they are, not merged into the fold's file: Rasa writes one intent
    block per intent, with the first example's block metadata, so a merged file would give our
    own examples the public examples' `source` and the classifier's weight for it.
    """
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    files = sorted(nlu_folder.glob("*.yml"))
    with quiet_rasa():
        data = TrainingData().merge(*[load_data(str(f)) for f in files
                                      if f.name not in always_train])
    always = [] if keep_per_intent is not None else [f for f in files if f.name in always_train]
    examples = first_per_intent([m for m in data.intent_examples if m.get("text")],
                                keep_per_intent)
    intents = [m.get("intent") for m in examples]
    gold, parses, train_seconds = [], [], []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for fold, (train_index, test_index) in enumerate(splitter.split(examples, intents)):
        print(f"own data: fold {fold + 1}/{folds}", flush=True)
        folder = work / f"fold{fold}"
        training_files = fold_training_files(data, [examples[i] for i in train_index], always,
                                             folder)
        model, seconds = train_nlu(config, training_files, folder, f"fold{fold}")
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
