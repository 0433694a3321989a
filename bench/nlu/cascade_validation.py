"""Choosing the cascade's `cheap_enough` on validation data only.

Not a test and not the benchmark: run it by hand when the pipeline changes, and write what it
chose into config.yml's comment on LinearIntentClassifier.

    .venv/bot/bin/python -m bench.nlu.cascade_validation 0.5 0.6 0.7 0.8 0.9 0.95 0.99

The validation rows, their typos and the training are bench/nlu/typo_validation.py's: a fifth
of Banking77's training split, CLINC150's validation split and a fifth of our own data, clean
and with a typo in every word of four letters or more; the test splits and
tests/nlu/heldout.yml are never read. The classifier is trained once, with its cheap model,
and every bound is scored on the same model: accuracy after the fallback on each row set, and
the share of rows the cheap model answers alone (the encoder never runs for them at parse
time). The bound chosen is the one with the most such rows whose accuracy is within
TOLERANCE points of the full model's on every row set.
"""

from __future__ import annotations

import argparse
import copy
import random
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.nlu.pipeline import project_pipeline, quiet_rasa  # noqa: E402
from bench.nlu.typo_validation import (  # noqa: E402
    DATASETS,
    NOISE_SEED,
    SKIPPED,
    CachedEncoder,
    featurised,
    score,
    validation_split,
)

TOLERANCE = 0.2  # accuracy points a bound may lose against the full model on any row set
ROW_SETS = ("public clean", "public typos", "own clean", "own typos")


def answers_at(classifier: Any, fallback: Any, batch: list[Any],
               bound: float) -> tuple[list[str], int]:
    """The intents after the fallback with `cheap_enough` = bound, and how many rows the cheap
    model answered alone."""
    classifier._config["cheap_enough"] = bound  # noqa: SLF001
    skipped = 0
    if bound < 1.0:
        for message in batch:
            cheap = classifier.cheap_scores(message)
            if cheap is not None:
                exponentials = np.exp(cheap - cheap.max())
                skipped += (exponentials / exponentials.sum()).max() >= bound
    classifier.process(batch)
    fallback.process(batch)
    return [m.get("intent")["name"] for m in batch], int(skipped)


def figures(rows: list[Any], classifier: Any, fallback: Any, batches: list[list[Any]],
            bound: float) -> dict[str, float]:
    """Accuracy % of each row set and the % of all rows that skip the encoder."""
    out: dict[str, float] = {}
    skipped = total = 0
    for kind, batch in zip(("clean", "typos"), batches, strict=True):
        intents, skips = answers_at(classifier, fallback, batch, bound)
        scored = score(rows, intents)
        for part in ("public", "own"):
            out[f"{part} {kind}"] = scored[part]
        skipped, total = skipped + skips, total + len(batch)
    out["skips"] = round(100 * skipped / total, 1)
    return out


def choose(by_bound: dict[float, dict[str, float]]) -> float:
    """The bound with the most skips within TOLERANCE of the full model on every row set."""
    full = by_bound[1.0]
    fine = [bound for bound, got in by_bound.items()
            # Rounded: the figures have one decimal, and 86.1 - 85.9 is not 0.2 in floats.
            if all(round(full[part] - got[part], 1) <= TOLERANCE for part in ROW_SETS)]
    return max(fine, key=lambda bound: (by_bound[bound]["skips"], -bound))


def main(argv: list[str] | None = None) -> int:
    """Trains once and prints one line per bound, then the choice."""
    from bot.nlu.typo_copies import misspell

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bounds", nargs="+", type=float,
                        help="cheap_enough values to try, each above 0 and below 1")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    args = parser.parse_args(argv)
    if any(not 0 < bound < 1 for bound in args.bounds):
        parser.error("every bound must be above 0 and below 1 (1 is the full model)")

    training, rows = validation_split(args.datasets)
    noise = random.Random(NOISE_SEED)
    texts = [[r.text for r in rows], [misspell(r.text, noise) for r in rows]]
    pipeline = [step for step in project_pipeline() if step["name"] not in SKIPPED
                and not step["name"].endswith("TypoCopies")]
    work = Path(tempfile.mkdtemp(prefix="cascade-validation-"))
    try:
        with quiet_rasa():
            data, batches, (classifier, fallback) = featurised(
                pipeline, copy.deepcopy(training), texts, CachedEncoder(None), work)
            # Any bound below 1 trains the cheap model beside the full one.
            classifier._config["cheap_enough"] = min(args.bounds)  # noqa: SLF001
            classifier.train(data)
        print("cheap_enough | " + " | ".join(ROW_SETS) + " | rows skipping the encoder %",
              flush=True)
        by_bound: dict[float, dict[str, float]] = {}
        for bound in [1.0, *sorted(set(args.bounds))]:
            with quiet_rasa():
                by_bound[bound] = got = figures(rows, classifier, fallback, batches, bound)
            print(f"{bound:.2f} | " + " | ".join(f"{got[part]:.1f}" for part in ROW_SETS)
                  + f" | {got['skips']:.1f}", flush=True)
        chosen = choose(by_bound)
        print(f"chosen: cheap_enough {chosen} (most skips within {TOLERANCE} points of the "
              f"full model on every row set)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
