"""Choosing the typo copies' number and weight, and MiniLM's weight, on validation data only.

Not a test and not the benchmark: run it by hand when the pipeline changes, and write what it
chose into config.yml's comments.

    .venv/bot/bin/python -m bench.nlu.typo_validation 0,1,1,1 1,1,1,0.5 ...

Each candidate is copies,share,weight,minilm: TypoCopies' copies, share and weight, and the
classifier's feature weight for MiniLM.

The validation rows are the ones config.yml's other choices were made on: a fifth of
Banking77's training split (held out of data/nlu/public.yml's examples here), CLINC150's
validation split (in scope and out of scope), and a fifth of our own data/nlu examples. Each
is scored clean and with a typo in every word of four letters or more, from a seeded noise of
this module's own (bot/nlu/typo_copies.py's edits with another seed than the training copies').
The test splits and tests/nlu/heldout.yml are never read.

Training goes through the pipeline's own components in config.yml's order, called directly
rather than through `rasa train`: the featurizers are fitted once per number of copies and
every MiniLM embedding is computed once, so a dozen candidates take minutes, not hours.
Scoring is others' words' (bench/nlu/others_words.py): the intent after the fallback, and an
out-of-scope row is right only when answered `out_of_scope`.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.nlu.data import (  # noqa: E402
    PUBLIC_EXAMPLES_FILE,
    load_banking77,
    load_clinc150,
    rasa_safe,
)
from bench.nlu.others_words import OUT_OF_SCOPE, load_mapping  # noqa: E402
from bench.nlu.pipeline import project_pipeline, quiet_rasa  # noqa: E402

DATASETS = Path(os.environ.get("MEMBERDESK_DATASETS", ROOT.parent / "shared" / "datasets"))
SPLIT_SEED = 5  # which fifth is held out
NOISE_SEED = 1913  # the validation rows' typos; the training copies use another seed
SKIPPED = {"RegexEntityExtractor", "EntitySynonymMapper"}  # entities are not scored here


@dataclass(frozen=True)
class Row:
    """One validation text and the intents that count as right for it."""

    text: str
    accepted: frozenset[str]
    part: str  # "public" or "own"


def comparable(text: str) -> str:
    return " ".join(rasa_safe(text).lower().split())


def a_fifth(rows: list[Any], label_of: Any, chance: random.Random) -> tuple[list[Any], list[Any]]:
    """(the rest, a fifth): a fifth of each label's rows, drawn by `chance`."""
    by_label: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_label[label_of(row)].append(row)
    kept, held = [], []
    for label in sorted(by_label):
        group = by_label[label][:]
        chance.shuffle(group)
        cut = max(1, len(group) // 5) if len(group) > 1 else 0
        held += group[:cut]
        kept += group[cut:]
    return kept, held


def mapped(source: str, rows: list[tuple[str, str]]) -> list[Row]:
    """Public rows in our intents, through bench/nlu/public_mapping.yml."""
    table = load_mapping()[source]
    out = []
    for text, category in rows:
        entry = table.get(category)
        accepted = ({str(entry["intent"]), *(entry.get("also") or []),
                     *(entry.get("when_text_names") or {})} if entry else {OUT_OF_SCOPE})
        out.append(Row(text, frozenset(accepted), "public"))
    return out


def validation_split(datasets: Path) -> tuple[Any, list[Row]]:
    """The training data (data/nlu less the held-out rows) and the validation rows."""
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    chance = random.Random(SPLIT_SEED)
    banking_rest, banking_held = a_fifth(load_banking77(datasets / "banking77")["train"],
                                         lambda row: row[1], chance)
    clinc = load_clinc150(datasets / "clinc150")
    held_texts = {comparable(text) for text, _ in banking_held}
    with quiet_rasa():
        public = load_data(str(ROOT / "data" / "nlu" / PUBLIC_EXAMPLES_FILE))
        own = [load_data(str(path)) for path in sorted((ROOT / "data" / "nlu").glob("*.yml"))
               if path.name != PUBLIC_EXAMPLES_FILE]
    own_data = own[0].merge(*own[1:])
    own_examples = [m for m in own_data.intent_examples if m.get("text")]
    own_rest, own_held = a_fifth(own_examples, lambda m: m.get("intent"), chance)
    public_rest = [m for m in public.intent_examples
                   if comparable(m.get("text")) not in held_texts]
    training = TrainingData(training_examples=own_rest + public_rest,
                            entity_synonyms=own_data.entity_synonyms,
                            regex_features=own_data.regex_features,
                            lookup_tables=own_data.lookup_tables)
    rows = (mapped("banking77", banking_held)
            + mapped("clinc150", clinc["val"] + clinc["oos_val"])
            + [Row(m.get("text"), frozenset([m.get("intent")]), "own") for m in own_held])
    print(f"training examples {len(training.intent_examples)} (Banking77 rows held out: "
          f"{len(banking_held)}, {len(banking_rest)} kept); validation rows {len(rows)}",
          flush=True)
    return training, rows


class CachedEncoder:
    """MiniLM's encoder with every embedding kept: the candidates share most texts."""

    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder
        self.vectors: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str], cache: bool = True) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:
            for text, vector in zip(missing, self.encoder.encode(missing, cache=False),
                                    strict=True):
                self.vectors[text] = vector
        return np.stack([self.vectors[t] for t in texts])

    def __getattr__(self, name: str) -> Any:
        """Everything else (the encoder's identity, which the stored embeddings are checked
        against) is the wrapped encoder's."""
        if name == "encoder":
            raise AttributeError(name)
        return getattr(self.encoder, name)


def components(pipeline: list[dict[str, Any]], work: Path) -> list[tuple[str, Any]]:
    """(name, untrained component) for each step of the pipeline that reads intents."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    work.mkdir(parents=True, exist_ok=True)
    storage = LocalModelStorage(work)
    built = []
    for index, step in enumerate(pipeline):
        step = dict(step)
        name = step.pop("name")
        if name in SKIPPED:
            continue
        registered = DefaultV1Recipe._from_registry(name)  # noqa: SLF001
        node = f"{name.rsplit('.', 1)[-1]}{index}"
        config = {**registered.clazz.get_default_config(), **step}
        context = ExecutionContext(GraphSchema({}), node_name=node)
        component = registered.clazz.create(config, storage, Resource(node), context)
        built.append((name.rsplit(".", 1)[-1], component))
    return built


def featurised(pipeline: list[dict[str, Any]], training: Any, rows: list[list[Any]],
               encoder: CachedEncoder | None, work: Path) -> tuple[Any, list[list[Any]], Any]:
    """Trains every step before the classifier on `training`; returns the featurised training
    data, the featurised validation messages, and the untrained classifier and fallback."""
    from rasa.shared.nlu.training_data.message import Message

    steps = components(pipeline, work)
    messages = [[Message(data={"text": text}) for text in texts] for texts in rows]
    rest = []
    for name, component in steps:
        if name in ("LinearIntentClassifier", "FallbackClassifier"):
            rest.append(component)
            continue
        if name == "MiniLMFeaturizer" and encoder is not None:
            if encoder.encoder is None:
                encoder.encoder = component.encoder
            component.encoder = encoder
        if hasattr(component, "train") and name != "MiniLMFeaturizer":
            component.train(training)
        training = component.process_training_data(training)
        for batch in messages:
            if name == "MiniLMFeaturizer":
                # Embedded here, once, rather than left to the classifier's cascade: the
                # candidates then share every embedding.
                component.embed_now(batch)
            elif name != "TypoCopies":
                component.process(batch)
    return training, messages, rest


def score(rows: list[Row], intents: list[str]) -> dict[str, float]:
    """Accuracy % of each part ("public", "own"), and each part's fallback share."""
    right: dict[str, list[bool]] = defaultdict(list)
    for row, intent in zip(rows, intents, strict=True):
        right[row.part].append(intent in row.accepted)
        right[f"{row.part} fallback"].append(intent == "nlu_fallback")
    return {part: round(100 * sum(oks) / len(oks), 1) for part, oks in sorted(right.items())}


def trained_answers(classifier: Any, fallback: Any, data: Any, batches: list[list[Any]]
                    ) -> list[tuple[list[str], list[str]]]:
    """Trains the classifier on data; for each batch, the intents it answers, and the intents
    after the fallback."""
    answers = []
    with quiet_rasa():
        classifier.train(data)
        for batch in batches:
            classifier.process(batch)
            top = [m.get("intent")["name"] for m in batch]
            fallback.process(batch)
            answers.append((top, [m.get("intent")["name"] for m in batch]))
    return answers


def parse_candidate(text: str) -> tuple[int, float, float, float]:
    """"copies,share,weight,minilm" -> the four numbers."""
    copies, share, weight, minilm = text.split(",")
    return int(copies), float(share), float(weight), float(minilm)


def main(argv: list[str] | None = None) -> int:
    """Scores every candidate on the validation rows and prints one line each."""
    from bot.nlu.linear_intent_classifier import EXAMPLE_WEIGHT
    from bot.nlu.typo_copies import misspell

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="+", type=parse_candidate,
                        help="copies,share,weight,minilm for each candidate, e.g. 1,1,1,0.5")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--embeddings", type=Path,
                        help="a .npz file keeping MiniLM's embeddings from one run to the next")
    args = parser.parse_args(argv)

    training, rows = validation_split(args.datasets)
    noise = random.Random(NOISE_SEED)
    texts = [[r.text for r in rows], [misspell(r.text, noise) for r in rows]]
    pipeline = [step for step in project_pipeline() if step["name"] not in SKIPPED]
    copies_step = next((s for s in pipeline if s["name"].endswith("TypoCopies")), None)
    if copies_step is None:
        raise SystemExit("config.yml has no TypoCopies step to vary")
    encoder = CachedEncoder(None)
    if args.embeddings and args.embeddings.exists():
        with np.load(args.embeddings, allow_pickle=False) as saved:
            encoder.vectors = dict(zip(saved["texts"].tolist(), saved["vectors"], strict=True))
    work = Path(tempfile.mkdtemp(prefix="typo-validation-"))
    print("copies share weight MiniLM | public clean typos (typos without fallback, typo "
          "fallback %) | own clean typos | fit s", flush=True)
    featurised_for: tuple[int, float] | None = None
    for copies, share, copy_weight, minilm in args.candidates:
        if featurised_for != (copies, share):
            copies_step.update({"copies": copies, "share": share})
            with quiet_rasa():
                # Featurizers add their features to the messages themselves: each run gets
                # fresh ones.
                data, messages, (classifier, fallback) = featurised(
                    pipeline, copy.deepcopy(training), texts, encoder,
                    work / f"copies-{copies}-{share}")
            featurised_for = (copies, share)
            if args.embeddings:
                np.savez(args.embeddings, texts=np.array(list(encoder.vectors)),
                         vectors=np.stack(list(encoder.vectors.values())))
        for example in data.training_examples:
            if example.get(EXAMPLE_WEIGHT) is not None:
                example.set(EXAMPLE_WEIGHT, copy_weight)
        classifier._config["feature_weights"] = {"minilm": minilm}  # noqa: SLF001
        started = time.perf_counter()
        (_, clean_answers), (typos_top_answers, typos_answers) = trained_answers(
            classifier, fallback, data, messages)
        clean, typos_top, typos = (score(rows, answers) for answers in
                                   (clean_answers, typos_top_answers, typos_answers))
        print(f"{copies} {share:.2f} {copy_weight:.2f} {minilm:.2f} | {clean['public']:.1f} "
              f"{typos['public']:.1f} ({typos_top['public']:.1f}, "
              f"{typos['public fallback']:.1f}) | {clean['own']:.1f} {typos['own']:.1f} | "
              f"{time.perf_counter() - started:.1f}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
