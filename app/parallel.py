"""Work spread over processes, results taken in order: the bulk path's parsing and index
building use every core while one process writes (SQLite and tantivy have one writer each).

Workers are spawned (clean processes, not copies of one holding database connections or
index threads, and children of this one, so their CPU time is counted as its children's),
once per command, and are sent a few tasks ahead of the one being taken, so a file of any
size is never held in memory whole.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

PARENT_CHECK_SECONDS = 0.5
TASKS_AHEAD = 6  # tasks sent before the first result is taken: every worker kept busy


@contextmanager
def worker_pool(processes: int) -> Iterator[Executor | None]:
    """`processes` worker processes for ordered_map; None (work done here) for one."""
    if processes <= 1:
        yield None
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        processes, mp_context=context, initializer=_exit_with, initargs=(os.getpid(),)
    ) as pool:
        yield pool


def _exit_with(parent: int) -> None:
    """In a worker: end when the parent does (killed, it can't shut its pool down, and the
    workers would wait for tasks forever)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def ordered_map(
    function: Callable[[T], R], tasks: Iterable[T], pool: Executor | None
) -> Iterator[R]:
    """function(task) for each task, computed in the pool's processes (in this one without
    a pool), yielded in task order. `function` must be importable."""
    if pool is None:
        yield from map(function, tasks)
        return
    pending: deque[Future[R]] = deque()
    for task in tasks:
        pending.append(pool.submit(function, task))
        if len(pending) > TASKS_AHEAD:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
