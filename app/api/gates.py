"""Gates for memory-heavy work: a few jobs of a kind at a time per server process.

A CSV export's batch or a significant-terms answer builds tens of megabytes of Python
objects. Run 32 at once and a worker's heap grows to hold all of them, and glibc keeps that
memory after they are freed. On a couple of cores they would not finish sooner together, so
each kind runs `size` at a time; the others wait on the event loop, without holding a
thread, and when the last job of a kind ends its freed memory goes back to the system.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


class MemoryGate:
    """Lets `size` jobs of one kind and one event loop run at a time."""

    def __init__(self, size: int) -> None:
        self.turns = asyncio.Semaphore(size)
        self.running = 0

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` in a worker thread, once a turn is free."""
        async with self.turns:
            return await run_in_threadpool(function, *args)

    @asynccontextmanager
    async def job(self) -> AsyncIterator[None]:
        """One job, which may take several turns (an export's batches)."""
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            if self.running == 0:
                await run_in_threadpool(release_free_memory)


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, MemoryGate]] = (
    weakref.WeakKeyDictionary()
)


def memory_gate(kind: str, size: int) -> MemoryGate:
    """The gate of this kind of job in the running event loop (one per server process)."""
    gates = _gates.setdefault(asyncio.get_running_loop(), {})
    gate = gates.get(kind)
    if gate is None:
        gate = gates[kind] = MemoryGate(size)
    return gate


def release_free_memory() -> None:
    """Hand freed memory back to the system (glibc keeps it otherwise: objects built on
    many threads leave free holes in its heaps)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


_LIBC = _glibc()
