"""Load test: hundreds of simulated members for minutes on end, over Rasa replicas behind HAProxy.

Not a test: run it by hand and commit what it writes (docs/benchmarks-load.md and .json).

    .venv/bot/bin/python bench/load_bench.py                   # 200 members, 10 min on 2
                                                               # replicas, 3 min on 1: ~17 min
    .venv/bot/bin/python bench/load_bench.py --minutes 1 --compare-minutes 0 --members 20

The production shape on one machine: the records API on PostgreSQL, one action server, Rasa
replicas keeping conversations in PostgreSQL and locking them in Redis
(bot/endpoints.production.yml), and Debian's HAProxy in front (harness/balancer.py) in round
robin, so consecutive turns of one conversation land on different replicas. The simulated
members are the serving benchmark's (bench/serving/load.py): each verifies their identity,
moves house or asks what they pay, reports a failed Direct Debit and asks for a person, every
reply checked; one conversation after another, each member taking 10 to 30 s to read a reply
and type the next message (--think-min/--think-max; --think-max 0 sends the next message at
once, which measures the stack's capacity, not a day of members). A turn fails when it gets no
answer within 60 s, an error, or a reply that does not fit. Measured: turns per second,
p50/p95/p99, failed turns, CPU per turn by process; and the same load on one replica, for the
growth from one replica to two.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serving.databases import contextlib_for  # noqa: E402
from bench.serving.load import Load, OurMembers, member_details, summarise  # noqa: E402
from bench.serving.procfs import MemoryWatch  # noqa: E402
from bench.serving.stacks import our_stack, stack_cpu_seconds  # noqa: E402
from harness.balancer import load_balancer  # noqa: E402

DOCS = ROOT / "docs"
MODEL = ROOT / "models/memberdesk.tar.gz"
FAILED_TURNS_GOAL = 0.01
# The seeded members the conversations use (one conversation per member at a time).
FIRST_MEMBER = 1000006


async def soak(replicas: int, members: int, minutes: float, warmup: float,
               work: Path, think: tuple[float, float] | None) -> dict[str, Any]:
    """`members` simulated members for `minutes` over `replicas` Rasa replicas behind HAProxy."""
    folder = work / f"replicas-{replicas}"
    with contextlib_for("postgresql", folder) as (database_url, endpoints):
        async with our_stack(f"{replicas}-replicas", folder, model=MODEL,
                             database_url=database_url, endpoints=endpoints,
                             seed_members=None, replicas=replicas) as stack:
            backends = {f"rasa-{i + 1}": url.removeprefix("http://")
                        for i, url in enumerate(stack.rasa_urls)}
            with load_balancer(folder, backends) as balancer_url:
                numbers = [str(FIRST_MEMBER + i) for i in range(members + 20)]
                details = member_details(str(stack.api_url), numbers)[:members]
                conversation = OurMembers(details, prefix=f"load-{replicas}-{os.getpid()}")
                connector = aiohttp.TCPConnector(limit=0)
                async with aiohttp.ClientSession(connector=connector) as session:
                    load = Load(session, [balancer_url], warmup=warmup, seconds=minutes * 60,
                                max_turns=10**9, give_up_after=None, think_seconds=think)
                    cpu_before = stack_cpu_seconds(stack)
                    load_before = os.getloadavg()[0]
                    memory = MemoryWatch(stack.processes)
                    started = time.monotonic()
                    async with memory.watching(every=2.0):
                        level = await load.run(members, conversation)
                    elapsed = time.monotonic() - started
                    cpu_after = stack_cpu_seconds(stack)
            turns = max(1, level.turns_started)
            summary = summarise(level, minutes * 60, members)
            summary.update({
                "replicas": replicas,
                "turns_started": level.turns_started,
                "failed_turns": len(level.errors),
                "failed_share": round(len(level.errors) / turns, 4),
                "seconds_with_warmup": round(elapsed, 1),
                "load_average_1min_before": round(load_before, 2),
                "load_average_1min_after": round(os.getloadavg()[0], 2),
                "cpu_ms_per_turn_by_process": {
                    name: round((cpu_after[name] - cpu_before.get(name, 0.0)) * 1000 / turns, 1)
                    for name in sorted(cpu_after)
                },
                # What the manifests' requests and limits are set from (deploy/kubernetes).
                "peak_rss_mb_by_process": {name: round(mb) for name, mb in memory.peak.items()},
                "mean_cores_by_process": {
                    name: round((cpu_after[name] - cpu_before.get(name, 0.0)) / elapsed, 2)
                    for name in sorted(cpu_after)
                },
                "journeys": dict(conversation.journeys),
                "think_seconds": list(think) if think else None,
            })
            summary["cpu_ms_per_turn"] = round(
                sum(summary["cpu_ms_per_turn_by_process"].values()), 1)
            print(f"  {replicas} replica(s) x{members}: {summary['turns_per_second']} turns/s, "
                  f"p95 {summary['p95_ms']} ms, {summary['failed_turns']} failed of "
                  f"{level.turns_started}", flush=True)
            return summary


def _pace(run: dict[str, Any]) -> str:
    think = run.get("think_seconds")
    if not think:
        return "no pause between turns: the figures are the stack's capacity"
    return (f"reading each reply and typing the next message takes a member {think[0]:.0f} "
            f"to {think[1]:.0f} s, at random")


def markdown(results: dict[str, Any]) -> str:
    runs = results["runs"]
    lines = [
        "# Load test: Rasa replicas behind HAProxy, on PostgreSQL and Redis",
        "",
        f"Measured {results['measured_at']} on {results['cpus']} cores with "
        f"`{results['command']}`. Each simulated member holds one conversation after another "
        f"({_pace(runs[0])}; bench/load_bench.py says what they say); a turn fails on "
        "no answer within 60 s, an error, or a reply that does not fit.",
        "",
        "| replicas | members | minutes | turns/s | p50 ms | p95 ms | p99 ms | failed turns "
        "| CPU ms per turn (all processes) | load average before, after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {run['replicas']} | {run['concurrency']} | {run['seconds'] / 60:.1f} "
            f"| {run['turns_per_second']} | {run['p50_ms']} | {run['p95_ms']} | {run['p99_ms']} "
            f"| {run['failed_turns']} of {run['turns_started']} ({run['failed_share']:.2%}) "
            f"| {run['cpu_ms_per_turn']} | {run['load_average_1min_before']}, "
            f"{run['load_average_1min_after']} |"
        )
    lines += ["", "CPU per turn by process:", ""]
    for run in runs:
        shown = ", ".join(f"{name} {ms}" for name, ms in run["cpu_ms_per_turn_by_process"].items())
        lines.append(f"- {run['replicas']} replica(s): {shown}")
    sized = [run for run in runs if "peak_rss_mb_by_process" in run]
    if sized:
        lines += ["", "Peak resident memory (each process with its children, sampled every 2 s) "
                  "and mean CPU cores over the run, by process:", ""]
        for run in sized:
            shown = ", ".join(
                f"{name} {mb} MB, {run['mean_cores_by_process'][name]} cores"
                for name, mb in run["peak_rss_mb_by_process"].items())
            lines.append(f"- {run['replicas']} replica(s): {shown}")
    two = next((run for run in runs if run["replicas"] == 2), None)
    one = next((run for run in runs if run["replicas"] == 1), None)
    lines += ["", "## Verdict", ""]
    if two:
        met = two["failed_share"] < FAILED_TURNS_GOAL
        lines.append(f"- Failed turns at {two['concurrency']} members on two replicas: "
                     f"{two['failed_share']:.2%} (goal under {FAILED_TURNS_GOAL:.0%}): "
                     f"{'met' if met else 'not met'}.")
    if one and two and one["turns_per_second"]:
        growth = two["turns_per_second"] / one["turns_per_second"]
        lines.append(
            f"- Throughput from one replica to two: {one['turns_per_second']} -> "
            f"{two['turns_per_second']} turns/s ({growth:.2f}x) on the same {results['cpus']} "
            "cores. Every process (records API, action server, replicas, PostgreSQL, Redis, "
            "HAProxy and the simulated members) shares those cores, so a second replica can "
            "only use CPU the first left idle. What an added core buys follows from the CPU "
            f"per turn: {two['cpu_ms_per_turn']} ms of our processes' CPU per turn is about "
            f"{1000 / two['cpu_ms_per_turn']:.0f} turns/s per core, so each added core with "
            "its own replica (and its share of action-server and API capacity) is expected to "
            "add about that many turns per second, until PostgreSQL becomes the limit.")
    for run in runs:
        if run["error_examples"]:
            lines += ["", f"Failed turns on {run['replicas']} replica(s), first ones:", ""]
            lines += [f"- `{example[:200]}`" for example in run["error_examples"]]
    return "\n".join(lines) + "\n"


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    runs = []
    with tempfile.TemporaryDirectory(prefix="memberdesk-load-") as temporary:
        # --keep-logs: the processes' logs stay there for reading afterwards.
        work = args.keep_logs or Path(temporary)
        think = (args.think_min, args.think_max) if args.think_max > 0 else None
        runs.append(await soak(2, args.members, args.minutes, args.warmup, work, think))
        if args.compare_minutes > 0:
            runs.append(await soak(1, args.members, args.compare_minutes, args.warmup, work,
                                   think))
    return {
        "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "command": shlex.join([".venv/bot/bin/python", "bench/load_bench.py", *sys.argv[1:]]),
        "runs": sorted(runs, key=lambda run: run["replicas"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=10, help="on two replicas")
    parser.add_argument("--compare-minutes", type=float, default=3,
                        help="the same load on one replica (0: skip)")
    parser.add_argument("--warmup", type=float, default=30, help="unmeasured seconds first")
    parser.add_argument("--out", type=Path, default=DOCS)
    parser.add_argument("--think-min", type=float, default=10,
                        help="least seconds a member takes to read a reply and type the next")
    parser.add_argument("--think-max", type=float, default=30,
                        help="most such seconds (0: no pause at all, the stack's capacity)")
    parser.add_argument("--keep-logs", type=Path, default=None,
                        help="a folder for the processes' logs, kept afterwards")
    args = parser.parse_args(argv)
    results = asyncio.run(main_async(args))
    (args.out / "benchmarks-load.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "benchmarks-load.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
