"""Two API nodes on one PostgreSQL database, as separate `newsdesk serve` processes.

Each node keeps its own tantivy index (its own NEWSDESK_SEARCH_INDEX_DIR) current from the
change log (app/search/tantivy/catchup.py). A load balancer may send a walk's pages to
either, so a cursor from one must give on the other what the first would give; a node
that is new builds its index and says so in /readyz; a node killed and restarted applies
what it missed from its watermark, and one down past the change log's retention rebuilds;
a node whose primary is down serves reads; the recipe's load balancer (deploy/haproxy.cfg)
spreads requests over two nodes and keeps answering when one dies; and under load with
ingests running, both answer every request and, once caught up, answer alike.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.config import PROJECT_ROOT
from app.db import create_db_engine
from app.search.tantivy.index import SearchIndex
from tests.api.test_security import ARTICLE, KEY, KEY_HASH
from tests.backends import PostgresServer
from tests.corpus_variety import spread_dates_and_sources
from tests.e2e.live import free_port, require
from tests.helpers import ingest_paths, seed_database, settings_for
from tests.nodes import index_answers, logged, running_node, wait_until_current
from tests.search_cases import SAME_ANSWERS
from tests.server import Server

pytestmark = [pytest.mark.postgres, pytest.mark.corpus]

FACETS = "source,entity,entity_type,language,tag,month"
# Walks whose pages may come from either node: text, date orders both ways, a filter.
WALKS: list[dict[str, str]] = [
    {"q": "economy OR market", "limit": "7"},
    {"q": "mobile", "sort": "-published_at", "limit": "7"},
    {"sort": "published_at", "limit": "7"},
    {"source": "Reuters", "q": "software", "sort": "published_at", "limit": "7"},
]


@pytest.fixture(scope="module")
def nodes_template(postgres_server: PostgresServer, bbc_corpus: Path) -> str:
    """The seeds and the BBC corpus's tech articles (no entity recognition: ingests in the
    tests add more), with dates and sources spread over them."""

    def build(url: str) -> None:
        seed_database(url)
        report = ingest_paths(
            settings_for(url, search_engine="database"), bbc_corpus / "tech", nlp=False
        )
        assert report.failed == 0  # type: ignore[attr-defined]
        writer = create_db_engine(settings_for(url), writer=True)
        try:
            spread_dates_and_sources(writer)
        finally:
            writer.dispose()

    return postgres_server.template("nodes", build)


@pytest.fixture
def primary(postgres_server: PostgresServer, nodes_template: str) -> Iterator[str]:
    url = postgres_server.clone(nodes_template)
    yield url
    postgres_server.release(url)


def get(client: httpx.Client, path: str, params: dict[str, str]) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, (path, params, response.text)
    return response.json()


def answers(client: httpx.Client) -> list[Any]:
    """What a node answers for the engine-agreement list: the first page with its total
    and facets, the page after it, and the monthly timeline (an entity the archive lacks
    is a 404 with suggestions, which must agree too)."""
    found: list[Any] = []
    for params in SAME_ANSWERS:
        first = client.get("/articles", params={**params, "facets": FACETS, "limit": "5"})
        found.append((first.status_code, first.json()))
        if first.status_code != 200:
            continue
        if first.json()["next_cursor"]:
            following = {**params, "limit": "5", "cursor": first.json()["next_cursor"]}
            found.append(get(client, "/articles", following))
        found.append(get(client, "/timeline", {**params, "interval": "month"}))
    found_any = sum(bool(answer[1].get("items")) for answer in found if isinstance(answer, tuple))
    assert found_any >= len(SAME_ANSWERS) // 2  # most of the list finds something here
    return found


def same_answers_from_indexes(node_a: httpx.Client, node_b: httpx.Client) -> None:
    """Both nodes answer the engine-agreement list alike, every answer from their indexes."""
    before = [index_answers(node) for node in (node_a, node_b)]
    assert answers(node_b) == answers(node_a)
    for node, counted in zip((node_a, node_b), before, strict=True):
        after = index_answers(node)
        assert after.get("database", 0) == counted.get("database", 0), (counted, after)
        assert after.get("index", 0) > counted.get("index", 0)


def write(primary: str, statement: str, **params: object) -> None:
    engine = create_db_engine(settings_for(primary), writer=True)
    try:
        with engine.begin() as connection:
            connection.execute(text(statement), params)
    finally:
        engine.dispose()


# -- cursors ----------------------------------------------------------------------------


def test_a_cursor_from_one_node_gives_on_the_other_what_the_first_would(
    primary: str, tmp_path: Path
) -> None:
    with (
        running_node(primary, tmp_path, "a") as (_, node_a),
        running_node(primary, tmp_path, "b") as (_, node_b),
    ):
        for node in (node_a, node_b):
            wait_until_current(node, exact=True)
        for params in WALKS:
            first = get(node_a, "/articles", params)
            assert first["next_cursor"], params
            following = {**params, "cursor": first["next_cursor"]}
            on_a, on_b = get(node_a, "/articles", following), get(node_b, "/articles", following)
            assert on_b == on_a, params
            assert on_a["items"] and not {i["id"] for i in on_a["items"]} & {
                i["id"] for i in first["items"]
            }
            # A whole walk, its pages from alternate nodes, lists each match once, in order.
            single, alternating = walk(params, [node_a]), walk(params, [node_a, node_b])
            assert alternating == single and len(single) == len(set(single)) == first["total"]
        assert index_answers(node_b).get("index", 0) > 0  # node B's index answered


def walk(params: dict[str, str], nodes: list[httpx.Client]) -> list[int]:
    """Every match's id, page after page, each page from the next node in turn."""
    seen: list[int] = []
    cursor = None
    for turn in range(10_000):
        page = get(nodes[turn % len(nodes)], "/articles", {**params, "cursor": cursor or ""})
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return seen
    raise AssertionError("the walk did not end")


# -- a new node, a restarted node -------------------------------------------------------


@pytest.mark.parametrize("behind", ["not_ready", "database"])
def test_a_new_node_builds_its_index_and_is_not_current_until_then(
    primary: str, tmp_path: Path, behind: str
) -> None:
    # Holding the entity links stops the node's build (it reads them for every document)
    # while it starts, so its state before the index exists can be seen.
    engine = create_db_engine(settings_for(primary), writer=True)
    try:
        with engine.connect() as holder:
            holder.execute(text("LOCK TABLE article_entity IN ACCESS EXCLUSIVE MODE"))
            with running_node(primary, tmp_path, "new", search_index_behind=behind) as (
                server,
                node,
            ):
                ready = node.get("/readyz")
                assert ready.json()["search_index"] == "absent"
                assert ready.status_code == (503 if behind == "not_ready" else 200)
                # Meanwhile searches answer from PostgreSQL (a timeline reads no links).
                before = get(node, "/timeline", {"q": "mobile", "interval": "month"})
                assert index_answers(node) == {"database": 1.0}
                holder.rollback()
                wait_until_current(node)
                assert node.get("/readyz").status_code == 200
                after = get(node, "/timeline", {"q": "mobile", "interval": "month"})
                assert index_answers(node).get("index") == 1.0
                assert after == before and sum(after["counts"]) > 0
                assert [r["rebuilt"] for r in logged(server, "search_index_synced")][:1] == [True]
    finally:
        engine.dispose()


def test_a_node_killed_and_restarted_catches_up_from_its_watermark(
    primary: str, tmp_path: Path
) -> None:
    with running_node(primary, tmp_path, "a") as (_, node_a):
        with running_node(primary, tmp_path, "b") as (server_b, node_b):
            wait_until_current(node_b, exact=True)
            server_b.process.kill()  # SIGKILL: no shutdown of any kind
            server_b.process.wait(30)
        state = SearchIndex(tmp_path / "b.index").read_state()
        assert state is not None
        write(
            primary,
            "UPDATE article SET title = title || ' quokka' WHERE id = "
            "(SELECT min(id) FROM article WHERE body ILIKE '%mobile%')",
        )
        with running_node(primary, tmp_path, "b") as (server_b, node_b):
            wait_until_current(node_b, exact=True)
            wait_until_current(node_a, exact=True)
            synced = logged(server_b, "search_index_synced")
            assert synced and not any(record["rebuilt"] for record in synced), synced
            assert sum(record["applied"] for record in synced) >= 1
            assert not logged(server_b, "search_index_stranded")
            after = SearchIndex(tmp_path / "b.index").read_state()
            assert after is not None and after.watermark > state.watermark
            found = get(node_b, "/articles", {"q": "quokka"})
            assert found["total"] == 1
            same_answers_from_indexes(node_a, node_b)


def ingested(primary: str, folder: Path, log: Path, **settings: str) -> None:
    """Run `newsdesk ingest --no-nlp folder` to its end; it must succeed."""
    process = ingest_process(primary, folder, log, **settings)
    assert process.wait(300) == 0, log.read_text()[-2000:]


def wait_until_prunable(primary: str, seconds: float, timeout: float = 120.0) -> None:
    """Wait until a writer keeping changes `seconds` may prune every change in the log: the
    newest is older than that, and every transaction that logged one has ended (another
    test's transaction, anywhere on the server, holds that boundary back a while)."""
    engine = create_db_engine(settings_for(primary))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                age, passed = connection.execute(
                    text(
                        "SELECT extract(epoch FROM clock_timestamp() - max(changed_at)), "
                        "pg_snapshot_xmin(pg_current_snapshot())::text::bigint > max(xid) "
                        "FROM search_change"
                    )
                ).one()
            if age is not None and float(age) > seconds and passed:
                return
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise AssertionError(f"the change log can't be pruned to {seconds} s")


def pruned_below(primary: str) -> int:
    engine = create_db_engine(settings_for(primary))
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(text("SELECT pruned_below FROM search_change_horizon")).one()[0]
            )
    finally:
        engine.dispose()


def wait_until_logged(server: Server, message: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not logged(server, message):
        if time.monotonic() > deadline:
            raise AssertionError(f"the node did not log {message}: {server.log()[-2000:]}")
        time.sleep(0.1)


def test_a_node_down_past_the_change_logs_retention_rebuilds_and_answers_as_a_fresh_node(
    primary: str, tmp_path: Path, bbc_corpus: Path
) -> None:
    with running_node(primary, tmp_path, "b") as (_, node_b):
        wait_until_current(node_b, exact=True)
        assert get(node_b, "/articles", {"q": "athletics"})["total"] == 0  # none yet
    state = SearchIndex(tmp_path / "b.index").read_state()
    assert state is not None
    # While it is down: an ingest, and later another whose writer prunes the log (as every
    # writer does when it syncs) keeping changes a second: the first ingest's are gone.
    sport, business = (
        articles_of(bbc_corpus, kind, 20, tmp_path / kind) for kind in ("sport", "business")
    )
    ingested(primary, sport, tmp_path / "ingest-sport.log")
    wait_until_prunable(primary, 2.0)
    ingested(
        primary,
        business,
        tmp_path / "ingest-business.log",
        search_change_retention_hours=str(1 / 3600),
    )
    assert pruned_below(primary) > state.watermark  # the node is stranded
    # Holding the entity links stops the node's rebuild (it reads them for every document)
    # once it has found itself stranded, so its state before the rebuild can be seen.
    engine = create_db_engine(settings_for(primary), writer=True)
    try:
        with engine.connect() as holder:
            holder.execute(text("LOCK TABLE article_entity IN ACCESS EXCLUSIVE MODE"))
            with running_node(primary, tmp_path, "b", search_index_behind="not_ready") as (
                server_b,
                node_b,
            ):
                wait_until_logged(server_b, "search_index_stranded")
                ready = node_b.get("/readyz")
                assert ready.status_code == 503 and ready.json()["search_index"] == "behind"
                # Meanwhile searches answer from PostgreSQL (a timeline reads no links).
                before = get(node_b, "/timeline", {"q": "athletics", "interval": "month"})
                assert index_answers(node_b) == {"database": 1.0}
                holder.rollback()
                wait_until_current(node_b, exact=True)
                assert node_b.get("/readyz").status_code == 200
                # The articles whose changes were pruned are in its index.
                after = get(node_b, "/timeline", {"q": "athletics", "interval": "month"})
                assert index_answers(node_b).get("index") == 1.0
                assert after == before and after["total"] > 0
                stranded = logged(server_b, "search_index_stranded")
                assert [(r["watermark"], r["action"]) for r in stranded] == [
                    (state.watermark, "rebuild")
                ]
                assert [r["rebuilt"] for r in logged(server_b, "search_index_synced")][:1] == [True]
                with running_node(primary, tmp_path, "fresh") as (_, fresh):
                    wait_until_current(fresh, exact=True)
                    for params in ({}, {"q": "athletics"}, {"q": "economy OR market"}):
                        assert get(node_b, "/articles", params) == get(fresh, "/articles", params)
                    same_answers_from_indexes(node_b, fresh)
    finally:
        engine.dispose()


def test_a_node_whose_primary_is_down_starts_and_answers_reads_from_its_read_url(
    primary: str, tmp_path: Path
) -> None:
    # The read URL stands for the replica (same data); the primary's URL is a port nothing
    # listens on. The node serves searches from the read URL and its index; writes fail
    # with a 503, not a 500.
    down = make_url(primary).set(port=free_port()).render_as_string(hide_password=False)
    with running_node(down, tmp_path, "a", read_database_url=primary, api_key_hash=KEY_HASH) as (
        _,
        node,
    ):
        wait_until_current(node, exact=True)
        assert node.get("/readyz").status_code == 200
        assert get(node, "/articles", {"q": "mobile"})["total"] > 0
        answered = index_answers(node)  # by its index, not by the read URL's database
        assert answered.get("index", 0) > 0 and "database" not in answered, answered
        written = node.post("/articles", json=ARTICLE, headers={"X-Api-Key": KEY})
        assert written.status_code == 503, written.text
        assert written.json()["code"] == "database_unavailable"


@contextmanager
def running_balancer(folder: Path, nodes: dict[str, Server]) -> Iterator[httpx.Client]:
    """HAProxy with the recipe's deploy/haproxy.cfg, its servers (api-a, api-b) these nodes
    and its port a free one here."""
    haproxy = shutil.which("haproxy")
    require(haproxy is not None, "haproxy is not installed (apt-get install haproxy)")
    assert haproxy is not None
    config = (PROJECT_ROOT / "deploy" / "haproxy.cfg").read_text()
    for name, server in nodes.items():
        config, found = re.subn(rf" {name}:8000 ", f" {server.url.split('//')[1]} ", config)
        assert found == 1, name
    port = free_port()
    config, found = re.subn(r"bind :8000\n", f"bind 127.0.0.1:{port}\n", config)
    assert found == 1
    (folder / "haproxy.cfg").write_text(config)
    with (folder / "haproxy.log").open("wb") as log:
        process = subprocess.Popen(
            [haproxy, "-db", "-f", str(folder / "haproxy.cfg")], stdout=log, stderr=log
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            deadline = time.monotonic() + 60
            while True:  # until both nodes passed their checks
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, (folder / "haproxy.log").read_text()
                time.sleep(0.2)
            yield client
    finally:
        process.terminate()
        process.wait(30)


def test_the_recipes_balancer_spreads_requests_and_keeps_answering_when_a_node_dies(
    primary: str, tmp_path: Path
) -> None:
    with (
        running_node(primary, tmp_path, "a") as (server_a, node_a),
        running_node(primary, tmp_path, "b") as (server_b, node_b),
    ):
        for node in (node_a, node_b):
            wait_until_current(node, exact=True)
        with running_balancer(tmp_path, {"api-a": server_a, "api-b": server_b}) as balancer:
            expected = get(node_a, "/articles", {"q": "mobile"})
            for _ in range(10):
                assert get(balancer, "/articles", {"q": "mobile"}) == expected
            # Round robin: each node answered searches sent to the balancer.
            assert all(index_answers(node).get("index", 0) >= 4 for node in (node_a, node_b))
            server_a.process.kill()  # SIGKILL: at once, before any check has noticed
            server_a.process.wait(30)
            for _ in range(10):  # each one the balancer sends to node A goes to node B
                assert get(balancer, "/articles", {"q": "mobile"}) == expected


# -- two nodes, two ingests, 32 clients ---------------------------------------------------

CLIENTS = 32
LOAD_SECONDS = 30.0
# What the clients ask, in turn: searches with facets, timelines, a page after a cursor.
LOAD: list[tuple[str, dict[str, str]]] = [
    ("/articles", {"q": "mobile", "facets": FACETS}),
    ("/articles", {"sort": "-published_at"}),
    ("/articles", {"q": "economy OR market", "limit": "5"}),
    ("/timeline", {"interval": "month"}),
    ("/timeline", {"q": "phone", "interval": "week", "by": "source"}),
    ("/articles", {"source": "Reuters", "facets": "source,month"}),
    ("/entities", {}),
    ("/readyz", {}),
]


def ingest_process(
    primary: str, folder: Path, log: Path, **settings: str
) -> subprocess.Popen[bytes]:
    """`newsdesk ingest --no-nlp folder` on the primary, as a user runs it, with any
    NEWSDESK_* settings given."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSDESK_")}
    env |= {"DATABASE_URL": primary, "PYTHONPATH": str(PROJECT_ROOT)}
    env |= {f"NEWSDESK_{key.upper()}": value for key, value in settings.items()}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "ingest", "--no-nlp", str(folder)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def articles_of(corpus: Path, kind: str, count: int, target: Path) -> Path:
    target.mkdir()
    for path in sorted((corpus / kind).iterdir())[:count]:
        shutil.copy(path, target / f"{kind}-{path.name}")
    return target


def client_load(urls: list[str], number: int, until: float) -> tuple[int, list[str]]:
    """One client's requests, spread over the nodes until `until`: how many, and what
    failed (a status other than 200, or no answer)."""
    done, failed = 0, []
    clients = [httpx.Client(base_url=url, timeout=60) for url in urls]
    try:
        cursor: dict[int, str] = {}
        while time.monotonic() < until:
            turn = number + done
            path, params = LOAD[turn % len(LOAD)]
            node = clients[turn % len(clients)]
            asked = {**params, **({"cursor": cursor[turn % len(LOAD)]} if turn % 3 == 0
                                  and turn % len(LOAD) in cursor else {})}  # fmt: skip
            try:
                response = node.get(path, params=asked)
            except httpx.TransportError as error:
                failed.append(f"{path} {asked}: {error!r}")
            else:
                if response.status_code != 200:
                    failed.append(f"{path} {asked}: {response.status_code} {response.text[:200]}")
                elif path == "/articles" and response.json()["next_cursor"]:
                    cursor[turn % len(LOAD)] = response.json()["next_cursor"]
            done += 1
    finally:
        for client in clients:
            client.close()
    return done, failed


@pytest.mark.slow
def test_two_nodes_under_load_with_two_ingests_fail_nothing_and_then_agree(
    primary: str, tmp_path: Path, bbc_corpus: Path
) -> None:
    sets = [articles_of(bbc_corpus, kind, 120, tmp_path / kind) for kind in ("sport", "business")]
    ingests: list[subprocess.Popen[bytes]] = []
    with (
        running_node(primary, tmp_path, "a") as (server_a, node_a),
        running_node(primary, tmp_path, "b") as (server_b, node_b),
    ):
        for node in (node_a, node_b):
            wait_until_current(node)
        before = get(node_a, "/articles", {})["total"]
        try:
            ingests = [
                ingest_process(primary, folder, tmp_path / f"ingest-{folder.name}.log")
                for folder in sets
            ]
            until = time.monotonic() + LOAD_SECONDS
            with ThreadPoolExecutor(CLIENTS) as pool:
                results = list(
                    pool.map(
                        lambda n: client_load([server_a.url, server_b.url], n, until),
                        range(CLIENTS),
                    )
                )
            codes = [process.wait(300) for process in ingests]
        finally:
            for process in ingests:
                if process.poll() is None:
                    process.kill()
                    process.wait(30)
        failed = [failure for _, failures in results for failure in failures]
        requests = sum(done for done, _ in results)
        assert codes == [0, 0], [
            (tmp_path / f"ingest-{f.name}.log").read_text()[-2000:] for f in sets
        ]
        assert not failed, (len(failed), requests, failed[:10])
        assert requests > CLIENTS  # every client asked more than once
        for node in (node_a, node_b):
            wait_until_current(node, exact=True)
        added = sum(
            int(re.search(r"(\d+) added", (tmp_path / f"ingest-{f.name}.log").read_text())[1])  # type: ignore[index]
            for f in sets
        )
        assert added > 200  # both sets, less the corpus's duplicates
        assert get(node_a, "/articles", {})["total"] == before + added
        same_answers_from_indexes(node_a, node_b)
    print(f"\n{requests} requests over {LOAD_SECONDS:.0f} s by {CLIENTS} clients, 0 failed")


# -- woken by the writers ---------------------------------------------------------------


def listening_backends(primary: str) -> set[int]:
    """The server processes LISTENing for search changes on the primary's database."""
    engine = create_db_engine(settings_for(primary))
    try:
        with engine.connect() as connection:
            return set(
                connection.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND query = 'LISTEN newsdesk_search_change'"
                    )
                ).scalars()
            )
    finally:
        engine.dispose()


def wait_for_listener(primary: str, other_than: set[int], timeout: float = 30.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = listening_backends(primary) - other_than
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("no node LISTENs for search changes")


def wait_for_logged_after(server: Server, message: str, seen: int, timeout: float = 60.0) -> None:
    """Wait until the node logs `message` beyond the first `seen` times."""
    deadline = time.monotonic() + timeout
    while len(logged(server, message)) <= seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"the node did not log {message}")
        time.sleep(0.1)


def test_a_node_on_the_primary_catches_up_when_notified_long_before_its_poll(
    primary: str, tmp_path: Path
) -> None:
    # Polling every five minutes: each change below must arrive well before a poll would find
    # it (half that time is for another transaction on the server holding the boundary back).
    poll_seconds = 300
    reading = create_db_engine(settings_for(primary))
    # At debug level the node says when a catch-up found nothing it could apply yet.
    with running_node(
        primary, tmp_path, "a", search_index_poll_ms=str(poll_seconds * 1000), log_level="DEBUG"
    ) as (server, node):
        wait_until_current(node, exact=True, timeout=poll_seconds / 2)
        first = wait_for_listener(primary, set())
        for word, case in (("numbat", ""), ("bilby", "connection lost"), ("wombat", "held")):
            if case == "connection lost":
                # The LISTEN connection goes (a restart, a pooler): the node opens another.
                write(primary, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE pid = ANY(:pids)", pids=list(first))  # fmt: skip
                wait_for_listener(primary, first)
            with ExitStack() as held:
                if case == "held":
                    # An older transaction still running: the notified change can't be
                    # applied until it ends, and its end notifies nobody.
                    holder = held.enter_context(reading.connect())
                    holder.execute(text("SELECT pg_current_xact_id()"))
                    tried = len(logged(server, "search_index_nothing_applicable"))
                write(
                    primary,
                    f"UPDATE article SET title = title || ' {word}' WHERE id = "
                    "(SELECT min(id) FROM article)",
                )
                if case == "held":
                    # Woken, it could apply nothing yet.
                    wait_for_logged_after(server, "search_index_nothing_applicable", tried)
                    assert node.get("/readyz").json()["search_index_lag"] >= 1
            wait_until_current(node, exact=True, timeout=poll_seconds / 2)
            assert get(node, "/articles", {"q": word})["total"] == 1, word
        answered = index_answers(node)  # both searches by the index, not by PostgreSQL
        assert answered.get("index", 0) > 0 and "database" not in answered, answered
        assert logged(server, "search_change_listen_lost")
        assert len(logged(server, "search_change_listening")) == 2
    reading.dispose()
