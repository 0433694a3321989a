"""Choosing how sure NLU must be of a request beside values, on validation data only.

Not a test and not the benchmark: run it by hand when the pipeline or the NLU data change, and
write what it chose into actions/clarifying.py (REQUEST_AMONG_VALUES_AT_LEAST).

    .venv/bot/bin/python -m bench.nlu.inform_validation 0.05 0.1 0.15 0.2 0.25 0.3

When nothing was asked, a message NLU reads as `inform` (or cannot tell from `inform`) is taken
as the likeliest request beside it, if NLU gives that request at least the bound
(actions.clarifying.request_among_values). Too low a bound starts a request the member never
made, when they only gave a value or asked something we do not do; too high a bound answers
"What would you like me to do with that?" to a member who said.

The rows are bench/nlu/typo_validation.py's validation rows: a fifth of our own data/nlu
examples, a fifth of Banking77's training split and CLINC150's validation split, with a
model trained on the rest. Only the rows where the rule would apply count (the reply is
`inform`, or the fallback with `inform` among the two likeliest). For each bound:

- *recovered*: a request row the rule answers with its own request;
- *wrong*: a row the rule answers with a request that is not the row's (a value, chitchat, out
  of scope, or another request).

The test splits and tests/nlu/heldout.yml are never read.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.nlu.pipeline import project_pipeline, quiet_rasa  # noqa: E402
from bench.nlu.typo_validation import (  # noqa: E402
    DATASETS,
    SKIPPED,
    CachedEncoder,
    featurised,
    validation_split,
)

FALLBACK_THRESHOLD_STEP = "FallbackClassifier"


def main(argv: list[str] | None = None) -> int:
    """Scores every bound on the validation rows and prints one line each."""
    from actions.clarifying import INFORM, request_among_values
    from actions.goals import GOALS_BY_INTENT

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bounds", nargs="+", type=float)
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--show", action="store_true",
                        help="print each row the rule answers, and how, at every bound")
    args = parser.parse_args(argv)

    training, rows = validation_split(args.datasets)
    pipeline = [step for step in project_pipeline() if step["name"] not in SKIPPED]
    threshold = next(float(s.get("threshold", 0.3)) for s in pipeline
                     if s["name"] == FALLBACK_THRESHOLD_STEP)
    work = Path(tempfile.mkdtemp(prefix="inform-validation-"))
    with quiet_rasa():
        data, (messages,), (classifier, _) = featurised(
            pipeline, copy.deepcopy(training), [[r.text for r in rows]], CachedEncoder(None),
            work)
        classifier.train(data)
        classifier.process(messages)

    applies = []
    for row, message in zip(rows, messages, strict=True):
        ranking = [(r["name"], float(r["confidence"])) for r in message.get("intent_ranking")]
        ranking.sort(key=lambda pair: -pair[1])
        top, sure = ranking[0]
        read_as_value = top == INFORM and sure >= threshold
        unsure_of_value = sure < threshold and INFORM in dict(ranking[:2])
        if read_as_value or unsure_of_value:
            event = {"text": row.text, "parse_data": {"intent_ranking": [
                {"name": name, "confidence": value} for name, value in ranking]}}
            applies.append((row, event))
    requests = sum(1 for row, _ in applies if row.accepted & GOALS_BY_INTENT.keys())
    print(f"validation rows {len(rows)}; the rule applies to {len(applies)} "
          f"({requests} of them requests, {len(applies) - requests} values, chitchat or out "
          f"of scope); fallback threshold {threshold}", flush=True)
    print("bound | recovered requests | wrong requests started (own, public)", flush=True)
    for bound in args.bounds:
        recovered = wrong_own = wrong_public = 0
        for row, event in applies:
            taken = request_among_values(event, at_least=bound)
            if taken is None:
                continue
            if args.show:
                print(f"  {bound:.2f} {'right' if taken in row.accepted else 'WRONG'} "
                      f"{taken} for {row.text!r} ({'/'.join(sorted(row.accepted))})")
            if taken in row.accepted:
                recovered += 1
            elif row.part == "own":
                wrong_own += 1
            else:
                wrong_public += 1
        print(f"{bound:.2f} | {recovered} of {requests} | {wrong_own + wrong_public} "
              f"({wrong_own}, {wrong_public})", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
