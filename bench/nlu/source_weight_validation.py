"""Choosing how much the public examples count, on validation data only.

Not a test and not the benchmark: run it by hand when data/nlu/public.yml or our own data
changes much, and write what it chose into config.yml's comment on LinearIntentClassifier.

    .venv/bot/bin/python -m bench.nlu.source_weight_validation 0.3333,0.3333 0.3333,0.1 ...

Each candidate is public,out_of_scope: the weight of a public example of our intents, and the
weight of a public out-of-scope example (requests that are not ours, from Banking77's and
CLINC150's training splits). Our own examples count 1.

Why the two apart: in cross-validation over our own data most of the errors were our own
requests answered `out_of_scope`. The public out-of-scope examples are about half of
public.yml and may pull a short request of ours to them when its near neighbours are held
out. Counting them less makes fewer of ours out of scope, and may let more requests that are
not ours into our intents: the public rows measure that, our own fifth the first.

The validation rows and the training are bench/nlu/typo_validation.py's: a fifth of
Banking77's training split, CLINC150's validation split and a fifth of our own data, clean
and with a typo in every word of four letters or more; the test splits and
tests/nlu/heldout.yml are never read. The pipeline is fitted once; each candidate retrains the
classifier only, with the cascade as config.yml sets it.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

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
    trained_answers,
    validation_split,
)

PUBLIC_SOURCE = "public"  # scripts/generate_nlu_from_public.py's SOURCE
OUT_OF_SCOPE = "out_of_scope"


def parse_candidate(text: str) -> tuple[float, float]:
    """"public,out_of_scope" -> the two weights."""
    public, out_of_scope = text.split(",")
    return float(public), float(out_of_scope)


def main(argv: list[str] | None = None) -> int:
    """Scores every candidate on the validation rows and prints one line each."""
    from bot.nlu.linear_intent_classifier import EXAMPLE_WEIGHT, source_of
    from bot.nlu.typo_copies import misspell

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="+", type=parse_candidate,
                        help="public,out_of_scope weights for each candidate, e.g. 0.33,0.1")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    args = parser.parse_args(argv)

    training, rows = validation_split(args.datasets)
    noise = random.Random(NOISE_SEED)
    texts = [[r.text for r in rows], [misspell(r.text, noise) for r in rows]]
    pipeline = [step for step in project_pipeline() if step["name"] not in SKIPPED]
    work = Path(tempfile.mkdtemp(prefix="source-weight-validation-"))
    with quiet_rasa():
        data, messages, (classifier, fallback) = featurised(
            pipeline, training, texts, CachedEncoder(None), work)
    public_out_of_scope = [m for m in data.training_examples
                           if source_of(m) == PUBLIC_SOURCE and m.get("intent") == OUT_OF_SCOPE]
    print(f"public out-of-scope examples: {len(public_out_of_scope)}")
    print("public out_of_scope | public clean typos (fallback %) | own clean typos "
          "(fallback %) | fit s", flush=True)
    for public, out_of_scope in args.candidates:
        classifier._config["source_weights"] = {PUBLIC_SOURCE: public}  # noqa: SLF001
        for example in public_out_of_scope:
            # The example's own weight multiplies its source's.
            example.set(EXAMPLE_WEIGHT, out_of_scope / public)
        started = time.perf_counter()
        clean, typos = (score(rows, after_fallback) for _, after_fallback in
                        trained_answers(classifier, fallback, data, messages))
        print(f"{public:.4f} {out_of_scope:.4f} | {clean['public']:.1f} {typos['public']:.1f} "
              f"({clean['public fallback']:.1f}) | {clean['own']:.1f} {typos['own']:.1f} "
              f"({clean['own fallback']:.1f}) | {time.perf_counter() - started:.1f}",
              flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
