"""Memory gates (app/api/gates.py): heavy jobs of a kind run a few at a time per event loop."""

from __future__ import annotations

import asyncio
import threading
import time

from app.api.gates import memory_gate


def test_a_gate_runs_at_most_its_size_at_once_and_every_job_gets_its_answer() -> None:
    running = 0
    most = 0
    lock = threading.Lock()

    def work(number: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return number * number

    async def burst() -> list[int]:
        gate = memory_gate("test-burst", 2)

        async def one(number: int) -> int:
            async with gate.job():
                return await gate.run(work, number)

        return await asyncio.gather(*(one(n) for n in range(8)))

    assert asyncio.run(burst()) == [n * n for n in range(8)]
    assert most == 2


def test_each_kind_and_each_event_loop_has_its_own_gate() -> None:
    async def gates() -> tuple[object, object, object]:
        return memory_gate("a", 1), memory_gate("a", 1), memory_gate("b", 1)

    first_a, same_a, b = asyncio.run(gates())
    assert first_a is same_a
    assert b is not first_a
    other_loop_a, _, _ = asyncio.run(gates())
    assert other_loop_a is not first_a
