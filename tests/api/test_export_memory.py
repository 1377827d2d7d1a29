"""16 concurrent full exports (CSV and JSON lines) of the BBC corpus through a real server:
every export complete, the server's memory under twice its idle size, and back near it after.

RSS is read from /proc/<pid>/status (VmRSS), so the test runs on Linux only.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.clients import bbc_plain_db, bbc_plain_template
from tests.server import Server, running_server

__all__ = ["bbc_plain_db", "bbc_plain_template"]  # fixtures used below

EXPORTS = 16


def rss_mb(pid: int) -> float:
    """The process's resident memory in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def export_rows(server: Server, fmt: str) -> tuple[int, int]:
    """Stream one full export, parse it as it comes; (rows read, X-Total-Count)."""
    params = {"format": fmt}
    with httpx.stream("GET", f"{server.url}/articles", params=params, timeout=120) as response:
        assert response.status_code == 200, response.read()
        total = int(response.headers["x-total-count"])
        if fmt == "jsonl":
            rows = sum(1 for line in response.iter_lines() if json.loads(line)["id"])
        else:
            text = "".join(response.iter_text())
            rows = sum(1 for _ in csv.DictReader(io.StringIO(text, newline="")))
    return rows, total


class PeakRss:
    """Samples a process's RSS every 20 ms in a thread, keeping the highest."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.running = pid, rss_mb(pid), True
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.running = False
        self.thread.join()


def warm_up_pool(server: Server) -> None:
    """EXPORTS concurrent searches, each reading through the articles on a connection."""

    def search() -> None:
        params = {"q": "the", "limit": 100, "sort": "-published_at", "facets": "month"}
        httpx.get(f"{server.url}/articles", params=params, timeout=60).raise_for_status()

    threads = [threading.Thread(target=search) for _ in range(EXPORTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


def settled_rss(pid: int, seconds: float = 3.0) -> float:
    """RSS once the server had a moment to finish what the last export left."""
    time.sleep(seconds)
    return rss_mb(pid)


@pytest.mark.slow
@pytest.mark.corpus
def test_concurrent_full_exports_keep_memory_bounded(bbc_plain_db: str, tmp_path: Path) -> None:
    with running_server(bbc_plain_db, tmp_path / "server.log") as server:
        # Warm up: imports, caches and the pool's connections are part of idle. The pool
        # keeps the connections concurrent requests opened (each with SQLite's page cache),
        # so idle is measured after as many concurrent ordinary requests.
        for fmt in ("csv", "jsonl"):
            rows, total = export_rows(server, fmt)
            assert rows == total > 2000
        warm_up_pool(server)
        idle = settled_rss(server.pid, 1.0)

        results: list[tuple[str, int, int]] = []
        errors: list[BaseException] = []

        def run(fmt: str) -> None:
            try:
                results.append((fmt, *export_rows(server, fmt)))
            except BaseException as error:  # reported below, not lost in the thread
                errors.append(error)

        threads = [
            threading.Thread(target=run, args=("csv" if n % 2 else "jsonl",))
            for n in range(EXPORTS)
        ]
        with PeakRss(server.pid) as peak:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
        after = settled_rss(server.pid)

    print(
        f"\nRSS MB: idle {idle:.0f}, peak {peak.peak:.0f} during {EXPORTS} exports, "
        f"after {after:.0f}"
    )
    assert errors == []
    assert len(results) == EXPORTS
    assert all(rows == total for _, rows, total in results), results
    assert peak.peak < 2 * idle
    # malloc keeps some holes: near idle, not byte for byte.
    assert after < 1.25 * idle
