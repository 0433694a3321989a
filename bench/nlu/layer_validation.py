"""Choosing the lower MiniLM layer whose mean the classifier reads beside the embedding, on
validation data only.

Not a test and not the benchmark: run it by hand when the encoder or the pipeline changes, and
write what it chose into config.yml's comment on MiniLMFeaturizer.

    MEMBERDESK_DATASETS=<shared>/datasets .venv/bot/bin/python -m bench.nlu.layer_validation \\
        0 3 4

Each candidate is a layer from 1 to 5, or 0 for the embedding alone. The rows are
bench/nlu/neighbour_validation.py's three sets, none of them a test split: our data's
validation rows (public and own, clean and with typos, after the fallback), a fifth of
Banking77's training split (trained on the rest) and CLINC150's validation split in scope
(trained on its training split). Everything else is config.yml's pipeline, the nearest
examples' vote included.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.nlu.data import load_banking77, load_clinc150, rasa_safe  # noqa: E402
from bench.nlu.neighbour_validation import accuracy  # noqa: E402
from bench.nlu.pipeline import project_pipeline, quiet_rasa  # noqa: E402
from bench.nlu.typo_validation import (  # noqa: E402
    DATASETS,
    NOISE_SEED,
    SKIPPED,
    SPLIT_SEED,
    CachedEncoder,
    a_fifth,
    featurised,
    score,
    validation_split,
)


def trained(training: Any, texts: list[list[str]], work: Path, lower_layer: int,
            encoder: CachedEncoder) -> tuple[Any, Any, list]:
    """The classifier and fallback of config.yml's pipeline with the featurizer reading
    `lower_layer` (0: none), trained on `training`, and the featurised rows."""
    pipeline = [step for step in project_pipeline() if step["name"] not in SKIPPED]
    for step in pipeline:
        if step["name"].endswith("MiniLMFeaturizer"):
            step["lower_layer"] = lower_layer or None
    with quiet_rasa():
        data, messages, (classifier, fallback) = featurised(pipeline, training, texts,
                                                            encoder, work)
        classifier.train(data)
    return classifier, fallback, messages


def answered(classifier: Any, fallback: Any | None, batch: list[Any]) -> list[str]:
    """The intents answered (after the fallback, when given)."""
    with quiet_rasa():
        classifier.process(batch)
        if fallback is not None:
            fallback.process(batch)
    return [m.get("intent")["name"] for m in batch]


def main(argv: list[str] | None = None) -> int:
    """Scores every candidate layer on the three sets of rows and prints one line each."""
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.nlu.typo_copies import misspell

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("layers", nargs="+", type=int, choices=range(6),
                        help="a lower layer for each candidate (0: the embedding alone)")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="layer-validation-"))
    encoder = CachedEncoder(None)
    training, rows = validation_split(args.datasets)
    noise = random.Random(NOISE_SEED)
    texts = [[r.text for r in rows], [misspell(r.text, noise) for r in rows]]
    banking_rest, banking_held = a_fifth(load_banking77(args.datasets / "banking77")["train"],
                                         lambda row: row[1], random.Random(SPLIT_SEED))
    clinc = load_clinc150(args.datasets / "clinc150")
    for layer in args.layers:
        classifier, fallback, batches = trained(training, texts, work / f"ours{layer}", layer,
                                                encoder)
        clean, typos = (score(rows, answered(classifier, fallback, b)) for b in batches)
        line = [f"{clean['public']:.1f} {typos['public']:.1f} {clean['own']:.1f} "
                f"{typos['own']:.1f}"]
        for name, train, held in (("banking77", banking_rest, banking_held),
                                  ("clinc150", clinc["train"], clinc["val"])):
            data = TrainingData(training_examples=[
                Message(data={"text": rasa_safe(text), "intent": label})
                for text, label in train])
            classifier, _, (batch,) = trained(data, [[rasa_safe(t) for t, _ in held]],
                                              work / f"{name}{layer}", layer, encoder)
            gold = [label for _, label in held]
            line.append(f"{accuracy(gold, answered(classifier, None, batch)):.2f}")
        print(f"layer {layer} | ours: public clean typos, own clean typos | Banking77 fifth | "
              f"CLINC150 val\nlayer {layer} | {' | '.join(line)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
