"""The serving benchmark's report: each goal against what was measured, why it came out so,
and the Markdown and chart written to docs/.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

GOALS = {
    "speedup_vs_stock_at_8": 3.0,
    "p95_ms_at_8": 250.0,
    "ready_seconds": 15.0,
    "rss_mb": 800.0,
    "training_seconds": 180.0,
}


def machine() -> dict[str, Any]:
    model_name = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model_name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = 0.0
    try:
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        memory_gb = round(int(first.split()[1]) / 2**20, 1)
    except (OSError, IndexError, ValueError):
        pass
    return {
        "cpu": model_name,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def verdict(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal of the issue against what was measured, ours on SQLite and on PostgreSQL."""
    rows: list[dict[str, Any]] = []
    stock = results["configurations"].get("stock")
    for name in ("ours-sqlite", "ours-postgresql"):
        ours = results["configurations"].get(name)
        if not ours:
            continue
        at8 = ours["levels"].get("8")
        if at8 and stock and stock["levels"].get("8"):
            ratio = at8["turns_per_second"] / max(stock["levels"]["8"]["turns_per_second"], 1e-9)
            rows.append({"configuration": name, "goal": "turns/s at 8 members vs stock",
                         "target": ">= 3.0x", "measured": f"{ratio:.2f}x",
                         "met": ratio >= GOALS["speedup_vs_stock_at_8"]})
        if at8:
            rows.append({"configuration": name, "goal": "p95 per turn at 8 members",
                         "target": "<= 250 ms", "measured": f"{at8['p95_ms']:.0f} ms",
                         "met": at8["p95_ms"] <= GOALS["p95_ms_at_8"]})
        rows.append({"configuration": name, "goal": "ready after start",
                     "target": "<= 15 s", "measured": f"{ours['ready_seconds']:.1f} s",
                     "met": ours["ready_seconds"] <= GOALS["ready_seconds"]})
        rows.append({"configuration": name, "goal": "resident memory (peak, 3 processes)",
                     "target": "<= 800 MB", "measured": f"{ours['rss_mb_peak_total']:.0f} MB",
                     "met": ours["rss_mb_peak_total"] <= GOALS["rss_mb"]})
    training = results.get("training", {}).get("ours")
    if training:
        rows.append({"configuration": "ours", "goal": "full training (empty cache)",
                     "target": "<= 180 s", "measured": f"{training['training_seconds']:.0f} s",
                     "met": training["training_seconds"] <= GOALS["training_seconds"]})
    return rows


def plot(results: dict[str, Any], path: Path) -> bool:
    """Turns/s and p95 against concurrent members, one line per configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (throughput, p95) = plt.subplots(1, 2, figsize=(10, 4))
    for name, config in results["configurations"].items():
        levels = sorted(config["levels"].values(), key=lambda level: level["concurrency"])
        xs = [level["concurrency"] for level in levels]
        throughput.plot(xs, [level["turns_per_second"] for level in levels], marker="o",
                        label=name)
        p95.plot(xs, [level["p95_ms"] for level in levels], marker="o", label=name)
    throughput.set(title="Turns per second", xlabel="concurrent members", ylabel="turns/s")
    p95.set(title="p95 per turn", xlabel="concurrent members", ylabel="ms", yscale="log")
    p95.axhline(GOALS["p95_ms_at_8"], color="grey", linestyle="--", linewidth=0.8)
    for axes in (throughput, p95):
        axes.set_xscale("log", base=2)
        axes.grid(True, alpha=0.3)
        axes.legend()
    figure.suptitle(f"memberdesk serving vs stock Rasa ({results['meta']['date']})")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def _validation_lines(probe: dict[str, Any]) -> list[str]:
    if "validate_ms_per_reply" not in probe:
        return []
    text = (f"Stock Rasa checks every action-server reply with `jsonschema.validate()`: with "
            f"jsonschema {probe['jsonschema_version']} ({probe['validator']}) that costs "
            f"{probe['validate_ms_per_reply']} ms a reply, of which "
            f"{probe['schema_check_ms_per_reply']} ms re-checks Rasa's own constant schema "
            "against the meta-schema.")
    if "built_once_ms_per_reply" in probe:
        text += (" Ours checks each reply with a validator built once "
                 f"(channels/rasa_speedups.py): {probe['built_once_ms_per_reply']} ms a reply.")
    return [text, ""]


def explanations(results: dict[str, Any]) -> list[str]:
    """Why each goal came out as it did, in the run's own figures."""
    configs = results["configurations"]
    ours = configs.get("ours-sqlite") or next(
        (c for n, c in configs.items() if n.startswith("ours")), None)
    if ours is None:
        return []
    stock, parts = configs.get("stock"), results.get("breakdown")
    tf = results.get("tensorflow_import", {})
    lines = ["### Why, goal by goal", ""]

    at8, at1 = ours["levels"].get("8"), ours["levels"].get("1")
    if at8 and at8["turns_per_second"] > 0:
        text = (f"- **Turns per second and p95 at 8 members.** A Rasa process handles one turn "
                f"at a time on its event loop and is CPU-bound, so members who send without "
                f"pausing queue behind each other: at 8 members ours completed "
                f"{at8['turns_per_second']:.1f} turns/s, so by Little's law a turn took "
                f"8 / {at8['turns_per_second']:.1f} = {8000 / at8['turns_per_second']:.0f} ms "
                f"on average (p95 {at8['p95_ms']:.0f} ms)")
        if at1:
            text += f", against a p50 of {at1['p50_ms']:.0f} ms for a member on their own"
        text += (". A p95 of 250 ms at 8 members without pauses needs well over 8 / 0.25 = "
                 "32 turns/s.")
        cpu = at8.get("cpu_ms_per_turn_by_process") or {}
        if cpu.get("rasa"):
            others = ", ".join(f"{k} {v:.1f}" for k, v in cpu.items() if k != "rasa")
            text += (f" Each turn cost {cpu['rasa']:.1f} ms of CPU in Rasa ({others}): one "
                     f"Rasa process, on one core, can serve at most "
                     f"{1000 / cpu['rasa']:.0f} turns/s, and all the processes together at "
                     f"most {1000 * results['meta']['machine']['cores'] / sum(cpu.values()):.0f}"
                     " on this machine's cores, before the load generator takes its share.")
        if parts:
            text += (f" A lone member's turn ({parts['turn_mean_ms']:.0f} ms mean) is "
                     f"{parts['rasa_own_mean_ms']:.0f} ms in Rasa itself, "
                     f"{parts['action_server_own_mean_ms']:.0f} ms in the action server and "
                     f"{parts['api_mean_ms']:.0f} ms in the API; of Rasa's share the NLU "
                     f"pipeline is {parts['nlu_parse_median_ms']:.0f} ms. The rest is the "
                     f"dialogue side: a policy prediction for every action a turn runs "
                     f"({parts['action_calls_per_turn']:.1f} action-server calls a turn, each "
                     f"sending the whole tracker, {parts['action_request_kb_mean']:.0f} KB on "
                     f"average, and each reply checked against a JSON schema).")
        if stock and stock["levels"].get("8"):
            s8 = stock["levels"]["8"]
            text += (f" Stock's turns run no custom action at all (greet, mood, goodbye "
                     f"are plain responses): {s8['turns_per_second']:.1f} turns/s at 8 "
                     f"members, p95 {s8['p95_ms']:.0f} ms.")
        replicas = next((c for n, c in configs.items() if "replicas" in n), None)
        single = configs.get("ours-postgresql")
        if replicas and single and replicas["levels"].get("8") and single["levels"].get("8"):
            text += (f" Two Rasa replicas sharing PostgreSQL and Redis did "
                     f"{replicas['levels']['8']['turns_per_second']:.1f} turns/s at 8 members "
                     f"against {single['levels']['8']['turns_per_second']:.1f} for one, on "
                     f"{results['meta']['machine']['cores']} cores shared with the action "
                     "server, the API, the load generator and other work.")
        lines.append(text)

    loading = ours.get("rasa_model_loading_began_seconds", {}).get("rasa")
    by_process = ours["ready_seconds_by_process"]
    text = (f"- **Ready after start.** Rasa is the slowest process ({by_process.get('rasa', 0):.1f}"
            f" s; the action server answered at {by_process.get('actions', 0):.1f} s and the "
            f"API at {by_process.get('api', 0):.1f} s).")
    if loading:
        text += (f" It spent {loading:.1f} s importing (Rasa, TensorFlow, Sanic) before it "
                 f"began loading the model, and {by_process['rasa'] - loading:.1f} s loading "
                 "it.")
    if tf.get("import_seconds"):
        text += f" Importing TensorFlow alone takes {tf['import_seconds']:.1f} s."
    if stock:
        stock_loading = stock.get("rasa_model_loading_began_seconds", {}).get("rasa")
        text += f" Stock was ready in {stock['ready_seconds']:.1f} s"
        text += f" ({stock_loading:.1f} s of imports)." if stock_loading else "."
    lines.append(text)

    rasa_rss = ours["rss_mb_peak_by_process"].get("rasa", 0.0)
    rasa_private = ours["rss_anon_mb_peak_by_process"].get("rasa", 0.0)
    text = (f"- **Resident memory.** Rasa is {rasa_rss:.0f} MB of the "
            f"{ours['rss_mb_peak_total']:.0f} MB, {rasa_private:.0f} MB of it private.")
    if tf.get("rss_mb"):
        text += (f" A Python process that has only imported TensorFlow is already "
                 f"{tf['rss_mb']:.0f} MB ({tf['private_mb']:.0f} MB private): every Rasa "
                 "process pays that before it loads a model, whatever the pipeline.")
    if stock:
        text += f" Stock Rasa peaked at {stock['rss_mb_peak_total']:.0f} MB."
    lines.append(text)

    training = results.get("training", {})
    if training.get("ours"):
        text = (f"- **Training.** A full training of config.yml with an empty cache took "
                f"{training['ours']['training_seconds']:.0f} s")
        if training.get("stock"):
            text += f"; stock's `rasa init` took {training['stock']['training_seconds']:.0f} s"
        lines.append(text + ".")
    return [*lines, ""]


def _mb(value: float) -> str:
    return f"{value:,.0f}"


def markdown(results: dict[str, Any], image: str | None) -> str:
    meta = results["meta"]
    lines = [
        "## Serving",
        "",
        f"Run on {meta['date']} ({meta['machine']['cores']} cores, {meta['machine']['cpu']}, "
        f"{meta['machine']['memory_gb']} GB, {meta['machine']['system']}, Python "
        f"{meta['machine']['python']}, Rasa {meta['rasa_version']}); load average at the start "
        f"{meta['machine']['load_average_at_start']}. The machine is shared: other work ran "
        "during the benchmark.",
        "",
        "Command:",
        "",
        f"    {meta['command']}",
        "",
        f"Simulated members hold whole conversations through the REST channel with no pause "
        f"between turns. Each level is measured in {meta['blocks_per_level']} block(s) per "
        f"configuration; a block warms up for {meta['warmup_seconds']:g} s, then counts every "
        f"turn that finishes in the next "
        f"{meta['seconds_per_level'] / meta['blocks_per_level']:g} s. Stock runs beside ours "
        "on SQLite, both up at once, their blocks alternating (which goes first swaps every "
        "block) so that other work on the machine weighs on both alike; the load average "
        "at the start of each block is in the JSON. Every reply is checked against what the "
        "member should hear. Our journeys: "
        + "; ".join(meta["journeys"]["ours"]) + ". Stock journeys: "
        + "; ".join(meta["journeys"]["stock"]) + ".",
        "",
    ]
    if meta["smoke"]:
        lines += ["**Smoke run**: tiny and not meaningful as a measurement.", ""]
    lines += ["### Goals", "", "| configuration | goal | target | measured | met |",
              "|---|---|---|---|---|"]
    for row in results["verdict"]:
        lines.append(f"| {row['configuration']} | {row['goal']} | {row['target']} | "
                     f"{row['measured']} | {'yes' if row['met'] else '**no**'} |")
    lines += ["", "### Turns", "",
              "| configuration | members | turns | turns/s | p50 ms | p95 ms | p99 ms | "
              "errors |", "|---|---|---|---|---|---|---|---|"]
    for name, config in results["configurations"].items():
        for level in config["levels"].values():
            lines.append(
                f"| {name} | {level['concurrency']} | {level['turns']} | "
                f"{level['turns_per_second']:.2f} | {level['p50_ms']:.0f} | "
                f"{level['p95_ms']:.0f} | {level['p99_ms']:.0f} | {level['errors']} |"
            )
    lines += ["", "### CPU per turn", "",
              "CPU time (user and system, from /proc) each process used during a level's "
              "blocks, divided by the turns sent in them. Unlike the latencies it barely moves "
              "when other work shares the machine, so it is the fairer comparison between "
              "runs; on 2 cores, turns/s can never exceed 2,000 / (the sum of a row, plus "
              "the load generator's share).", "",
              "| configuration | members | CPU ms per turn by process | sum |", "|---|---|---|---|"]
    for name, config in results["configurations"].items():
        for level in config["levels"].values():
            used = level.get("cpu_ms_per_turn_by_process") or {}
            if used:
                lines.append(f"| {name} | {level['concurrency']} | "
                             + ", ".join(f"{k} {v:.1f}" for k, v in used.items())
                             + f" | {sum(used.values()):.1f} |")
    lines += ["", "### Start-up, memory, model, training", "",
              "| configuration | ready s (slowest process) | RSS after ready MB | "
              "RSS peak MB | peak by process MB (private) | model MB | training s |",
              "|---|---|---|---|---|---|---|"]
    training = results.get("training", {})
    for name, config in results["configurations"].items():
        trained = training.get("stock" if name == "stock" else "ours", {})
        anon = config["rss_anon_mb_peak_by_process"]
        by_process = ", ".join(f"{k} {_mb(v)} ({_mb(anon[k])})"
                               for k, v in config["rss_mb_peak_by_process"].items())
        lines.append(
            f"| {name} | {config['ready_seconds']:.1f} | "
            f"{_mb(config['rss_mb_after_ready_total'])} | {_mb(config['rss_mb_peak_total'])} | "
            f"{by_process} | {config['model_mb']:.1f} | "
            f"{trained.get('training_seconds', 'not run')} |"
        )
    lines += ["", "Ready is measured from starting the processes (together, as `make run` "
              "does) until Rasa's `/status` names a loaded model and the action server's and "
              "API's health routes answer. Memory is the resident set of each process and its "
              "children, from /proc, sampled every 0.5 s; in brackets its private (anonymous) "
              "part: the rest is mostly shared-library pages (TensorFlow's among them) that "
              "further replicas on the same host share. PostgreSQL and Redis are shared "
              "services and not counted. Training is a full `rasa train` with an empty cache "
              "(ours) and `rasa init --no-prompt` (stock, which trains its bot), both with "
              "TensorFlow limited to 2 intra-op threads as scripts/train.sh does.", ""]
    parts = results.get("breakdown")
    if parts:
        lines += [
            "### Where a turn's time goes (one member, ours on SQLite)", "",
            f"Timing proxies between Rasa and the action server and between the action server "
            f"and the API, over {parts['turns']} turns (the proxies add a little to the "
            "action and API shares).", "",
            "| part | mean ms per turn |", "|---|---|",
            f"| whole turn | {parts['turn_mean_ms']:.0f} |",
            f"| Rasa itself (NLU, policies, tracker, HTTP) | {parts['rasa_own_mean_ms']:.0f} |",
            f"| action server itself | {parts['action_server_own_mean_ms']:.0f} |",
            f"| records API | {parts['api_mean_ms']:.0f} |",
            "",
            f"Per turn: {parts['action_calls_per_turn']} action-server calls (each carries the "
            f"whole tracker: {parts['action_request_kb_mean']} KB on average, "
            f"{parts['action_request_kb_max']} KB at most) and {parts['api_calls_per_turn']} API "
            f"calls. The NLU pipeline alone (`/model/parse`) takes "
            f"{parts['nlu_parse_median_ms']:.0f} ms (median).", "",
            *_validation_lines(parts.get("action_reply_validation", {})),
            "| action | calls | mean ms |", "|---|---|---|",
        ]
        lines += [f"| {a['action']} | {a['calls']} | {a['mean_ms']:.0f} |"
                  for a in parts["slowest_actions"]]
        lines.append("")
    lines += explanations(results)
    if image:
        lines += [f"![Turns per second and p95 against concurrent members]({image})", ""]
    lines += ["Full numbers: `docs/benchmarks-serving.json`.", ""]
    return "\n".join(lines)
