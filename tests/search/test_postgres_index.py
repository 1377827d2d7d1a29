"""The tantivy index on PostgreSQL: the change log (migration 0013), each node's watermark,
pruning by age (a writer's sync) and the rebuild of a node the pruning left behind, the lag
bound.

The engine agreement on the BBC corpus runs on PostgreSQL in test_index.py (bbc_pair);
nodes reading a streaming replica are in tests/test_replica.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import Settings
from app.db import create_db_engine
from app.search.filter import ArticleFilter
from app.search.query import parse_query
from app.search.tantivy import sync
from app.search.tantivy.changes import backlog, prune_older_than
from app.search.tantivy.index import SearchIndex, search_index_for
from app.search.tantivy.sync import sync_index, sync_search_index
from tests.backends import PostgresServer
from tests.clients import make_client
from tests.helpers import catch_up, seed_database, settings_for, wait_for_boundary_past_the_log

pytestmark = pytest.mark.postgres


@pytest.fixture
def primary(postgres_server: PostgresServer) -> Iterator[str]:
    url = postgres_server.clone(postgres_server.template("seeded", seed_database))
    yield url
    postgres_server.release(url)


@pytest.fixture
def writer(primary: str) -> Iterator[Engine]:
    engine = create_db_engine(settings_for(primary), writer=True)
    yield engine
    engine.dispose()


def node(primary: str, folder: Path, **overrides: object) -> Settings:
    return settings_for(primary, search_engine="tantivy", search_index_dir=folder, **overrides)


def logged_since(engine: Engine, boundary: int) -> list[int]:
    with engine.connect() as connection:
        return sorted(
            connection.execute(
                text("SELECT DISTINCT article_id FROM search_change WHERE xid >= :b"),
                {"b": boundary},
            ).scalars()
        )


def boundary_now(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar())


def index_count(settings: Settings, q: str) -> int | None:
    """Matches the node's index counts (None: it would not answer)."""
    index = search_index_for(settings)
    assert index is not None
    engine = create_db_engine(settings, reader=True)
    try:
        with Session(engine) as session:
            searcher = index.current_searcher(session, settings.search_index_max_lag_ms / 1000)
            if searcher is None:
                return None
            return index.count(searcher, ArticleFilter(query=parse_query(q)))
    finally:
        engine.dispose()


def test_every_searchable_change_is_logged_for_its_articles(writer: Engine) -> None:
    with writer.connect() as connection:
        first, second = connection.execute(text("SELECT id FROM article ORDER BY id LIMIT 2"))
        linked = connection.execute(
            text("SELECT entity_id, article_id FROM article_entity ORDER BY 1, 2 LIMIT 1")
        ).one()
    changes = [
        ("UPDATE article SET title = title || '!' WHERE id = :a", {"a": first.id}, [first.id]),
        ("INSERT INTO article_tag (article_id, tag) VALUES (:a, 'x')", {"a": second.id},
         [second.id]),
        ("UPDATE article_tag SET article_id = :b WHERE article_id = :a AND tag = 'x'",
         {"a": second.id, "b": first.id}, [first.id, second.id]),
        ("DELETE FROM article_tag WHERE tag = 'x'", {}, [first.id]),
        ("UPDATE entity SET type = type WHERE id = :e", {"e": linked.entity_id},
         None),
        ("UPDATE source SET domain = domain || '.x' WHERE id = "
         "(SELECT source_id FROM article WHERE id = :a)", {"a": first.id}, None),
        ("DELETE FROM article_entity WHERE entity_id = :e AND article_id = :a",
         {"e": linked.entity_id, "a": linked.article_id}, [linked.article_id]),
    ]  # fmt: skip
    for statement, params, expected in changes:
        before = boundary_now(writer)
        with writer.begin() as connection:
            connection.execute(text(statement), params)
        found = logged_since(writer, before)
        if expected is None:  # every article of the entity, of the source
            assert found, statement
        else:
            assert found == sorted(expected), statement


def test_a_node_applies_changes_from_the_log_and_never_writes(
    primary: str, writer: Engine, tmp_path: Path
) -> None:
    settings = node(primary, tmp_path / "node.index")
    catch_up(settings, writer)
    assert index_count(settings, "hydrodiplomacy") == 0
    with writer.begin() as connection:
        connection.execute(text("UPDATE article SET body = body || ' hydrodiplomacy' WHERE id = "
                                "(SELECT min(id) FROM article)"))  # fmt: skip
    reading = create_db_engine(settings, reader=True)
    try:
        with reading.connect() as connection:
            rows_before = connection.execute(text("SELECT count(*) FROM search_change")).scalar()
        # A read-only transaction throughout: a node that wrote would fail here.
        read_only = reading.execution_options(postgresql_readonly=True)
        catch_up(settings, read_only)
        with reading.connect() as connection:
            rows_after = connection.execute(text("SELECT count(*) FROM search_change")).scalar()
    finally:
        reading.dispose()
    assert index_count(settings, "hydrodiplomacy") == 1
    assert rows_after == rows_before  # the log is the writers' to prune, not a node's


def commit_mark(folder: Path) -> tuple[tuple[int, int], ...]:
    """What a commit of the index, even an empty one, changes: tantivy writes meta.json
    anew (a new file in its place), and the sync writes the watermark's state file anew."""
    return tuple(
        (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in (folder / "meta.json", SearchIndex(folder).state_path)
    )


def test_a_node_held_back_by_an_older_transaction_commits_and_logs_nothing_until_it_ends(
    primary: str, writer: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = node(primary, tmp_path / "node.index")
    catch_up(settings, writer)
    index = search_index_for(settings)
    assert index is not None
    committed = commit_mark(tmp_path / "node.index")
    with writer.connect() as holder:
        holder.execute(text("SELECT pg_current_xact_id()"))  # an older transaction, running
        with writer.begin() as connection:
            connection.execute(text("UPDATE article SET title = title || ' kookaburra' WHERE id = "
                                    "(SELECT min(id) FROM article)"))  # fmt: skip
        # Only the retries' records: the first catch-up logs too when an earlier test in this
        # process left the logger at INFO.
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="newsdesk.search"):
            for _ in range(3):  # the catch-up's retries while the transaction stays open
                assert sync_index(index, writer).applied == 0
        assert commit_mark(tmp_path / "node.index") == committed
        assert not [r for r in caplog.records if r.levelno >= logging.INFO], caplog.records
        holder.rollback()
    with caplog.at_level(logging.INFO, logger="newsdesk.search"):
        catch_up(settings, writer)
    assert commit_mark(tmp_path / "node.index") != committed
    assert index_count(settings, "kookaburra") == 1
    assert [r.applied for r in caplog.records if r.message == "search_index_synced"] == [1]  # type: ignore[attr-defined]


def test_a_writers_sync_prunes_the_transactions_older_than_the_retention(
    primary: str, writer: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # 1000 hours: a second more per hour would keep the older transaction (1000 h 10 min).
    settings = node(primary, tmp_path / "node.index", search_change_retention_hours=1000)
    with writer.connect() as connection:
        first, second = connection.execute(text("SELECT id FROM article ORDER BY id LIMIT 2"))
    backdate = text(
        "UPDATE search_change SET changed_at = clock_timestamp() - CAST(:age AS interval) "
        "WHERE xid = pg_current_xact_id()::text::bigint RETURNING xid"
    )
    xids = []
    ages = {first.id: "1000 hours 10 minutes", second.id: "999 hours 50 minutes"}
    for article_id, age in ages.items():
        with writer.begin() as connection:
            connection.execute(
                text("UPDATE article SET title = title || '!' WHERE id = :a"), {"a": article_id}
            )
            xids.append(connection.execute(backdate, {"age": age}).scalars().first())
    with writer.connect() as connection:
        older = connection.execute(
            text("SELECT count(*) FROM search_change WHERE xid <= :x"), {"x": xids[0]}
        ).scalar_one()
    wait_for_boundary_past_the_log(writer)
    with caplog.at_level(logging.INFO, logger="newsdesk.search"):
        assert sync_search_index(settings, writer) is not None
    with writer.connect() as connection:
        left = connection.execute(text("SELECT DISTINCT xid FROM search_change")).scalars().all()
    # The older transaction is gone with every one before it; the newer is kept.
    assert left == [xids[1]]
    pruned = [record for record in caplog.records if record.message == "search_change_pruned"]
    assert [(r.removed, r.kept_seconds) for r in pruned] == [(older, 3_600_000)]  # type: ignore[attr-defined]


def test_a_node_the_pruning_left_behind_rebuilds_and_says_so(
    primary: str, writer: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    behind, current = (node(primary, tmp_path / name) for name in ("behind.index", "cur.index"))
    catch_up(behind, writer)
    with writer.begin() as connection:
        connection.execute(text("UPDATE article SET title = title || ' quokka' WHERE id = "
                                "(SELECT min(id) FROM article)"))  # fmt: skip
    catch_up(current, writer)
    wait_for_boundary_past_the_log(writer)
    assert prune_older_than(writer, 0) > 0  # every change so far
    index_behind, index_current = search_index_for(behind), search_index_for(current)
    assert index_behind is not None and index_current is not None
    with writer.connect() as connection:
        assert backlog(connection, index_behind.read_state().watermark).stranded  # type: ignore[union-attr]
        assert not backlog(connection, index_current.read_state().watermark).stranded  # type: ignore[union-attr]
    assert index_count(behind, "quokka") is None  # stranded: never answers
    stranded_at = index_behind.read_state().watermark  # type: ignore[union-attr]
    with caplog.at_level(logging.INFO, logger="newsdesk.search"):
        report = sync_index(index_behind, writer)
    assert report.rebuilt
    [warning] = [r for r in caplog.records if r.message == "search_index_stranded"]
    assert (warning.watermark, warning.action) == (stranded_at, "rebuild")  # type: ignore[attr-defined]
    assert index_count(behind, "quokka") == 1


def test_a_node_rebuilt_while_an_old_transaction_runs_is_not_stranded_by_a_prune(
    primary: str, writer: Engine, tmp_path: Path
) -> None:
    # A rebuild's watermark is the oldest transaction still running; a writer pruning the
    # changes committed after that transaction began left it below the horizon: stranded
    # again at once, rebuilt at every poll while the transaction stayed open.
    settings = node(primary, tmp_path / "node.index")
    index = search_index_for(settings)
    assert index is not None
    with writer.connect() as holder:
        holder.execute(text("SELECT pg_current_xact_id()"))  # an old transaction, running
        with writer.begin() as connection:
            connection.execute(text("UPDATE article SET title = title || ' platypus' WHERE id = "
                                    "(SELECT min(id) FROM article)"))  # fmt: skip
        prune_older_than(writer, 0)  # a writer's sync with the shortest retention
        assert sync_index(index, writer, rebuild=True).rebuilt
        state = index.read_state()
        assert state is not None
        with writer.connect() as connection:
            assert not backlog(connection, state.watermark).stranded
        holder.rollback()
    catch_up(settings, writer)
    assert index_count(settings, "platypus") == 1


def test_a_rebuild_indexes_each_article_once_whatever_order_the_rows_are_stored_in(
    primary: str, writer: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A new date (an indexed column) stores the first article's new version after others:
    # read without an order, a chunk of two ids would miss it, and the next chunk (the ids
    # after the chunk's last) would start above it.
    monkeypatch.setattr(sync, "READ_CHUNK", 2)
    settings = node(primary, tmp_path / "node.index")
    with writer.begin() as connection:
        connection.execute(text("UPDATE article SET published_at = now() WHERE id = "
                                "(SELECT min(id) FROM article)"))  # fmt: skip
        articles = connection.execute(text("SELECT count(*) FROM article")).scalar_one()
    index = search_index_for(settings)
    assert index is not None
    report = sync_index(index, writer, rebuild=True)
    searcher = index.any_searcher()
    assert searcher is not None
    assert report.applied == searcher.num_docs == articles


def test_a_node_answers_within_its_lag_bound_then_falls_back(
    primary: str, writer: Engine, tmp_path: Path
) -> None:
    patient = node(primary, tmp_path / "node.index", search_index_max_lag_ms=3_600_000)
    strict = patient.model_copy(update={"search_index_max_lag_ms": 0})
    catch_up(patient, writer)
    with writer.begin() as connection:
        connection.execute(text("UPDATE article SET title = title || ' wombat' WHERE id = "
                                "(SELECT min(id) FROM article)"))  # fmt: skip
    assert index_count(patient, "wombat") == 0  # within an hour's bound: the index, as it was
    assert index_count(strict, "wombat") is None  # no lag allowed: the database answers


@pytest.mark.parametrize("behind", ["database", "not_ready"])
def test_readyz_reports_the_lag_and_a_strict_node_is_not_ready_while_behind(
    primary: str, writer: Engine, tmp_path: Path, behind: str
) -> None:
    settings = node(
        primary, tmp_path / "node.index", search_index_max_lag_ms=0, search_index_behind=behind
    )
    engine = create_db_engine(settings, reader=True)
    client = make_client(settings, engine)  # no lifespan: no catch-up thread in this test
    try:
        empty = client.get("/readyz")  # a node with an empty index folder, not built yet
        assert empty.status_code == (503 if behind == "not_ready" else 200)
        assert empty.json()["search_index"] == "absent"
        catch_up(settings, writer)
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["search_index"] == "current"
        assert ready.json()["search_index_lag"] == 0
        with writer.begin() as connection:
            connection.execute(text("UPDATE article SET title = title || ' numbat' WHERE id = "
                                    "(SELECT min(id) FROM article)"))  # fmt: skip
        late = client.get("/readyz")
        assert late.status_code == (503 if behind == "not_ready" else 200)
        assert late.json()["search_index"] == "behind"
        assert late.json()["search_index_lag"] == 1
        assert late.json()["search_index_lag_seconds"] >= 0
        # Not ready or not, searches still answer, from the database: with the change.
        found = client.get("/articles", params={"q": "numbat"})
        assert found.status_code == 200 and found.json()["total"] == 1
    finally:
        engine.dispose()


def notifications(url: str, *transactions: tuple[list[str], bool]) -> list[list[str]]:
    """The search-change notifications a listener gets for each transaction (its statements
    run, then committed or, when False, rolled back)."""
    import psycopg
    from sqlalchemy.engine import make_url

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    received = []
    with (
        psycopg.connect(conninfo, autocommit=True) as listener,
        psycopg.connect(conninfo) as writer,
    ):
        listener.execute("LISTEN newsdesk_search_change")
        for statements, commit in transactions:
            for statement in statements:
                writer.execute(statement)  # type: ignore[arg-type]  # test SQL, no input
            writer.commit() if commit else writer.rollback()
            # A write and its wake-up in that order: NOTIFY is sent at commit, and the
            # SELECT's answer comes after any notification queued before it.
            listener.execute("SELECT 1")
            received.append([n.channel for n in listener.notifies(timeout=0)])
    return received


def test_a_writing_transaction_notifies_the_nodes_once_and_a_rolled_back_one_never(
    primary: str,
) -> None:
    first = "(SELECT min(id) FROM article)"
    many = [
        f"UPDATE article SET title = title || '!' WHERE id = {first}",
        "UPDATE article SET body = body || '.'",  # every article: a statement, not a row
        "INSERT INTO article_tag (article_id, tag) SELECT id, 'x' FROM article",
    ]
    received = notifications(
        primary,
        (many, True),
        (["DELETE FROM article_tag WHERE tag = 'x'"], False),
        (["UPDATE source SET domain = domain || '.x'"], True),
    )
    assert received == [["newsdesk_search_change"], [], ["newsdesk_search_change"]]
