"""Choosing the nearest examples' vote (neighbours, share, temperature) on validation data only.

Not a test and not the benchmark: run it by hand when the pipeline changes, and write what it
chose into config.yml's comment on LinearIntentClassifier.

    MEMBERDESK_DATASETS=<shared>/datasets .venv/bot/bin/python -m bench.nlu.neighbour_validation \\
        10,0,0.05 10,0.2,0.05 10,0.3,0.05 10,0.5,0.05 20,0.2,0.05 5,0.2,0.1

Each candidate is neighbours,share,temperature (bot/nlu/neighbours.py). Three sets of rows,
none of them a test split:
- our data's: bench/nlu/typo_validation.py's validation rows (a fifth of Banking77's training
  split and CLINC150's validation split, mapped to our intents, and a fifth of our own data),
  clean and with typos, scored after the fallback as others' words are;
- a fifth of Banking77's training split, the pipeline trained on the rest (77 intents);
- CLINC150's validation split in scope, the pipeline trained on its training split (150
  intents).
The pipeline is config.yml's and is fitted once per set; each candidate only changes the vote,
which reads the regression's probabilities and the examples' vectors the training kept.
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

Candidate = tuple[int, float, float]


def parse_candidate(text: str) -> Candidate:
    """"neighbours,share,temperature" -> the three numbers."""
    neighbours, share, temperature = text.split(",")
    return int(neighbours), float(share), float(temperature)


def trained(training: Any, texts: list[list[str]], work: Path) -> tuple[Any, Any, list]:
    """The classifier and fallback trained on `training` (with the examples' vectors kept
    for the vote), and the featurised rows."""
    pipeline = [step for step in project_pipeline() if step["name"] not in SKIPPED]
    for step in pipeline:
        if step["name"].endswith("LinearIntentClassifier"):
            step["neighbours"] = max(1, int(step.get("neighbours", 0)))
    with quiet_rasa():
        data, messages, (classifier, fallback) = featurised(
            pipeline, training, texts, CachedEncoder(None), work)
        classifier.train(data)
    return classifier, fallback, messages


def answers(classifier: Any, fallback: Any | None, batch: list[Any],
            candidate: Candidate) -> list[str]:
    """The intents answered with the candidate's vote (after the fallback, when given)."""
    from bot.nlu.neighbours import NearestExamples

    neighbours, share, temperature = candidate
    classifier._config.update(neighbour_share=share)  # noqa: SLF001
    classifier.nearest = NearestExamples(classifier.nearest.vectors,
                                         classifier.nearest.intents, neighbours, temperature)
    with quiet_rasa():
        classifier.process(batch)
        if fallback is not None:
            fallback.process(batch)
    return [m.get("intent")["name"] for m in batch]


def accuracy(gold: list[str], answered: list[str]) -> float:
    """Per cent answered with the gold intent."""
    return round(100 * sum(g == a for g, a in zip(gold, answered, strict=True)) / len(gold), 2)


def main(argv: list[str] | None = None) -> int:
    """Scores every candidate on the three sets of rows and prints one line each."""
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.nlu.typo_copies import misspell

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="+", type=parse_candidate,
                        help="neighbours,share,temperature for each, e.g. 10,0.2,0.05")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="neighbour-validation-"))
    results: dict[Candidate, list[str]] = {c: [] for c in args.candidates}

    training, rows = validation_split(args.datasets)
    noise = random.Random(NOISE_SEED)
    texts = [[r.text for r in rows], [misspell(r.text, noise) for r in rows]]
    classifier, fallback, batches = trained(training, texts, work / "ours")
    for candidate in args.candidates:
        clean, typos = (score(rows, answers(classifier, fallback, b, candidate))
                        for b in batches)
        results[candidate].append(f"{clean['public']:.1f} {typos['public']:.1f} "
                                  f"{clean['own']:.1f} {typos['own']:.1f}")

    banking_rest, banking_held = a_fifth(load_banking77(args.datasets / "banking77")["train"],
                                         lambda row: row[1], random.Random(SPLIT_SEED))
    clinc = load_clinc150(args.datasets / "clinc150")
    for name, train, held in (("banking77", banking_rest, banking_held),
                              ("clinc150", clinc["train"], clinc["val"])):
        data = TrainingData(training_examples=[
            Message(data={"text": rasa_safe(text), "intent": label}) for text, label in train])
        classifier, _, (batch,) = trained(data, [[rasa_safe(t) for t, _ in held]], work / name)
        gold = [label for _, label in held]
        for candidate in args.candidates:
            answered = answers(classifier, None, batch, candidate)
            results[candidate].append(f"{accuracy(gold, answered):.2f}")
        print(f"{name}: trained on {len(train)}, scored on {len(held)}", flush=True)

    print("neighbours share temperature | ours: public clean typos, own clean typos | "
          "Banking77 fifth | CLINC150 val")
    for (neighbours, share, temperature), line in results.items():
        print(f"{neighbours} {share:.2f} {temperature:.2f} | {' | '.join(line)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
