"""Work spread over processes, results taken in order: the bulk path's parsing and index
building use every core while one process writes (SQLite and tantivy have one writer each).

Processes start from a fork server (a clean process, not a copy of one holding database
connections or index threads) and are sent a few tasks ahead of the one being taken, so
a file of any size is never held in memory whole.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

TASKS_AHEAD_PER_PROCESS = 2


def ordered_map(function: Callable[[T], R], tasks: Iterable[T], processes: int) -> Iterator[R]:
    """function(task) for each task, computed in `processes` processes, yielded in task
    order (in this process when `processes` is 1). `function` must be importable."""
    if processes <= 1:
        yield from map(function, tasks)
        return
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        pending: deque[Future[R]] = deque()
        for task in tasks:
            pending.append(pool.submit(function, task))
            if len(pending) > TASKS_AHEAD_PER_PROCESS * processes:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
