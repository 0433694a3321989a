"""The NLU's CPU cost per parse of a new text, with the cascade on and forced off.

    .venv/bot/bin/python -m bench.nlu.parse_cost [--model models/memberdesk.tar.gz] [-n 800]

Issue #13's goal: no more CPU per parse than about 19 ms for a new text on these cores. The
deployments run with OPENBLAS_NUM_THREADS=1, set here before numpy loads. The trained model is
loaded once through Rasa's Agent; each text is parsed once with the model's own
`cheap_enough` and once with it forced to 1.0 (the full model, MiniLM for every text), on the
same model in the same run. The encoder's cache is emptied before each pass, so every text is
new to it. The texts are tests/nlu/heldout.yml's and CLINC150's validation split's: used here
for cost only, never to choose anything.

Writes docs/benchmarks-nlu-cost.json and .md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

# Before numpy is imported anywhere: the deployments' setting (one BLAS thread per process).
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.nlu.data import load_clinc150  # noqa: E402
from bench.nlu.pipeline import quiet_rasa  # noqa: E402

DATASETS = Path(os.environ.get("MEMBERDESK_DATASETS", ROOT.parent / "shared" / "datasets"))
DOCS = ROOT / "docs"
GOAL_MS = 19.0  # issue #13: no more than today's CPU per parse of a new text
WARM_UP = 20  # parses, with other texts, before anything is timed


def cpu_model() -> str:
    """The processor's name as /proc/cpuinfo gives it."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def texts_to_parse(datasets: Path, count: int) -> list[str]:
    """Up to `count` distinct texts: the held-out set first, then CLINC150's validation."""
    import yaml

    heldout = yaml.safe_load((ROOT / "tests" / "nlu" / "heldout.yml").read_text(
        encoding="utf-8"))
    texts = [line.removeprefix("- ").strip()
             for block in heldout["nlu"] if "examples" in block
             for line in block["examples"].splitlines() if line.strip().startswith("- ")]
    clinc = load_clinc150(datasets / "clinc150")
    texts += [text for text, _ in clinc["val"] + clinc["oos_val"]]
    return list(dict.fromkeys(t for t in texts if t))[:count]


def the_classifier(agent: Any) -> Any:
    """The loaded graph's LinearIntentClassifier."""
    from bot.nlu.linear_intent_classifier import LinearIntentClassifier

    nodes = agent.processor.graph_runner._instantiated_nodes.values()  # noqa: SLF001
    found = [node._component for node in nodes  # noqa: SLF001
             if isinstance(node._component, LinearIntentClassifier)]  # noqa: SLF001
    if not found:
        raise SystemExit("the model has no LinearIntentClassifier to measure")
    return found[0]


async def one_pass(agent: Any, texts: list[str]) -> dict[str, Any]:
    """CPU ms per parse (mean, p50, p95) and wall ms p50 over the texts, each new."""
    from bot.nlu.sentence_encoder import _SHARED

    for encoder in _SHARED.values():
        encoder._cache.clear()  # noqa: SLF001
    cpu, wall = [], []
    for text in texts:
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        await agent.parse_message(text)
        cpu.append(1000 * (time.process_time() - started_cpu))
        wall.append(1000 * (time.perf_counter() - started_wall))
    embedded = sum(len(encoder._cache) for encoder in _SHARED.values())  # noqa: SLF001
    cpu.sort()
    return {
        "parses": len(texts),
        "cpu_ms_mean": round(statistics.fmean(cpu), 2),
        "cpu_ms_p50": round(cpu[len(cpu) // 2], 2),
        "cpu_ms_p95": round(cpu[int(len(cpu) * 0.95)], 2),
        "wall_ms_p50": round(statistics.median(wall), 2),
        "embedded_share": round(embedded / len(texts), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "memberdesk.tar.gz")
    parser.add_argument("-n", "--texts", type=int, default=800, help="texts to parse")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--docs", type=Path, default=DOCS)
    args = parser.parse_args(argv)
    if not args.model.is_file():
        raise SystemExit(f"{args.model} is not there: train it first (bash scripts/train.sh)")

    from rasa.core.agent import Agent

    texts = texts_to_parse(args.datasets, args.texts + WARM_UP)
    warm_up, texts = texts[:WARM_UP], texts[WARM_UP:]
    load_before = [round(x, 2) for x in os.getloadavg()]
    with quiet_rasa():
        agent = Agent.load(str(args.model))
        classifier = the_classifier(agent)
        cheap_enough = float(classifier._config.get("cheap_enough", 1.0))  # noqa: SLF001

        async def measure() -> dict[str, Any]:
            for text in warm_up:
                await agent.parse_message(text)
            results = {}
            # Forced off first, then the model's own setting, then off again: the two figures
            # for the full model show how much the machine's load moved during the run.
            for name, bound in (("full model", 1.0), ("cascade", cheap_enough),
                                ("full model, again", 1.0)):
                classifier._config["cheap_enough"] = bound  # noqa: SLF001
                results[name] = {"cheap_enough": bound, **await one_pass(agent, texts)}
            classifier._config["cheap_enough"] = cheap_enough  # noqa: SLF001
            return results

        results = asyncio.run(measure())
    report = {
        "command": "python -m bench.nlu.parse_cost " + " ".join(argv or sys.argv[1:]),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "openblas_num_threads": os.environ["OPENBLAS_NUM_THREADS"],
        "model": str(args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT)
                     else args.model),
        "has_cheap_model": classifier.cheap is not None,
        "texts": "tests/nlu/heldout.yml, then CLINC150's validation split (in and out of scope)",
        "goal_cpu_ms": GOAL_MS,
        "passes": results,
    }
    args.docs.mkdir(parents=True, exist_ok=True)
    (args.docs / "benchmarks-nlu-cost.json").write_text(json.dumps(report, indent=2) + "\n",
                                                        encoding="utf-8")
    (args.docs / "benchmarks-nlu-cost.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    return 0


def markdown(report: dict[str, Any]) -> str:
    """The report as a section of docs/benchmarks.md."""
    lines = [
        "# NLU parse cost", "",
        f"`{report['command'].strip()}`, {report['date']}, on {report['cores']} cores of "
        f"{report['cpu']}; load average {report['load_average_before']} before, "
        f"{report['load_average_after']} after. OPENBLAS_NUM_THREADS="
        f"{report['openblas_num_threads']}, as deployed. Model: {report['model']} "
        f"(cheap model {'present' if report['has_cheap_model'] else 'absent'}).", "",
        f"Each of the texts ({report['texts']}) parsed once per pass through Rasa's Agent, "
        "new to the encoder's cache; CPU is the process's time (time.process_time). The goal "
        f"is at most {report['goal_cpu_ms']:g} ms of CPU per parse.", "",
        "| pass | cheap_enough | parses | CPU ms mean | CPU ms p50 | CPU ms p95 | wall ms p50 "
        "| texts embedded |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, got in report["passes"].items():
        lines.append(f"| {name} | {got['cheap_enough']:g} | {got['parses']} | "
                     f"{got['cpu_ms_mean']} | {got['cpu_ms_p50']} | {got['cpu_ms_p95']} | "
                     f"{got['wall_ms_p50']} | {100 * got['embedded_share']:.1f}% |")
    return "\n".join([*lines, ""])


if __name__ == "__main__":
    raise SystemExit(main())
