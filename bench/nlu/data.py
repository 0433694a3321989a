"""The public data sets the NLU benchmark trains on (Banking77, CLINC150), and writing
examples as Rasa NLU YAML.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import yaml

Example = tuple[str, str]  # (text, intent)
OUT_OF_SCOPE = "oos"  # CLINC150's label for every out-of-scope example
# The file of data/nlu that scripts/generate_nlu_from_public.py writes from these data sets:
# the benchmarks keep it out of anything that scores "our own" examples.
PUBLIC_EXAMPLES_FILE = "public.yml"


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
