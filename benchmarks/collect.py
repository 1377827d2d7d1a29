"""The collection benchmark: `newsdesk collect` rounds against a local server of many hosts.

A server process (`--serve`) stands for SOURCES hosts, one port each; each host has an RSS
feed of its newest ITEMS articles, made from the BBC corpus by newspages.py (every article
unique: a story's text followed by part of another's). This process is the collector: one
round collects every article, with entity recognition, then each further round finds NEW
more articles per host. Measured: articles per second end to end, where the time goes
(politeness waits, extraction, recognition, storing), and the collector's memory (RSS) after
each round, which must not grow with the rounds. The result goes to
benchmarks/results/collect.json and the "Collection" section of BENCHMARKS.md.

Run: .venv/bin/python benchmarks/collect.py [--sources 50] [--items 100] [--rounds 4]
     [--new 5] [--delay 0.05]          (`make bench-collect`; `make bench` runs it too)

`--memory` runs many small rounds instead (5 hosts x 40 articles, then 8 rounds of 10 new
articles per host, a few minutes): RSS, spaCy's string count and Python's object count after
each round, with `--trace` the largest tracemalloc growths between rounds. Its result goes to
benchmarks/results/collect-memory.json and the "Memory over many rounds" part of the section.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import newspages  # noqa: E402

from app.collect.rounds import Collector  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
RESULT = RESULTS / "collect.json"
MEMORY_RESULT = RESULTS / "collect-memory.json"
OUT = ROOT / "BENCHMARKS.md"
SECTION = "## Collection"
MEMORY_PART = "### Memory over many rounds"
FIRST_DAY = datetime(2024, 1, 1, tzinfo=UTC)
# RSS growth per later round above which the report says memory is not shown bounded.
GROWTH_NOTED_MIB = 5.0
DEFAULTS = {"sources": 50, "items": 100, "rounds": 4, "new": 5}
MEMORY_DEFAULTS = {"sources": 5, "items": 40, "rounds": 8, "new": 10}


# The server (its own process, so its memory and threads are not the collector's) ------------


def all_stories() -> list[newspages.Story]:
    configured = os.environ.get("NEWSDESK_BBC_CORPUS")
    corpus = Path(configured) if configured else ROOT.parent / "shared" / "corpus" / "bbc"
    if not corpus.is_dir():
        sys.exit(f"BBC corpus not found at {corpus}: set NEWSDESK_BBC_CORPUS")
    stories = []
    for folder in sorted(p for p in corpus.iterdir() if p.is_dir()):
        count = len(list(folder.glob("*.txt")))
        stories += newspages.load_stories(corpus, folder.name, count)
    return stories


class Newsroom:
    """Every host's articles: item i of host h is a corpus story and part of another."""

    def __init__(self, hosts: int, items: int) -> None:
        self.stories = all_stories()
        self.hosts, self.published = hosts, items
        self.lock = threading.Lock()

    def story(self, host: int, item: int) -> newspages.Story:
        """Host h's item i (unique for i < 1000)."""
        count = len(self.stories)
        number = host * 1000 + item
        # Past the corpus's size a story comes back with another story's paragraphs: a new
        # text (a near-duplicate of the first), as syndicated copies are.
        turn, index = divmod(number, count)
        main, other = self.stories[index], self.stories[(index + 1 + turn) % count]
        return replace(
            main,
            slug=f"h{host}-{item}",
            paragraphs=main.paragraphs + other.paragraphs[1:3],
            published=FIRST_DAY + timedelta(hours=item),
        )

    def feed(self, host: int, base: str, newest: int) -> bytes:
        with self.lock:
            last = self.published
        items = [self.story(host, i) for i in range(last - 1, max(last - newest, 0) - 1, -1)]
        return newspages.rss2(items, base=base).encode()


def serve(hosts: int, items: int) -> None:
    """Serve `hosts` hosts on 127.0.0.1 until stdin closes; print their ports as JSON.
    GET /publish?count=N on any host publishes N more articles on every host."""
    newsroom = Newsroom(hosts, items)
    servers = []
    for host in range(hosts):
        servers.append(ThreadingHTTPServer(("127.0.0.1", 0), _handler(newsroom, host, items)))
        servers[-1].daemon_threads = True
        threading.Thread(target=servers[-1].serve_forever, daemon=True).start()
    print(json.dumps([server.server_address[1] for server in servers]), flush=True)
    sys.stdin.read()


def _handler(newsroom: Newsroom, host: int, newest: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            status, kind, body = 200, "text/html; charset=utf-8", b""
            if self.path == "/rss":
                kind, body = "application/rss+xml", newsroom.feed(host, base, newest)
            elif self.path == "/robots.txt":
                kind, body = "text/plain", b"User-agent: *\nDisallow: /private/\n"
            elif self.path.startswith("/publish?count="):
                with newsroom.lock:
                    newsroom.published += int(self.path.split("=", 1)[1])
            elif match := re.fullmatch(r"/news/h(\d+)-(\d+)", self.path):
                story = newsroom.story(int(match[1]), int(match[2]))
                body = newspages.article_page(story).encode()
            else:
                status, body = 404, b"not found"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


# The collector (this process) --------------------------------------------------------------


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


_last_snapshot: tracemalloc.Snapshot | None = None


def memory_counts(recognizer: Any) -> dict[str, int]:
    """What could grow with the rounds besides RSS: spaCy's strings, Python's objects."""
    gc.collect()
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {
        "vocab_strings": len(recognizer.nlp.vocab.strings),
        "gc_objects": len(gc.get_objects()),
        # Anonymous memory (the heap: Python, spaCy, tantivy's writer) apart from file pages
        # (the mmapped index and libraries), which the kernel can drop and re-read.
        "rss_anon_mib": int(status.get("RssAnon", "0 kB").split()[0]) / 1024,
        "rss_file_mib": int(status.get("RssFile", "0 kB").split()[0]) / 1024,
    }


def print_growth(number: int, top: int = 12) -> None:
    """The allocation sites that grew most since the previous round (to stderr)."""
    global _last_snapshot
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    if _last_snapshot is not None:
        print(f"-- round {number + 1}: tracemalloc growth since round {number}", file=sys.stderr)
        for stat in snapshot.compare_to(_last_snapshot, "traceback")[:top]:
            frames = " <- ".join(f"{f.filename}:{f.lineno}" for f in stat.traceback[:4])
            print(
                f"{stat.size_diff / 1024:+9.0f} KiB {stat.count_diff:+7d}  {frames}",
                file=sys.stderr,
            )
    _last_snapshot = snapshot


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Start the server, add its feeds, run the rounds; the figures."""
    import httpx
    from sqlalchemy import update
    from sqlmodel import Session

    from app.collect.fetch import Fetcher
    from app.collect.sources import add_source
    from app.config import get_settings
    from app.db import create_db_engine, upgrade_database
    from app.ingest.entities.recognition import EntityRecognizer
    from app.ingest.read.readers import read_page
    from app.models import CollectionSource

    hosts = ["--sources", str(args.sources), "--items", str(args.items)]
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", *hosts],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    ports = json.loads(server.stdout.readline())
    folder = Path(tempfile.mkdtemp(prefix="newsdesk-collect-bench-"))
    settings = get_settings().model_copy(
        update={
            "database_url": f"sqlite:///{folder / 'collect.db'}",
            "data_dir": folder,
            "collect_host_delay_seconds": args.delay,
            "collect_allow_private": True,  # the hosts are ports of 127.0.0.1
            "collect_max_items": args.items + args.new,
        }
    )
    upgrade_database(settings.database_url)
    engine = create_db_engine(settings, writer=True)
    fetcher = Fetcher(settings)
    with Session(engine) as session:
        for port in ports:
            add_source(session, fetcher, f"http://127.0.0.1:{port}/rss", interval_seconds=3600)
        session.commit()
    fetcher.close()
    recognizer = TimedRecognizer(EntityRecognizer())
    # Warm-up outside the figures: the first page read and the first recognition load their
    # libraries and models.
    read_page(newspages.article_page(all_stories()[0]), "http://127.0.0.1/news/sample")
    recognizer.recognize([("Warm-up", "Tony Blair spoke in London on Monday.")])
    recognizer.seconds = 0.0
    collector = TimedCollector(engine, settings, recognizer)  # type: ignore[arg-type]  # duck-typed timer
    rounds = []
    load_before = os.getloadavg()
    if args.trace:
        tracemalloc.start(10)
    try:
        for number in range(args.rounds):
            if number:
                httpx.get(f"http://127.0.0.1:{ports[0]}/publish?count={args.new}")
            with Session(engine) as session:
                session.execute(update(CollectionSource).values(next_fetch_at=None))
                session.commit()
            rounds.append(one_round(collector, recognizer))
            rounds[-1].update(memory_counts(recognizer.inner))
            print(json.dumps(rounds[-1]), flush=True)
            if args.trace:
                print_growth(number)
    finally:
        collector.close()
        engine.dispose()
        server.stdin.close()
        server.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    from report import machine  # the query benchmark's own descriptions
    from run import code_version

    return {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "commit": code_version(),
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "sources": args.sources,
        "items": args.items,
        "new_per_round": args.new,
        "host_delay_seconds": args.delay,
        "concurrency": settings.collect_concurrency,
        "rounds": rounds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "command": "benchmarks/collect.py " + " ".join(sys.argv[1:]),
        "traced": args.trace,
    }


class TimedRecognizer:
    """The recognizer, timed: seconds spent recognising (the collector's main thread)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.seconds = inner, 0.0

    def recognize(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed(self.inner.recognize, *args, **kwargs)

    def analyse(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed(self.inner.analyse, *args, **kwargs)

    def _timed(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


class TimedCollector(Collector):
    """A collector that times storing each source's articles (recognition included)."""

    store_seconds = 0.0

    def _store(self, *args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        try:
            super()._store(*args, **kwargs)
        finally:
            self.store_seconds += time.perf_counter() - started


def one_round(collector: TimedCollector, recognizer: TimedRecognizer) -> dict[str, Any]:
    metrics = collector.metrics.registry
    before = {
        "politeness": metrics.get_sample_value("newsdesk_collect_politeness_wait_seconds_total"),
        "extract": metrics.get_sample_value("newsdesk_collect_extract_seconds_total"),
        "recognise": recognizer.seconds,
        "store": collector.store_seconds,
    }
    report = collector.run_round()
    after = {
        "politeness": metrics.get_sample_value("newsdesk_collect_politeness_wait_seconds_total"),
        "extract": metrics.get_sample_value("newsdesk_collect_extract_seconds_total"),
        "recognise": recognizer.seconds,
        "store": collector.store_seconds,
    }
    spent = {name: (after[name] or 0.0) - (before[name] or 0.0) for name in before}
    spent["store"] -= spent["recognise"]  # storing, recognition apart
    return {
        "added": report.added,
        "failed": len(report.failures),
        "skipped": len(report.skipped),
        "seconds": report.seconds,
        "articles_per_second": report.added / report.seconds if report.seconds else 0.0,
        "spent": spent,
        "rss_mib": rss_mib(),
    }


# The report ---------------------------------------------------------------------------------


def section(result: dict[str, Any] | None = None) -> list[str]:
    """BENCHMARKS.md's Collection section from the result file (or as it stands there)."""
    if result is None and RESULT.is_file():
        result = json.loads(RESULT.read_text())
    if result is None:
        return _section_in(OUT.read_text()) if OUT.is_file() else []
    first, later = result["rounds"][0], result["rounds"][1:]
    seconds = first["seconds"]
    spent = first["spent"]
    lines = [
        SECTION,
        "",
        f"`{result['command']}` (`make bench-collect`), {result['date']}, commit "
        f"{result['commit']}; {result['machine']}; 1-minute load average "
        f"{result['load_average_before'][0]:.1f} before, {result['load_average_after'][0]:.1f} "
        "after (the machine is shared).",
        "",
        f"A local server (its own process) stands for {result['sources']} hosts, one port each, "
        f"each with an RSS feed of {result['items']} articles made from the BBC corpus (past "
        "its 2,225 stories, a story with two paragraphs of another: near-duplicates, as "
        "syndicated copies are). The "
        "collector runs in the benchmark's process, on SQLite with the tantivy index, entity "
        f"recognition on, {result['concurrency']} requests in flight, and a per-host delay of "
        f"{result['host_delay_seconds']:g} s (the default is 1 s: with it one host's "
        f"{result['items']} pages alone take {result['items']} s; many hosts and a small delay "
        "measure the collector, not the wait).",
        "",
        "| round | articles added | seconds | articles/s | RSS after (MiB) |",
        "|---|---|---|---|---|",
    ]
    for number, run in enumerate(result["rounds"], 1):
        lines.append(
            f"| {number} | {run['added']:,} | {run['seconds']:.1f} | "
            f"{run['articles_per_second']:.1f} | {run['rss_mib']:.0f} |"
        )
    lines += [
        "",
        f"Where the first round's {seconds:.1f} s went (fetching and extraction run in the "
        "worker threads while the main thread recognises and stores, so the shares overlap "
        "and do not add up to 100%):",
        "",
        "| activity | seconds | share of the round |",
        "|---|---|---|",
    ]
    names = {
        "politeness": "waiting on politeness (per-host delay, summed over threads)",
        "extract": "extracting pages (summed over threads)",
        "recognise": "recognising entities (main thread)",
        "store": "storing articles and the index, recognition apart (main thread)",
    }
    for key, label in names.items():
        lines.append(f"| {label} | {spent[key]:.1f} | {spent[key] / seconds:.0%} |")
    main_thread = (spent["recognise"] + spent["store"]) / seconds
    lines += [
        "",
        f"The main thread was busy {main_thread:.0%} of the round recognising and storing, "
        "one source's articles after another: collection "
        "is bound by recognition and storing, not by fetching or politeness.",
    ]
    if later:
        growth = later[-1]["rss_mib"] - later[0]["rss_mib"]
        lines += [
            "",
            f"Memory: RSS {first['rss_mib']:.0f} MiB after the first round, then "
            + ", ".join(f"{run['rss_mib']:.0f}" for run in later)
            + f" MiB after each next one ({growth:+.0f} MiB from the second round to the last; "
            f"peak {result['peak_rss_mib']:.0f} MiB).",
        ]
        per_round = growth / max(len(later) - 1, 1)
        if per_round > GROWTH_NOTED_MIB:
            lines[-1] += (
                f" It still grew by about {per_round:.0f} MiB a round of "
                f"{later[-1]['added']:,} articles: a bound is not shown by these rounds."
            )
        else:
            lines[-1] += " No growth with the number of rounds."
    return lines


def memory_part(result: dict[str, Any]) -> list[str]:
    """The many-rounds part of the Collection section: memory after each round."""
    lines = [
        MEMORY_PART,
        "",
        f"`{result['command']}`, {result['date']}, commit {result['commit']}; 1-minute load "
        f"average {result['load_average_before'][0]:.1f} before, "
        f"{result['load_average_after'][0]:.1f} after"
        + (" (tracemalloc on: slower, more memory)" if result.get("traced") else "")
        + f". {result['sources']} hosts of {result['items']} articles, then "
        f"{result['new_per_round']} new articles per host each round; after each round the "
        "collector's RSS, the strings in spaCy's StringStore and the objects the garbage "
        "collector tracks (after a collection).",
        "",
        "| round | articles added | seconds | RSS after (MiB) | spaCy strings | Python objects |",
        "|---|---|---|---|---|---|",
    ]
    for number, run in enumerate(result["rounds"], 1):
        lines.append(
            f"| {number} | {run['added']:,} | {run['seconds']:.1f} | {run['rss_mib']:.0f} | "
            f"{run['vocab_strings']:,} | {run['gc_objects']:,} |"
        )
    return lines


def write_memory_part(lines: list[str]) -> None:
    """Put the many-rounds part at the end of the Collection section (replacing it)."""
    current = section()
    if MEMORY_PART in current:
        current = current[: current.index(MEMORY_PART)]
    while current and not current[-1]:
        current.pop()
    write_section([*current, "", *lines] if current else [SECTION, "", *lines])


def _section_in(text: str) -> list[str]:
    start = text.find(SECTION + "\n")
    if start < 0:
        return []
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end >= 0 else len(text)].rstrip("\n").split("\n")


def write_section(lines: list[str]) -> None:
    """Put the section into BENCHMARKS.md (replacing it, else before "## Reproducing")."""
    text = OUT.read_text() if OUT.is_file() else "# Benchmarks\n"
    old = _section_in(text)
    if MEMORY_PART in old and MEMORY_PART not in lines:
        lines = [*lines, "", *old[old.index(MEMORY_PART) :]]  # the many-rounds part stays
    block = "\n".join(lines) + "\n"
    if old:
        text = text.replace("\n".join(old) + "\n", block)
    elif "\n## Reproducing" in text:
        text = text.replace("\n## Reproducing", "\n" + block + "\n## Reproducing", 1)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    OUT.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int)
    parser.add_argument("--items", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--new", type=int, help="articles per host in later rounds")
    parser.add_argument("--delay", type=float, default=0.05, help="per-host delay, seconds")
    parser.add_argument("--memory", action="store_true", help="many small rounds, memory only")
    parser.add_argument("--trace", action="store_true", help="tracemalloc growth per round")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    defaults = MEMORY_DEFAULTS if args.memory else DEFAULTS
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.serve:
        serve(args.sources, args.items)
        return
    result = measure(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = MEMORY_RESULT if args.memory else RESULT
    target.write_text(json.dumps(result, indent=2))
    if args.memory:
        write_memory_part(memory_part(result))
    else:
        write_section(section(result))
    print(f"wrote {target} and the Collection section of {OUT}")


if __name__ == "__main__":
    main()
