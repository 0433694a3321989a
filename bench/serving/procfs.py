"""Memory and CPU of the serving benchmark's processes, each with all it started (from /proc).

Only reads /proc: starting and stopping the processes is harness.processes' job.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

from harness.processes import Server


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
        except OSError:
            continue
        found.extend(int(child) for child in text.split())
    return found


def process_tree(pid: int) -> Iterator[int]:
    """A process and all its descendants, each once (from /proc)."""
    pending, seen = [pid], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        yield current
        pending.extend(_children(current))


def tree_rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory of a process and all its descendants, in MB (from /proc): all of it,
    and the anonymous (private) part, which is what each further replica would add."""
    total_kb, anon_kb = 0, 0
    for current in process_tree(pid):
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
                elif line.startswith("RssAnon:"):
                    anon_kb += int(line.split()[1])
        except OSError:
            continue
    return round(total_kb / 1024, 1), round(anon_kb / 1024, 1)


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process and its descendants have used so far (from
    /proc). Unlike a turn's wall time, it hardly changes when other work shares the cores."""
    ticks = 0
    for current in process_tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class MemoryWatch:
    """Keeps the peak resident memory of each process, sampled while it is asked to."""

    def __init__(self, processes: list[Server]) -> None:
        self.processes = processes
        self.peak: dict[str, float] = {p.name: 0.0 for p in processes}
        self.peak_anon: dict[str, float] = {p.name: 0.0 for p in processes}
        self.peak_total = 0.0
        self.after_ready: dict[str, float] = {}

    def sample(self) -> None:
        sampled = {p.name: tree_rss_mb(p.popen.pid) for p in self.processes}
        now = {name: rss for name, (rss, _anon) in sampled.items()}
        for name, (rss, anon) in sampled.items():
            self.peak[name] = max(self.peak[name], rss)
            self.peak_anon[name] = max(self.peak_anon[name], anon)
        self.peak_total = max(self.peak_total, round(sum(now.values()), 1))
        if not self.after_ready:
            self.after_ready = now

    @asynccontextmanager
    async def watching(self, every: float = 0.5) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                self.sample()
                await asyncio.sleep(every)

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            self.sample()
