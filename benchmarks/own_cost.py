"""The API's own cost per request in CPU time: the in-process app against its floor.

Run: PYTHONPATH=$PWD .venv/bin/python benchmarks/own_cost.py DB [--requests 2000] [--rounds 3]
     [--only NAME] [--profile NAME] [--cold]

Each request of the query mix is sent `--requests` times straight to the ASGI app (no HTTP
server, no test client: a scope, receive and send), then its floor (floor.py: the same SQL
statements and tantivy calls, replayed) as many times. CPU time (time.process_time, all
threads) is what a shared machine's load inflates least; the difference of the two is what
routing, validation, dependencies, searcher set-up and serialization cost. The HTTP server
(uvicorn's parsing and writing) comes on top of this.

--cold keeps no timelines between requests (NEWSDESK_KEPT_TIMELINE_PERIODS=0), so each
/timeline/compare and share counts all it counts the first time after the archive changed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor
import queries


async def call(app: Any, target: str) -> tuple[int, bytes]:
    """One GET straight through the ASGI app: the status and the body."""
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"accept", b"*/*")],
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
        "state": {},
    }
    status = 0
    body: list[bytes] = []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(body)


def requests(app: Any, target: str, count: int) -> tuple[float, float, bytes]:
    """CPU and wall seconds per request over `count` requests, and the last body."""

    async def run() -> tuple[float, float, bytes]:
        await call(app, target)  # warm
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(count):
            status, body = await call(app, target)
        if status != 200:
            raise RuntimeError(f"{target}: {status} {body[:300]!r}")
        return (time.process_time() - cpu) / count, (time.perf_counter() - wall) / count, body

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(run())


def _loop_factory() -> Any:
    """The event loop `newsdesk serve` runs on: uvloop when installed, as uvicorn picks it
    (asyncio's own loop makes each trip to a worker thread cost several times more)."""
    if os.environ.get("OWN_COST_LOOP") == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def floor_cpu(db: Path, capture: floor.Capture, target: str, count: int) -> float:
    """CPU seconds per replay of the request's SQL and tantivy calls."""
    _, statements, engine_calls, _ = capture.statements_of(target)
    connection = floor.connect(db)
    for statement in statements:
        floor.run(connection, statement)
    started = time.process_time()
    for _ in range(count):
        for statement in statements:
            floor.run(connection, statement)
        for engine_call, _ in engine_calls:
            engine_call()
    connection.close()
    return (time.process_time() - started) / count


def app_on(db: Path) -> Any:
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    from app.config import get_settings
    from app.main import create_app

    get_settings.cache_clear()
    return create_app()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="The least of this many rounds.")
    parser.add_argument("--only", action="append", help="Query names to measure (substring).")
    parser.add_argument("--profile", help="pyinstrument over the requests of this query name.")
    parser.add_argument("--cprofile", type=int, help="With --profile: cProfile in CPU time.")
    parser.add_argument("--extra", action="append", default=[], help="More paths to measure.")
    parser.add_argument("--cold", action="store_true", help="Keep no timelines (see above).")
    args = parser.parse_args()
    if args.cold:
        os.environ["NEWSDESK_KEPT_TIMELINE_PERIODS"] = "0"
    logging.disable(logging.INFO)
    db = args.db.resolve()
    app = app_on(db)
    mix = [
        (query.name, query.api)
        for query in queries.build_mix(db, {"/articles", "/timeline", "/timeline/compare"})
        if query.api is not None and "terms" not in query.name and "entity" not in query.name
    ]
    mix += [(path, path) for path in ["/healthz", *args.extra]]
    mix.append(("first page", queries.first_page(0).api or ""))
    if args.only:
        mix = [(name, api) for name, api in mix if any(word in name for word in args.only)]
    if args.profile:
        import anyio.to_thread

        async def inline(func: Any, *args: Any, **_: Any) -> Any:
            return func(*args)

        # The profiler sees one thread: run the worker-thread calls on it.
        anyio.to_thread.run_sync = inline  # type: ignore[assignment]

        target = next(api for name, api in mix if args.profile in name)
        if args.cprofile:
            import cProfile
            import pstats

            cpu = cProfile.Profile(time.thread_time)
            cpu.enable()
            requests(app, target, args.requests)
            cpu.disable()
            stats = pstats.Stats(cpu).sort_stats("cumulative")
            stats.print_stats(args.cprofile)
            return
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
        requests(app, target, args.requests)
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
        return
    capture = floor.Capture(db)
    print(f"{db.name}, {args.requests} requests each; {os.getloadavg()[0]:.1f} load")
    print(f"{'query':34} {'app CPU':>8} {'floor':>7} {'own':>7} {'wall':>7}  (ms/request)")
    for name, target in mix:
        # The least of a few rounds: other processes' load only ever adds.
        rounds = [requests(app, target, args.requests) for _ in range(args.rounds)]
        cpu, wall = min(r[0] for r in rounds), min(r[1] for r in rounds)
        base = 0.0
        if not name.startswith("/"):
            base = min(floor_cpu(db, capture, target, args.requests) for _ in range(args.rounds))
        print(
            f"{name[:34]:34} {1000 * cpu:8.3f} {1000 * base:7.3f} {1000 * (cpu - base):7.3f} "
            f"{1000 * wall:7.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
