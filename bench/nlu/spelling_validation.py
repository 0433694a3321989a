"""Choosing the spelling corrector's settings on validation data only.

Not a test and not the benchmark: run it by hand when the pipeline changes, and write what it
chose into config.yml's comments.

    .venv/bot/bin/python -m bench.nlu.spelling_validation off 4 3

Each candidate is `off` (the pipeline without bot.nlu.spelling.SpellingCorrector) or the
corrector's `min_word_length`. The validation rows, their typos and the scoring are
bench/nlu/typo_validation.py's: a fifth of Banking77's training split, CLINC150's validation
split and a fifth of our own data/nlu examples, each clean and with a typo in every word of
four letters or more. The test splits and tests/nlu/heldout.yml are never read.
"""

from __future__ import annotations

import argparse
import copy
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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

CORRECTOR = "bot.nlu.spelling.SpellingCorrector"


def candidate_pipeline(candidate: str) -> list[dict[str, Any]]:
    """config.yml's pipeline with the corrector taken out (`off`) or set to `candidate`."""
    steps = [dict(s) for s in project_pipeline()
             if s["name"] not in SKIPPED and s["name"] != CORRECTOR]
    if candidate == "off":
        return steps
    tokenizer = next(i for i, s in enumerate(steps) if s["name"].endswith("Tokenizer"))
    steps.insert(tokenizer + 1, {"name": CORRECTOR, "min_word_length": int(candidate)})
    return steps


def main(argv: list[str] | None = None) -> int:
    """Scores every candidate on the validation rows and prints one line each."""
    from bot.nlu.typo_copies import misspell

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="+",
                        help="`off`, or the corrector's min_word_length, for each candidate")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    args = parser.parse_args(argv)

    training, rows = validation_split(args.datasets)
    noise = random.Random(NOISE_SEED)
    texts = [[r.text for r in rows], [misspell(r.text, noise) for r in rows]]
    encoder = CachedEncoder(None)
    work = Path(tempfile.mkdtemp(prefix="spelling-validation-"))
    print("candidate | public clean typos (typo fallback %) | own clean typos | "
          "corrector ms per message | s", flush=True)
    for candidate in args.candidates:
        started = time.perf_counter()
        with quiet_rasa():
            data, messages, (classifier, fallback) = featurised(
                candidate_pipeline(candidate), copy.deepcopy(training), texts, encoder,
                work / candidate)
            classifier.train(data)
            answers = []
            for batch in messages:
                classifier.process(batch)
                fallback.process(batch)
                answers.append([m.get("intent")["name"] for m in batch])
        spelling_ms = correction_cost(candidate, data, texts[1], work)
        clean, typos = score(rows, answers[0]), score(rows, answers[1])
        print(f"{candidate} | {clean['public']:.1f} {typos['public']:.1f} "
              f"({typos['public fallback']:.1f}) | {clean['own']:.1f} {typos['own']:.1f} | "
              f"{spelling_ms} | {time.perf_counter() - started:.0f}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def correction_cost(candidate: str, training: Any, typed: list[str], work: Path) -> str:
    """The corrector's own CPU time per misspelt message, in milliseconds."""
    if candidate == "off":
        return "-"
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.training_data.message import Message

    from bench.nlu.typo_validation import components

    steps = candidate_pipeline(candidate)
    tokenizer_at = next(i for i, s in enumerate(steps) if s["name"].endswith("Tokenizer"))
    built = dict(components(steps[tokenizer_at:tokenizer_at + 2], work / f"{candidate}-cost"))
    corrector = built["SpellingCorrector"]
    corrector.train(training)
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    messages = [Message(data={"text": text}) for text in typed]
    tokenizer.process(messages)
    started = time.process_time()
    corrector.process(messages)
    return f"{1000 * (time.process_time() - started) / len(messages):.3f}"


if __name__ == "__main__":
    raise SystemExit(main())
