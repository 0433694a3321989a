"""Benchmark of the assistant's NLU pipeline (config.yml) on public data and on its own data.

Not a test: run it by hand and commit the results it writes.

    .venv/bot/bin/python bench/nlu_bench.py             # everything (about an hour on 2 cores)
    .venv/bot/bin/python bench/nlu_bench.py --smoke     # tiny subsets, well under a minute
    .venv/bot/bin/python bench/nlu_bench.py --only own  # just the project's own data
    .venv/bot/bin/python bench/nlu_bench.py --only clinc150 --skip-stock  # one data set
    .venv/bot/bin/python bench/nlu_bench.py --report-only  # the Markdown again from the JSON

Public data (../shared/datasets, see its README.md): the project's pipeline, a TF-IDF +
logistic regression baseline and stock Rasa's `rasa init` pipeline (DIET at a reduced epoch
count) are trained on Banking77's and CLINC150's train splits, CLINC150's by its standard
"oos-train" protocol: its 100 out-of-scope training examples are one more intent, "oos".
Reported: Banking77 test accuracy; CLINC150's test in-scope accuracy (raw, and after the
threshold), out-of-scope recall and in-scope fallback rate, where a message is called out of
scope when its top intent is "oos" or its confidence is under one threshold chosen on
CLINC150's validation split by this rule: the highest in-scope accuracy (a fallback counts as
wrong) among the thresholds whose out-of-scope recall is at least 70 %
(MIN_OUT_OF_SCOPE_RECALL). The test splits choose nothing.

Own data: the pipeline trained on data/nlu and scored on tests/nlu/heldout.yml, then a
stratified k-fold cross-validation over data/nlu: accuracy, macro-F1, per-intent F1, entity
F1 and the confusions worth fixing.

Results go to docs/benchmarks-nlu.json and docs/benchmarks-nlu.md.

This file is the command; its parts are in bench/nlu/: data.py (the public data sets),
pipeline.py (training and parsing through Rasa), metrics.py, public.py (the systems compared),
own.py (the project's own data) and report.py (the Markdown).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# A small fixed thread pool: TensorFlow's default oversubscribes a two-core machine.
os.environ.setdefault("TF_INTRA_OP_PARALLELISM_THREADS", "2")
os.environ.setdefault("TF_INTER_OP_PARALLELISM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.nlu.data import (  # noqa: E402
    load_banking77,
    load_clinc150,
    subset,
)
from bench.nlu.others_words import last_release, others_words, run_others_words  # noqa: E402
from bench.nlu.own import own_cross_validation, own_heldout, trimmed_training_file  # noqa: E402
from bench.nlu.pipeline import project_pipeline, with_epochs, write_config  # noqa: E402
from bench.nlu.public import (  # noqa: E402
    Predictor,
    rasa_predictor,
    run_banking77,
    run_clinc150,
    tfidf_logreg_predictor,
)
from bench.nlu.report import markdown  # noqa: E402

DATASETS = Path(os.environ.get("MEMBERDESK_DATASETS", ROOT.parent / "shared" / "datasets"))
DOCS = ROOT / "docs"
STOCK_EPOCHS = 10

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


# Each part of the results and where it sits in them: a run of some parts (--only) keeps the
# others from the last results. Banking77 and CLINC150 sit together under "public".
PARTS: dict[str, tuple[str, ...]] = {
    "banking77": ("public", "banking77"), "clinc150": ("public", "clinc150"),
    "own": ("own",), "others_words": ("others_words",),
}


def part_of(results: dict[str, Any], part: str) -> Any:
    """The part's results, or None if this run did not measure it."""
    found: Any = results
    for key in PARTS[part]:
        if not isinstance(found, dict) or key not in found:
            return None
        found = found[key]
    return found


def keep_skipped_systems(part: dict[str, Any], earlier: dict[str, Any], when: str) -> None:
    """A system this run left out (--skip-stock) keeps its row from the earlier run of the same
    part, named with that run's date, so the baselines stay beside the figures."""
    systems = part.get("systems")
    if not isinstance(systems, dict):
        return
    def undated(name: str) -> str:
        return name.split(" (measured ")[0]

    for name, figures in (earlier.get("systems") or {}).items():
        if not any(undated(kept) == undated(name) for kept in systems):
            dated = name if undated(name) != name else f"{name} (measured {when})"
            systems[dated] = figures


def with_parts_kept(results: dict[str, Any], previous: Path) -> dict[str, Any]:
    """A run of some parts (--only) keeps the other parts of the last results, each with
    the date and command that measured it, so the report stays whole."""
    measured = {part: {"date": results["meta"]["date"], "command": results["meta"]["command"]}
                for part in PARTS if part_of(results, part) is not None}
    if previous.exists() and not results["meta"]["smoke"]:
        old = json.loads(previous.read_text(encoding="utf-8"))
        # Results written before Banking77 and CLINC150 could be run apart date them
        # together as "public".
        old_measured = old["meta"].get("measured") or {}
        for part, path in PARTS.items():
            kept = part_of(old, part)
            if kept is None:
                continue
            if part_of(results, part) is not None:
                when = (old_measured.get(part) or old_measured.get(path[0])
                        or {"date": old["meta"]["date"]})["date"]
                keep_skipped_systems(part_of(results, part), kept, when)
                continue
            folder = results
            for key in path[:-1]:
                folder = folder.setdefault(key, {})
            folder[path[-1]] = kept
            measured[part] = (old_measured.get(part) or old_measured.get(path[0])
                              or {"date": old["meta"]["date"], "command": old["meta"]["command"]})
    results["meta"]["measured"] = {part: measured[part] for part in PARTS if part in measured}
    return results


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark and writes docs/benchmarks-nlu.{json,md}."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="tiny subsets and one epoch: checks the harness, not the model")
    parser.add_argument("--only", choices=("public", "banking77", "clinc150", "own", "others"),
                        help="run one part only (public is Banking77 and CLINC150)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--stock-epochs", type=int, default=STOCK_EPOCHS)
    parser.add_argument("--skip-stock", action="store_true",
                        help="leave stock Rasa out (its DIET takes most of the run's time)")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--out", type=Path, default=DOCS,
                        help="folder for benchmarks-nlu.json and benchmarks-nlu.md")
    parser.add_argument("--report-only", action="store_true",
                        help="measure nothing: write benchmarks-nlu.md again from the JSON "
                             "(after a note was added to a part, say)")
    args = parser.parse_args(argv)
    if args.report_only:
        results = json.loads((args.out / "benchmarks-nlu.json").read_text(encoding="utf-8"))
        (args.out / "benchmarks-nlu.md").write_text(markdown(results) + "\n", encoding="utf-8")
        return 0

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
        if args.only in (None, "public", "banking77"):
            banking = load_banking77(args.datasets / "banking77")
            if args.smoke:
                banking = {"train": subset(banking["train"], 5, 8),
                           "test": subset(banking["test"], 5, 4)}
            results.setdefault("public", {})["banking77"] = run_banking77(banking, systems,
                                                                          work)
        if args.only in (None, "public", "clinc150"):
            clinc = load_clinc150(args.datasets / "clinc150")
            if args.smoke:
                clinc = {split: subset(rows, 5, 4 if not split.endswith("train") else 8)
                         for split, rows in clinc.items()}
            results.setdefault("public", {})["clinc150"] = run_clinc150(clinc, systems, work)
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
        if args.only in (None, "others"):
            nlu_files = sorted((ROOT / "data" / "nlu").glob("*.yml"))
            requests = others_words(args.datasets)
            if args.smoke:
                requests = requests[::200]
            others: dict[str, dict[str, Any]] = {
                "memberdesk pipeline": {"pipeline": pipeline, "files": nlu_files},
                "last release (no spelling corrector)": {"pipeline": last_release(pipeline),
                                                         "files": nlu_files},
                "TF-IDF + logistic regression": {"predictor": tfidf_logreg_predictor,
                                                 "files": nlu_files},
                f"stock Rasa ({epochs} epochs)": {"pipeline": stock, "files": nlu_files},
            }
            if args.skip_stock:
                del others[f"stock Rasa ({epochs} epochs)"]
            if args.smoke:
                smoke_file = trimmed_training_file(ROOT / "data" / "nlu", 6,
                                                   work / "smoke-others" / "nlu.yml")
                others = {name: {**system, "files": [smoke_file]}
                          for name, system in others.items()}
            results["others_words"] = run_others_words(others, requests, work / "others")
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    results = with_parts_kept(results, args.out / "benchmarks-nlu.json")
    (args.out / "benchmarks-nlu.json").write_text(json.dumps(results, indent=2) + "\n",
                                                   encoding="utf-8")
    (args.out / "benchmarks-nlu.md").write_text(markdown(results) + "\n", encoding="utf-8")
    print(f"wrote {args.out / 'benchmarks-nlu.json'} and benchmarks-nlu.md "
          f"in {results['meta']['seconds']} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
