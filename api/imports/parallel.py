"""Validating an import's records in other processes while this one writes them.

Validation is about half of a member import's CPU and needs nothing from the database, so on
a machine with a second core it can run beside the writes. Chunks of records go to a pool of
processes and their results come back in the file's order; everything that judges the file
as a whole (duplicates, the list of bad rows, the one transaction) stays in the caller.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import TypeVar

T = TypeVar("T")
A = TypeVar("A")
R = TypeVar("R")

# Chunks waiting or in work per process: enough that a process never waits for the writer,
# few enough that a long file is never held in memory whole.
_CHUNKS_IN_FLIGHT_PER_WORKER = 2


def spare_cores() -> int:
    """Processes to validate in: every core this process may use but its own."""
    return max(0, len(os.sched_getaffinity(0)) - 1)


def _chunks(items: Iterator[T], size: int) -> Iterator[list[T]]:
    while chunk := list(islice(items, size)):
        yield chunk


def in_order(
    work: Callable[[list[T], A], R],
    items: Iterable[T],
    argument: A,
    *,
    workers: int,
    chunk_size: int,
) -> Iterator[R]:
    """`work(chunk, argument)` for each chunk of `items`, in order, done in `workers` processes.

    The first chunk is done here while the processes start, and a file of one chunk (most
    files, and every small test's) never starts them. `work` must be a module-level function
    and the chunks and results picklable.
    """
    chunks = _chunks(iter(items), chunk_size)
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None)
    if second is None:
        yield work(first, argument)
        return
    # "spawn": a fresh interpreter, so no open database connection or lock held by another
    # thread of this process is copied into the validating processes.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        pending: deque[Future[R]] = deque([pool.submit(work, second, argument)])
        for chunk in islice(chunks, workers * _CHUNKS_IN_FLIGHT_PER_WORKER - 1):
            pending.append(pool.submit(work, chunk, argument))
        yield work(first, argument)
        while pending:
            done = pending.popleft().result()
            chunk = next(chunks, None)
            if chunk is not None:
                pending.append(pool.submit(work, chunk, argument))
            yield done
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
