"""Serving benchmark: simulated members talking to the whole assistant, against stock Rasa.

Not a test: run it by hand (or `make bench-serving`) and commit the results it writes.

    .venv/bot/bin/python bench/serving_bench.py            # everything, about 18 minutes
    .venv/bot/bin/python bench/serving_bench.py --smoke    # one member, a few turns, no stock

Each configuration is started for real on 127.0.0.1 free ports, and simulated members hold
multi-turn conversations through Rasa's REST channel (POST /webhooks/rest/webhook), each
conversation under its own sender id, with no pause between turns (closed loop):

- ours-sqlite: records API on a throwaway SQLite database seeded with the demo organisation,
  action server, Rasa with its default (in-memory) tracker and lock stores;
- ours-postgresql: records API on a throwaway PostgreSQL database, Rasa keeping conversations
  in PostgreSQL and locking them in Redis, from bot/endpoints.production.yml;
- stock: the bot `rasa init --no-prompt` makes (greet / mood / goodbye), Rasa alone.

Our members verify their identity, then change their address, ask what they pay, report a
failed Direct Debit and ask for a person; every reply is checked ("You're verified", "Your
reference is CASE-...") so that a broken stack cannot look fast. Measured at 1, 8 and 32
concurrent members: turns per second, p50/p95/p99 per turn; and per configuration the time
from starting the processes to all of them answering (Rasa's /status with a model loaded,
the action server's and API's health routes), their resident memory summed, the model's size
and the time a full training takes with an empty cache. A last pass at one member puts timing
proxies between Rasa and the action server and between the action server and the API, to
show where a turn's time goes.

Results go to docs/benchmarks-serving.json, docs/benchmarks-serving.md and
docs/benchmarks-serving.png.

This file is the command; its parts are in bench/serving/: stacks.py starts and times the
configurations (databases.py, training.py and procfs.py beside it), load.py is the simulated
members, breakdown.py the timing proxies, report.py the verdict and the Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
import tempfile
from contextlib import AsyncExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serving.breakdown import breakdown, tensorflow_import  # noqa: E402
from bench.serving.databases import contextlib_for  # noqa: E402
from bench.serving.load import (  # noqa: E402
    MEMBER_NUMBERS,
    OurMembers,
    StockMembers,
    describe_stack,
    load_levels,
    member_details,
)
from bench.serving.report import GOALS, machine, markdown, plot, verdict  # noqa: E402
from bench.serving.stacks import Stack, our_stack, stock_stack  # noqa: E402
from bench.serving.training import init_stock, train_ours  # noqa: E402

DOCS = ROOT / "docs"
MODEL = ROOT / "models/memberdesk.tar.gz"


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    import rasa

    levels = [int(level) for level in args.levels.split(",")]
    configurations: dict[str, Any] = {}
    training: dict[str, Any] = {}
    journeys: dict[str, list[str]] = {"ours": [], "stock": []}
    model, model_mb = MODEL, round(MODEL.stat().st_size / 2**20, 1)

    if not args.skip_training:
        print("training our assistant with an empty cache...", flush=True)
        training["ours"] = train_ours(work / "train")
        model, model_mb = Path(training["ours"]["model"]), training["ours"]["model_mb"]
        print(f"  {training['ours']['training_seconds']} s, {model_mb} MB", flush=True)

    if not args.skip_stock:
        print("stock: rasa init --no-prompt (trains the stock bot)...", flush=True)
        training["stock"] = init_stock(work)
        print(f"  {training['stock']['training_seconds']} s", flush=True)

    databases = [d for d in args.databases.split(",") if d and d != "none"]
    plans = [(f"ours-{database}", database, 1, levels) for database in databases]
    if args.replicas > 1 and "postgresql" in databases:
        replica_levels = [int(level) for level in args.replica_levels.split(",")]
        plans.append((f"ours-postgresql-{args.replicas}-replicas", "postgresql", args.replicas,
                      replica_levels))
    if not plans and not args.skip_stock:
        plans.append(("stock only", "", 0, levels))
    stock_to_run = not args.skip_stock
    for name, database, replicas, its_levels in plans:
        async with AsyncExitStack() as stacks:
            runs: list[tuple[Stack, OurMembers | StockMembers]] = []
            described: dict[str, Any] = {}
            # Stock runs beside our first configuration, level by level, in alternating
            # blocks; it is started first and alone so that each start-up is timed on its own.
            if stock_to_run:
                stock_to_run = False
                print("stock: starting...", flush=True)
                stock = await stacks.enter_async_context(
                    stock_stack(Path(training["stock"]["project"]), work))
                print(f"  ready in {max(stock.ready.values())} s", flush=True)
                stock_members = StockMembers(prefix="")
                runs.append((stock, stock_members))
                described[stock.name] = describe_stack(stock, training["stock"]["model_mb"])
            if replicas:
                folder = work / name
                print(f"{name}: starting...", flush=True)
                database_url, endpoints = stacks.enter_context(contextlib_for(database, folder))
                stack = await stacks.enter_async_context(our_stack(
                    name, folder, model=model, database_url=database_url, endpoints=endpoints,
                    seed_members=args.seed_members, replicas=replicas))
                print(f"  ready in {max(stack.ready.values())} s {stack.ready}", flush=True)
                assert stack.api_url is not None
                ours = OurMembers(member_details(stack.api_url, MEMBER_NUMBERS), prefix="")
                runs.append((stack, ours))
                described[name] = {**describe_stack(stack, model_mb), "replicas": replicas}
            measured = await load_levels(runs, its_levels, warmup=args.warmup,
                                         seconds=args.seconds, max_turns=args.max_turns,
                                         rounds=args.rounds)
            for stack, conversation in runs:
                # Peak memory is known only now that the load has run.
                model_size = described[stack.name]["model_mb"]
                configurations[stack.name] = {**described[stack.name],
                                              **describe_stack(stack, model_size),
                                              "levels": measured[stack.name]}
                journeys["stock" if stack.name == "stock" else "ours"] = sorted(
                    conversation.journeys)

    results: dict[str, Any] = {
        "meta": {
            "smoke": args.smoke,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": args.command,
            "machine": args.machine,
            "rasa_version": rasa.__version__,
            "levels": levels,
            "warmup_seconds": args.warmup,
            "seconds_per_level": args.seconds * args.rounds,
            "blocks_per_level": args.rounds,
            "max_turns_per_level": args.max_turns,
            "seed_members": args.seed_members or "the full demo organisation (2,000)",
            "journeys": journeys,
            "goals": GOALS,
        },
        "configurations": configurations,
        "training": training,
    }
    results["tensorflow_import"] = tensorflow_import()
    if not args.skip_breakdown:
        print("breakdown: one member with timing proxies...", flush=True)
        results["breakdown"] = await breakdown(work / "breakdown", model=model,
                                               members=args.seed_members,
                                               seconds=args.breakdown_seconds)
    results["verdict"] = verdict(results)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="SQLite only, one member, a few turns, no training, no stock")
    parser.add_argument("--levels", default="1,8,32", help="concurrent members, comma-separated")
    parser.add_argument("--databases", default="sqlite,postgresql",
                        help='our configurations: sqlite, postgresql, or "none"')
    parser.add_argument("--replicas", type=int, default=2,
                        help="also run this many Rasa replicas on PostgreSQL and Redis (1: skip)")
    parser.add_argument("--replica-levels", default="8,32")
    parser.add_argument("--seconds", type=float, default=15,
                        help="measured seconds per block (a level is --rounds blocks)")
    parser.add_argument("--rounds", type=int, default=2, help="blocks per level")
    parser.add_argument("--warmup", type=float, default=5, help="unmeasured seconds per level")
    parser.add_argument("--max-turns", type=int, default=4000, help="turns per level, at most")
    parser.add_argument("--seed-members", type=int, default=None,
                        help="members to seed (default: the full demo organisation)")
    parser.add_argument("--skip-training", action="store_true",
                        help="serve models/memberdesk.tar.gz instead of a fresh training")
    parser.add_argument("--skip-stock", action="store_true")
    parser.add_argument("--skip-breakdown", action="store_true")
    parser.add_argument("--breakdown-seconds", type=float, default=25)
    parser.add_argument("--out", type=Path, default=DOCS)
    args = parser.parse_args(argv)
    args.command = shlex.join([".venv/bot/bin/python", "bench/serving_bench.py",
                               *(sys.argv[1:] if argv is None else argv)])
    if args.smoke:
        args.levels, args.databases, args.replicas = "1", "sqlite", 1
        args.seconds, args.warmup, args.max_turns, args.rounds = 8, 0, 12, 1
        args.seed_members = args.seed_members or 130
        args.skip_training = args.skip_stock = args.skip_breakdown = True
    args.machine = machine()
    if not MODEL.exists() and args.skip_training:
        raise SystemExit(f"no model at {MODEL}: run `bash scripts/train.sh` first")

    with tempfile.TemporaryDirectory(prefix="memberdesk-serving-") as tmp:
        results = asyncio.run(run(args, Path(tmp)))

    args.out.mkdir(parents=True, exist_ok=True)
    image = None
    if plot(results, args.out / "benchmarks-serving.png"):
        image = "benchmarks-serving.png"
    (args.out / "benchmarks-serving.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "benchmarks-serving.md").write_text(markdown(results, image))
    print(f"wrote {args.out / 'benchmarks-serving.md'}", flush=True)
    errors = sum(level["errors"] for config in results["configurations"].values()
                 for level in config["levels"].values())
    errors += results.get("breakdown", {}).get("errors", 0)
    if errors:
        print(f"{errors} turns got a reply that makes no sense: see error_examples in the JSON",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
