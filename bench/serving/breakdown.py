"""Where a turn's time goes: one member at a time, with timing proxies in front of the action
server and the API, and probes of what Rasa and TensorFlow cost on their own.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.serving.databases import plain_endpoints
from bench.serving.load import MEMBER_NUMBERS, Load, OurMembers, member_details
from bench.serving.stacks import TF_ENV, our_stack
from harness.processes import ROOT, free_port
from tests.bot.servers import BOT_PY


class TimingProxy:
    """A pass-through HTTP proxy that records how long each call took."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.calls: list[dict[str, Any]] = []
        self.session: aiohttp.ClientSession | None = None
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        assert self.session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("host", "content-length", "transfer-encoding",
                                        "connection")}
        start = time.monotonic()
        async with self.session.request(request.method, self.target + request.path_qs,
                                        data=body, headers=headers) as reply:
            data = await reply.read()
            status = reply.status
            content_type = reply.headers.get("content-type", "application/json")
        end = time.monotonic()
        label = f"{request.method} {request.path}"
        if request.path.endswith("/webhook") and body:
            with suppress(ValueError):
                label = str(json.loads(body).get("next_action"))
        self.calls.append({"start": start, "end": end, "label": label,
                           "request_bytes": len(body)})
        return web.Response(body=data, status=status, headers={"content-type": content_type})

    async def start(self, port: int) -> None:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        if self.session is not None:
            await self.session.close()


# Rasa checks every action-server reply against its response schema with jsonschema.validate().
VALIDATION_PROBE = """
import json, time, importlib.metadata
import jsonschema
from rasa.core.actions.action import RemoteAction
schema = RemoteAction.action_response_format_spec()
reply = {"events": [{"event": "slot", "name": f"slot_{i}", "value": "x", "timestamp": None}
                    for i in range(8)], "responses": [{"text": "Thanks. You're verified."}]}
def per_call(check, rounds=20):
    check()
    start = time.perf_counter()
    for _ in range(rounds):
        check()
    return round((time.perf_counter() - start) / rounds * 1000, 2)
validator = jsonschema.validators.validator_for(schema)(schema)
print(json.dumps({
    "jsonschema_version": importlib.metadata.version("jsonschema"),
    "validator": jsonschema.validators.validator_for(schema).__name__,
    "validate_ms_per_reply": per_call(lambda: jsonschema.validate(reply, schema)),
    "schema_check_ms_per_reply": per_call(
        lambda: jsonschema.validators.validator_for(schema).check_schema(schema)),
    "built_once_ms_per_reply": per_call(
        lambda: jsonschema.exceptions.best_match(validator.iter_errors(reply))),
}))
"""


def run_probe(code: str) -> dict[str, Any]:
    """Run a probe script in a fresh bot-side Python; the JSON its last line prints."""
    done = subprocess.run(  # noqa: S603
        [str(BOT_PY), "-c", code], cwd=ROOT, env={**os.environ, **TF_ENV},
        capture_output=True, text=True, timeout=300,
    )
    if done.returncode != 0:
        return {"error": done.stderr[-500:]}
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def action_reply_validation() -> dict[str, Any]:
    """What Rasa's check of one action-server reply costs with the installed jsonschema."""
    return run_probe(VALIDATION_PROBE)


TENSORFLOW_PROBE = """
import json, time
from pathlib import Path
start = time.perf_counter()
import tensorflow
seconds = time.perf_counter() - start
status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
print(json.dumps({"import_seconds": round(seconds, 2),
                  "rss_mb": round(int(status["VmRSS"].split()[0]) / 1024, 1),
                  "private_mb": round(int(status["RssAnon"].split()[0]) / 1024, 1)}))
"""


def tensorflow_import() -> dict[str, Any]:
    """What importing TensorFlow alone (every Rasa process does) costs in time and memory."""
    return run_probe(TENSORFLOW_PROBE)


def _within(calls: list[dict[str, Any]], start: float, end: float) -> list[dict[str, Any]]:
    return [call for call in calls if start <= call["start"] and call["end"] <= end]


async def nlu_parse_ms(rasa_url: str, texts: list[str], rounds: int) -> float:
    """Median time of Rasa's /model/parse (the NLU pipeline alone) over our members' texts."""
    timings = []
    async with aiohttp.ClientSession() as session:
        for _ in range(rounds):
            for text in texts:
                start = time.monotonic()
                async with session.post(f"{rasa_url}/model/parse", json={"text": text}) as reply:
                    await reply.read()
                timings.append(time.monotonic() - start)
    return round(statistics.median(timings) * 1000, 1)


async def breakdown(folder: Path, *, model: Path, members: int | None,
                    seconds: float) -> dict[str, Any]:
    """One member at a time, with timing proxies in front of the action server and the API."""
    api_port, actions_port = free_port(), free_port()
    actions_proxy = TimingProxy(f"http://127.0.0.1:{actions_port}")
    api_proxy = TimingProxy(f"http://127.0.0.1:{api_port}")
    actions_proxy_port, api_proxy_port = free_port(), free_port()
    await actions_proxy.start(actions_proxy_port)
    await api_proxy.start(api_proxy_port)
    try:
        async with our_stack(
            "breakdown", folder, model=model,
            database_url=f"sqlite:///{folder / 'memberdesk.db'}",
            endpoints=lambda url: plain_endpoints(folder, url), seed_members=members,
            api_port=api_port, actions_port=actions_port,
            api_url_for_actions=f"http://127.0.0.1:{api_proxy_port}",
            actions_url_for_rasa=f"http://127.0.0.1:{actions_proxy_port}/webhook",
        ) as stack:
            assert stack.api_url is not None
            conversation = OurMembers(member_details(stack.api_url, MEMBER_NUMBERS[:20]),
                                      prefix="")
            async with aiohttp.ClientSession() as session:
                conversation.prefix = f"bench-breakdown-{os.getpid()}"
                load = Load(session, stack.rasa_urls, warmup=3, seconds=seconds, max_turns=400)
                level = await load.run(1, conversation)
            texts = ["hi", "I've moved house", "1000020", "30/12/1993", "LS11 1RG",
                     "22 Park Lane", "Leeds", "yes", "how much do I pay?",
                     "my direct debit failed", "I want to speak to a person"]
            parse_ms = await nlu_parse_ms(stack.rasa_urls[0], texts, rounds=3)
    finally:
        await actions_proxy.close()
        await api_proxy.close()

    turns, action_ms, api_ms, action_calls, api_calls, payload = [], [], [], [], [], []
    by_action: dict[str, list[float]] = {}
    for start, end in level.windows:
        actions = _within(actions_proxy.calls, start, end)
        apis = _within(api_proxy.calls, start, end)
        turns.append((end - start) * 1000)
        action_ms.append(sum(c["end"] - c["start"] for c in actions) * 1000)
        api_ms.append(sum(c["end"] - c["start"] for c in apis) * 1000)
        action_calls.append(len(actions))
        api_calls.append(len(apis))
        payload.extend(c["request_bytes"] for c in actions)
        for call in actions:
            by_action.setdefault(call["label"], []).append((call["end"] - call["start"]) * 1000)
    if not turns:
        raise RuntimeError(f"the breakdown pass measured no turns: {level.errors[:3]}")
    mean = statistics.fmean
    turn, action, api = mean(turns), mean(action_ms), mean(api_ms)
    slowest = sorted(by_action.items(), key=lambda item: -sum(item[1]))[:8]
    return {
        "turns": len(turns),
        "errors": len(level.errors),
        "error_examples": level.errors[:5],
        "turn_mean_ms": round(turn, 1),
        "rasa_own_mean_ms": round(turn - action, 1),
        "action_server_own_mean_ms": round(action - api, 1),
        "api_mean_ms": round(api, 1),
        "action_calls_per_turn": round(mean(action_calls), 2),
        "api_calls_per_turn": round(mean(api_calls), 2),
        "action_request_kb_mean": round(mean(payload) / 1024, 1) if payload else 0.0,
        "action_request_kb_max": round(max(payload) / 1024, 1) if payload else 0.0,
        "nlu_parse_median_ms": parse_ms,
        "action_reply_validation": action_reply_validation(),
        "slowest_actions": [
            {"action": name, "calls": len(times), "mean_ms": round(mean(times), 1)}
            for name, times in slowest
        ],
    }
