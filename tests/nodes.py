"""API nodes as users run them: `newsdesk serve` processes on one PostgreSQL database, each
with its own index folder, and the waits the node tests share."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.server import Server, running_server


@contextmanager
def running_node(
    database_url: str, folder: Path, name: str, **settings: str
) -> Iterator[tuple[Server, httpx.Client]]:
    """`newsdesk serve` with the index in folder/NAME.index (kept between runs of the same
    name), its log in folder/NAME.log, and any NEWSDESK_* settings given; stopped on exit."""
    env = {
        "NEWSDESK_SEARCH_ENGINE": "tantivy",
        "NEWSDESK_SEARCH_INDEX_DIR": str(folder / f"{name}.index"),
        "NEWSDESK_SEARCH_INDEX_POLL_MS": "200",
        "NEWSDESK_QUERY_TIMEOUT_MS": "60000",  # answers on a busy machine, not the limit
        **{f"NEWSDESK_{key.upper()}": value for key, value in settings.items()},
    }
    log = folder / f"{name}.log"
    with (
        running_server(database_url, log, env, cli=True) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        yield server, http


def wait_until_current(client: httpx.Client, timeout: float = 120.0, exact: bool = False) -> None:
    """Poll /readyz until the node's index answers (its catch-up built or applied it); with
    `exact`, until it also holds every change (lag 0): another transaction on the server
    holds the boundary back for a moment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get("/readyz")
        found = response.json()
        if found.get("search_index") == "current" and (
            not exact or found.get("search_index_lag") == 0
        ):
            return
        time.sleep(0.2)
    raise AssertionError(f"the node's index never became current: {response.text}")


def logged(server: Server, message: str) -> list[dict[str, Any]]:
    """The server's JSON log records with this message."""
    records = []
    for line in server.log().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("message") == message:
                records.append(record)
    return records


def index_answers(client: httpx.Client) -> dict[str, float]:
    """The node's /metrics count of search answers by engine (index, database)."""
    counts: dict[str, float] = {}
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("newsdesk_search_answers_total{"):
            labels, value = line.rsplit(" ", 1)
            engine = labels.split('engine="', 1)[1].split('"', 1)[0]
            counts[engine] = counts.get(engine, 0.0) + float(value)
    return counts
