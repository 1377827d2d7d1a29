"""64 clients search a real server for 30 s while `newsdesk ingest` writes into the same
SQLite database: every request must succeed, and nothing may report "database is locked".

Loopback only, fixed duration. Prints throughput and latency percentiles (no timing is
asserted: machines differ).
"""

from __future__ import annotations

import asyncio
import random
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from app.config import PROJECT_ROOT
from tests.clients import bbc_plain_db, bbc_plain_template
from tests.server import Server, running_server

__all__ = ["bbc_plain_db", "bbc_plain_template"]  # fixtures used below

CLIENTS = 64
SECONDS = 30.0
WORDS = ["economy", "election", "film", "music", "mobile", "bank", "football", "minister"]
WORDS += ["oil", "court", "internet", "award", "police", "market", "chelsea", "software"]
TAGS = ["business", "entertainment", "politics", "sport", "tech"]
MARKER = "\n\n(Second copy, written by the load test.)\n"


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def search_mix(rng: random.Random) -> tuple[str, dict[str, str | int]]:
    """One request of the mix: word and phrase search, filters, facets, reads, listings."""
    word, tag = rng.choice(WORDS), rng.choice(TAGS)
    return rng.choice(
        [
            ("/articles", {"q": word}),
            ("/articles", {"q": f"{word} {rng.choice(WORDS)}", "limit": 50}),
            ("/articles", {"q": f'"{word} market"'}),
            ("/articles", {"q": f"{word[:3]}*", "tag": tag}),
            ("/articles", {"tag": tag, "facets": "language,month"}),
            ("/articles", {"q": word, "sort": "-published_at", "search_in": "title"}),
            (f"/articles/{rng.randint(1, 2000)}", {}),
            ("/sources", {}),
            ("/entities", {"limit": 50}),
        ]
    )


async def client_loop(client: httpx.AsyncClient, seed: int, until: float, tally: Tally) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        path, params = search_mix(rng)
        started = time.monotonic()
        try:
            response = await client.get(path, params=params)
        except httpx.HTTPError as error:
            tally.failures.append(f"{path} {params}: {type(error).__name__} {error}")
            continue
        tally.latencies.append(time.monotonic() - started)
        # 404 is a right answer for an id that does not exist; anything else must be 200.
        if response.status_code != 200 and not (
            response.status_code == 404 and path.startswith("/articles/")
        ):
            tally.failures.append(f"{path} {params}: {response.status_code} {response.text[:200]}")


async def load(server: Server) -> Tally:
    tally = Tally()
    until = time.monotonic() + SECONDS
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=120) as client:
        await asyncio.gather(*(client_loop(client, seed, until, tally) for seed in range(CLIENTS)))
    return tally


def marked_copy(corpus: Path, target: Path) -> Path:
    """The corpus with a line added to every article, so ingest stores each one anew."""
    shutil.copytree(corpus, target)
    for path in target.rglob("*.txt"):
        with path.open("a", encoding="utf-8") as file:
            file.write(MARKER)
    return target


def article_total(server: Server) -> int:
    total: int = httpx.get(f"{server.url}/articles", params={"limit": 1}, timeout=60).json()[
        "total"
    ]
    return total


@pytest.mark.slow
@pytest.mark.corpus
def test_searches_succeed_while_ingest_writes(
    bbc_plain_db: str, bbc_corpus: Path, tmp_path: Path
) -> None:
    copy = marked_copy(bbc_corpus, tmp_path / "corpus")
    # A starved event loop can close an idle keep-alive connection just as the client
    # reuses it (5 s default); that race is the client's to retry, not what this measures.
    keep_alive = ("--timeout-keep-alive", "120")
    with running_server(bbc_plain_db, tmp_path / "server.log", None, keep_alive) as server:
        before = article_total(server)
        ingest_log = tmp_path / "ingest.log"
        command = [sys.executable, "-m", "app.cli", "ingest", "--no-nlp", str(copy)]
        with ingest_log.open("wb") as log:
            ingest = subprocess.Popen(
                [*command, "--database-url", bbc_plain_db],
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            tally = asyncio.run(load(server))
            during = article_total(server)
            ingest.wait(timeout=900)
        finally:
            if ingest.poll() is None:
                ingest.kill()
        after = article_total(server)
        server_log = server.log()
    ingested = ingest_log.read_text(encoding="utf-8", errors="replace")

    count = len(tally.latencies)
    print(
        f"\nload: {count} requests in {SECONDS:.0f} s by {CLIENTS} clients "
        f"({count / SECONDS:.0f}/s), {len(tally.failures)} failed; latency ms "
        f"p50 {tally.percentile(0.50):.0f}, p95 {tally.percentile(0.95):.0f}, "
        f"p99 {tally.percentile(0.99):.0f}, max {max(tally.latencies) * 1000:.0f}, "
        f"mean {statistics.fmean(tally.latencies) * 1000:.0f}; articles {before} -> {during} "
        f"during the run -> {after} after; ingest: {ingested.strip().splitlines()[-1]}"
    )
    assert tally.failures == [], tally.failures[:20]
    assert count > CLIENTS
    assert ingest.returncode == 0, ingested
    assert " 0 failed" in ingested
    assert during > before  # the ingest wrote while the searches ran
    assert after > before + 2000
    for log_text in (server_log, ingested):
        assert "database is locked" not in log_text
        assert '"level": "error"' not in log_text
