"""Simulated members for the serving benchmark: whole conversations through Rasa's REST channel.

Each member holds one conversation after another under its own sender id, with no pause
between turns (closed loop), and every reply is checked, so that a broken stack cannot look
fast. Levels of concurrency are measured in blocks, alternating between the stacks up at once.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import aiohttp
import httpx

from bench.serving.stacks import Stack, stack_cpu_seconds
from tests.bot.servers import REST_HEADERS

# The demo staff users' password (api.seed.demo): the benchmark runs on the demo organisation.
DEFAULT_STAFF_PASSWORD = "memberdesk-demo-password"  # noqa: S105

# Demo members the conversations use: the README's active members and the seeded ones after
# them. 1000003 is lapsed, so its journey is a different one.
MEMBER_NUMBERS = ["1000001", "1000002", "1000004", "1000005"] + [
    str(number) for number in range(1000006, 1000126)
]
NEW_ADDRESSES = [
    ("Leeds", "LS2 9JT", "Park Lane"),
    ("York", "YO1 7HH", "Mill Lane"),
    ("Hull", "HU1 1AA", "Quay Street"),
    ("Sheffield", "S1 2HE", "Division Street"),
    ("Bradford", "BD1 1HY", "Castle Road"),
    ("Manchester", "M1 1AE", "Piccadilly"),
]
# actions/payments.py: the member's last failed collection, or that there is none.
FAILED_PAYMENT_ANSWERS = ("wasn't collected", "can't see any failed payments")


class TurnFailed(Exception):
    """A reply that does not make sense for the turn, or no reply at all."""


class StopLoad(Exception):
    """The level's time or turn budget is spent."""


def member_details(api_url: str, numbers: list[str]) -> list[dict[str, str]]:
    """Membership number, date of birth and postcode of each member, from the API.

    Read as a demo data-team user: the service token reaches no member's record.
    """
    found = []
    signed_in = httpx.post(f"{api_url}/api/v1/staff/sign-in", timeout=30,
                           json={"username": "dana.data", "password": DEFAULT_STAFF_PASSWORD})
    signed_in.raise_for_status()
    staff_token = signed_in.json()["token"]
    with httpx.Client(base_url=f"{api_url}/api/v1", timeout=30,
                      headers={"Authorization": f"Bearer {staff_token}"}) as client:
        for number in numbers:
            reply = client.get(f"/members/{number}")
            if reply.status_code != 200:
                continue
            record = reply.json()
            if record.get("status") not in (None, "active", "grace"):
                continue
            found.append({
                "number": number,
                "born": date.fromisoformat(record["date_of_birth"]).strftime("%d/%m/%Y"),
                "postcode": record["postcode"],
            })
    if not found:
        raise RuntimeError("the API returned none of the demo members")
    return found


@dataclass
class Level:
    """What one concurrency level measured."""

    latencies: list[float] = field(default_factory=list)
    turns_started: int = 0
    conversations_done: int = 0
    errors: list[str] = field(default_factory=list)
    windows: list[tuple[float, float]] = field(default_factory=list)


Say = Callable[[str, tuple[str, ...]], Awaitable[str]]


class Load:
    """Simulated members, each a loop of conversations, for one concurrency level."""

    def __init__(self, session: aiohttp.ClientSession, rasa_urls: list[str], *, warmup: float,
                 seconds: float, max_turns: int, give_up_after: int | None = 20,
                 think_seconds: tuple[float, float] | None = None) -> None:
        self.session = session
        # With several replicas, consecutive turns of one conversation go to different ones:
        # they share the conversation through the tracker store and the lock store.
        self.urls = [f"{url}/webhooks/rest/webhook" for url in rasa_urls]
        now = time.monotonic()
        self.window_start = now + warmup
        self.deadline = self.window_start + seconds
        self.max_turns = max_turns
        # A broken stack stops the level early; a soak counts every failure instead (None).
        self.give_up_after = give_up_after
        # A member reading the answer and typing the next message (None: no pause at all).
        self.think_seconds = think_seconds
        self.level = Level()

    def speaker(self, sender: str) -> Say:
        turns_said = [0]

        async def say(text: str, expect: tuple[str, ...]) -> str:
            if time.monotonic() >= self.deadline or self.level.turns_started >= self.max_turns:
                raise StopLoad
            self.level.turns_started += 1
            url = self.urls[turns_said[0] % len(self.urls)]
            turns_said[0] += 1
            start = time.monotonic()
            try:
                async with self.session.post(
                    url, json={"sender": sender, "message": text}, headers=REST_HEADERS,
                    timeout=aiohttp.ClientTimeout(total=60),
                ) as reply:
                    status = reply.status
                    body = await reply.json(content_type=None) if status == 200 else None
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise TurnFailed(f"{sender}: {text!r}: {exc.__class__.__name__}") from exc
            end = time.monotonic()
            if self.window_start <= end <= self.deadline:
                self.level.latencies.append(end - start)
                self.level.windows.append((start, end))
            if status != 200 or not isinstance(body, list):
                raise TurnFailed(f"{sender}: {text!r}: HTTP {status}")
            answer = "\n".join(str(message.get("text") or "") for message in body)
            if not any(wanted in answer for wanted in expect):
                raise TurnFailed(f"{sender}: {text!r}: expected one of {list(expect)}, "
                                 f"got {answer[:300]!r}")
            if self.think_seconds:
                await asyncio.sleep(random.uniform(*self.think_seconds))  # noqa: S311
            return answer

        return say

    async def run(self, concurrency: int,
                  conversation: Callable[[Say, int], Awaitable[None]]) -> Level:
        counter = iter(range(10**9))

        async def member(slot: int) -> None:
            while time.monotonic() < self.deadline and self.level.turns_started < self.max_turns:
                number = next(counter)
                try:
                    await conversation(self.speaker, number)
                    self.level.conversations_done += 1
                except StopLoad:
                    return
                except TurnFailed as exc:
                    self.level.errors.append(str(exc))
                    limit = self.give_up_after
                    if limit is not None and len(self.level.errors) > limit:
                        return

        budget = self.deadline - time.monotonic() + 90
        await asyncio.wait_for(asyncio.gather(*(member(s) for s in range(concurrency))),
                               timeout=budget)
        return self.level


class OurMembers:
    """Our conversation scripts, each with a demo member no other conversation is using."""

    def __init__(self, members: list[dict[str, str]], prefix: str) -> None:
        self.free: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        for member in members:
            self.free.put_nowait(member)
        self.prefix = prefix
        self.journeys: Counter[str] = Counter()

    async def __call__(self, speaker: Callable[[str], Say], number: int) -> None:
        member = await self.free.get()
        say = speaker(f"{self.prefix}-{number}")
        try:
            if number % 2 == 0:
                self.journeys["moves house, then payments, then a person"] += 1
                await self.moves_house(say, member, number)
            else:
                self.journeys["asks what they pay, then payments, then a person"] += 1
                await self.asks_what_they_pay(say, member)
        finally:
            self.free.put_nowait(member)

    @staticmethod
    async def verify(say: Say, member: dict[str, str], then: tuple[str, ...]) -> str:
        await say(member["number"], ("date of birth",))
        await say(member["born"], ("postcode",))
        answer = await say(member["postcode"], ("You're verified",))
        if not any(wanted in answer for wanted in then):
            raise TurnFailed(f"after verification expected {list(then)}, got {answer[:300]!r}")
        return answer

    @staticmethod
    async def payments_and_a_person(say: Say) -> None:
        await say("my direct debit failed", FAILED_PAYMENT_ANSWERS)
        await say("I want to speak to a person", ("Your reference is CASE-",))

    async def moves_house(self, say: Say, member: dict[str, str], number: int) -> None:
        town, postcode, street = NEW_ADDRESSES[number % len(NEW_ADDRESSES)]
        await say("hi", ("Hello!",))
        await say("I've moved house", ("check who you are",))
        await self.verify(say, member, then=("new address",))
        await say(f"{number % 180 + 2} {street}", ("Which town",))
        await say(town, ("new postcode",))
        await say(postcode, ("Shall I update your record?",))
        await say("yes", ("Done: your address is now",))
        # Their next identity check uses the postcode they have now.
        member["postcode"] = postcode
        await say("how much do I pay?", ("You pay",))
        await self.payments_and_a_person(say)

    async def asks_what_they_pay(self, say: Say, member: dict[str, str]) -> None:
        await say("hello", ("Hello!",))
        await say("how much do I pay", ("check who you are",))
        await self.verify(say, member, then=("You pay",))
        await self.payments_and_a_person(say)


class StockMembers:
    """The `rasa init` bot's own conversations: greet, a mood, goodbye."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.journeys: Counter[str] = Counter()

    async def __call__(self, speaker: Callable[[str], Say], number: int) -> None:
        say = speaker(f"{self.prefix}-{number}")
        await say("hi" if number % 2 else "hello", ("Hey! How are you?",))
        if number % 2 == 0:
            self.journeys["greet, mood_great, goodbye"] += 1
            await say("I am feeling great", ("Great, carry on!",))
        else:
            self.journeys["greet, mood_unhappy, affirm, goodbye"] += 1
            await say("I am sad", ("Did that help you?",))
            await say("yes", ("Great, carry on!",))
        await say("bye", ("Bye",))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(0, math.ceil(share * len(ordered)) - 1)
    return ordered[rank]


def summarise(level: Level, seconds: float, concurrency: int) -> dict[str, Any]:
    ms = [value * 1000 for value in level.latencies]
    return {
        "concurrency": concurrency,
        "seconds": round(seconds, 1),
        "turns": len(ms),
        "turns_per_second": round(len(ms) / seconds, 2) if seconds else 0.0,
        "p50_ms": round(percentile(ms, 0.50), 1),
        "p95_ms": round(percentile(ms, 0.95), 1),
        "p99_ms": round(percentile(ms, 0.99), 1),
        "mean_ms": round(statistics.fmean(ms), 1) if ms else math.nan,
        "max_ms": round(max(ms), 1) if ms else math.nan,
        "conversations_completed": level.conversations_done,
        "errors": len(level.errors),
        "error_examples": level.errors[:5],
    }


async def load_levels(runs: list[tuple[Stack, OurMembers | StockMembers]], levels: list[int],
                      *, warmup: float, seconds: float, max_turns: int,
                      rounds: int = 1) -> dict[str, dict[str, Any]]:
    """Each concurrency level in turn, on each stack, with their memory sampled throughout.

    With several stacks up at once (ours and stock), each level is measured in `rounds`
    blocks per stack, alternating which goes first, so that other work on a shared machine
    weighs on both alike.
    """
    merged: dict[tuple[str, int], Level] = {}
    measured: dict[tuple[str, int], float] = {}
    cpu_used: dict[tuple[str, int], Counter[str]] = {}
    load_average: dict[tuple[str, int], list[float]] = {}
    connector = aiohttp.TCPConnector(limit=0)
    async with AsyncExitStack() as watching:
        session = await watching.enter_async_context(aiohttp.ClientSession(connector=connector))
        for stack, _conversation in runs:
            await watching.enter_async_context(stack.memory.watching())
        for concurrency in levels:
            for block in range(rounds):
                order = runs if block % 2 == 0 else runs[::-1]
                for stack, conversation in order:
                    key = (stack.name, concurrency)
                    conversation.prefix = (f"bench-{stack.name}-{concurrency}-{block}-"
                                           f"{os.getpid()}")
                    load_average.setdefault(key, []).append(round(os.getloadavg()[0], 2))
                    load = Load(session, stack.rasa_urls, warmup=warmup, seconds=seconds,
                                max_turns=max_turns)
                    cpu_before = stack_cpu_seconds(stack)
                    level = await load.run(concurrency, conversation)
                    cpu_after = stack_cpu_seconds(stack)
                    used = cpu_used.setdefault(key, Counter())
                    for process_name, seconds_used in cpu_after.items():
                        used[process_name] += seconds_used - cpu_before.get(process_name, 0.0)
                    spent = min(seconds, max(0.001, time.monotonic() - load.window_start))
                    measured[key] = measured.get(key, 0.0) + spent
                    total = merged.setdefault(key, Level())
                    total.latencies += level.latencies
                    total.windows += level.windows
                    total.errors += level.errors
                    total.turns_started += level.turns_started
                    total.conversations_done += level.conversations_done
            for stack, _conversation in runs:
                key = (stack.name, concurrency)
                shown = summarise(merged[key], measured[key], concurrency)
                print(f"  {stack.name} x{concurrency}: {shown['turns_per_second']} turns/s, "
                      f"p50 {shown['p50_ms']} / p95 {shown['p95_ms']} / p99 {shown['p99_ms']} "
                      f"ms, {shown['errors']} errors", flush=True)
    results: dict[str, dict[str, Any]] = {}
    for (name, concurrency), level in merged.items():
        summary = summarise(level, measured[(name, concurrency)], concurrency)
        summary["load_average_1min"] = load_average[(name, concurrency)]
        # Every turn of the blocks, warm-up included, against the CPU the blocks used.
        started = max(1, level.turns_started)
        summary["cpu_ms_per_turn_by_process"] = {
            process_name: round(used * 1000 / started, 1)
            for process_name, used in sorted(cpu_used[(name, concurrency)].items())
        }
        results.setdefault(name, {})[str(concurrency)] = summary
    return results


def describe_stack(stack: Stack, model_mb: float) -> dict[str, Any]:
    return {
        "ready_seconds": max(stack.ready.values()),
        "ready_seconds_by_process": stack.ready,
        "rss_mb_after_ready": stack.memory.after_ready,
        "rss_mb_after_ready_total": round(sum(stack.memory.after_ready.values()), 1),
        "rss_mb_peak_by_process": stack.memory.peak,
        "rss_mb_peak_total": stack.memory.peak_total,
        "rss_anon_mb_peak_by_process": stack.memory.peak_anon,
        "model_mb": model_mb,
        **stack.extra,
    }
