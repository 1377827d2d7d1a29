"""The bulk path: articles loaded from JSONL answer every search and filter like ingested ones.

The seeds are ingested the ordinary way (real extraction and NER), exported as bulk JSONL
with their entities, and bulk-loaded into an empty database; both databases must then give
the same answers to the same requests.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from app.cli import app as cli
from app.config import PROJECT_ROOT
from app.db import create_db_engine
from app.ingest.document import ArticleDraft
from app.ingest.read import bulk_records
from app.ingest.store import bulk
from app.ingest.store.articles import content_hash
from app.ingest.store.bulk import BulkLoader, FtsMode
from app.models import Article, ArticleEntity, ArticleTag, Entity, Source
from app.parallel import worker_pool
from app.search.tantivy import sync
from app.search.tantivy.changes import database_head
from app.search.tantivy.feed import index_feed
from app.search.tantivy.index import search_index_for
from app.search.tantivy.sync import sync_search_index
from tests.backends import Backend, Template, fresh_database
from tests.clients import make_client
from tests.helpers import settings_for

REQUESTS = [
    "/articles",
    "/articles?q=taliban",
    '/articles?q="islamic state"',
    "/articles?q=elect*",
    "/articles?q=taliban -russia",
    "/articles?q=taliban&search_in=title",
    "/articles?source=Amu TV",
    "/articles?from=2024-11-01&to=2024-12-31&sort=published_at",
    "/articles?entity=Putin",
    "/articles?entity=Taliban&q=kabul",
    "/articles?entity_type=person&limit=2",
    "/articles?language=en&limit=3",
]


def export_as_bulk(engine: Engine) -> list[dict[str, Any]]:
    """The stored articles as bulk records, in id order, with their entities and tags."""
    records = []
    with Session(engine) as session:
        for article in session.exec(select(Article).order_by(Article.id)).scalars():
            source = session.get(Source, article.source_id) if article.source_id else None
            links = session.execute(
                select(Entity.name, Entity.type, ArticleEntity.mentions, ArticleEntity.forms)
                .join(ArticleEntity, ArticleEntity.entity_id == Entity.id)
                .where(ArticleEntity.article_id == article.id)
            ).all()
            tags = session.execute(
                select(ArticleTag.tag).where(ArticleTag.article_id == article.id)
            ).scalars()
            published = article.published_at
            records.append(
                {
                    "title": article.title,
                    "body": article.body,
                    "url": article.url,
                    "source": source.name if source else None,
                    "author": article.author,
                    "published": published.isoformat() if published else None,
                    "language": article.language,
                    "tags": list(tags),
                    "entities": [
                        {"name": n, "type": t, "mentions": m, "forms": f} for n, t, m, f in links
                    ],
                }
            )
    return records


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def comparable(page: dict[str, Any]) -> dict[str, Any]:
    """A page without the ids that differ between two databases (articles, entities)."""
    for item in page.get("items", []):
        item.pop("id")
        item["source"] and item["source"].pop("id")
        item["entities"] = sorted((e["name"], e["type"], e["mentions"]) for e in item["entities"])
    page.pop("next_cursor", None)
    return page


@pytest.fixture
def bulk_db(empty_template: Template, tmp_path: Path, backend: Backend) -> Iterator[str]:
    """An empty database beside the seeded one (bulk_db would share its file name)."""
    yield from fresh_database(empty_template, tmp_path / "bulk.db", backend)


@pytest.mark.parametrize("fts", ["triggers", "deferred"])
def test_bulk_loaded_articles_answer_like_ingested_ones(
    fts: FtsMode, engine: Engine, client: TestClient, bulk_db: str, tmp_path: Path
) -> None:
    jsonl = write_jsonl(tmp_path / "seeds.jsonl", export_as_bulk(engine))
    bulk_engine = create_db_engine(settings_for(bulk_db), writer=True)
    report = BulkLoader(bulk_engine, batch_size=2, fts=fts).load([jsonl])
    assert (report.added, report.skipped, report.failures) == (5, 0, [])
    sync_search_index(settings_for(bulk_db), bulk_engine)  # as `newsdesk load-jsonl` does
    with make_client(settings_for(bulk_db), bulk_engine) as bulk:
        for url in REQUESTS:
            ingested, loaded = client.get(url), bulk.get(url)
            assert ingested.status_code == loaded.status_code == 200, url
            assert comparable(loaded.json()) == comparable(ingested.json()), url
        assert client.get("/articles?q=taliban").json()["total"] > 0
    bulk_engine.dispose()


def test_reload_skips_stored_articles_and_bad_lines_fail_alone(
    engine: Engine, bulk_db: str, tmp_path: Path
) -> None:
    records: list[Any] = export_as_bulk(engine)
    jsonl = write_jsonl(tmp_path / "seeds.jsonl", [*records[:2], {"title": "no body"}, records[2]])
    bulk_engine = create_db_engine(settings_for(bulk_db), writer=True)
    first = BulkLoader(bulk_engine).load([jsonl])
    assert first.added == 3
    assert [(f.origin.rsplit(":", 1)[1], f.reason) for f in first.failures] == [
        ("3", 'field "body" must hold the article text')
    ]
    second = BulkLoader(bulk_engine, fts="deferred").load([jsonl])
    assert (second.added, second.skipped) == (0, 3)
    with Session(bulk_engine) as session:
        assert len(session.exec(select(Article.id)).all()) == 3
    bulk_engine.dispose()


def test_cli_load_jsonl_reports_and_new_articles_are_searchable(
    engine: Engine, seeded_db: str, tmp_path: Path
) -> None:
    record = {
        "title": "Zanzibar clove harvest doubles",
        "body": "Farmers on Pemba island said the clove harvest doubled this year.",
        "source": "Island Courier",
        "published": "2025-03-01T08:00:00Z",
        "language": "en",
        "entities": [{"name": "Pemba", "type": "location", "mentions": 1}],
    }
    jsonl = write_jsonl(tmp_path / "one.jsonl", [record])
    result = CliRunner().invoke(cli, ["load-jsonl", str(jsonl), "--database-url", seeded_db])
    assert result.exit_code == 0, result.output
    assert "1 added, 0 skipped" in result.output
    with make_client(settings_for(seeded_db), engine) as client:
        page = client.get("/articles?q=clove&entity=pemba&source=island courier").json()
        assert [item["title"] for item in page["items"]] == [record["title"]]
        assert client.get("/articles").json()["total"] == 6


@pytest.mark.parametrize("fts", ["triggers", "deferred"])
def test_bulk_loaded_arabic_script_is_indexed_folded(
    fts: FtsMode, bulk_db: str, tmp_path: Path
) -> None:
    """Typed on an Arabic keyboard, found by the same words typed on a Persian one."""
    record = {
        "title": "بانك مركزي",
        "body": "وَزِيرِ اقتصاد گفت كه بانك مركزي نرخ بهـــرة را كاهش مي‌دهد.",
        "source": "Kabul Desk",
        "language": "fa",
    }
    jsonl = write_jsonl(tmp_path / "one.jsonl", [record])
    bulk_engine = create_db_engine(settings_for(bulk_db), writer=True)
    assert BulkLoader(bulk_engine, fts=fts).load([jsonl]).added == 1
    sync_search_index(settings_for(bulk_db), bulk_engine)
    with make_client(settings_for(bulk_db), bulk_engine) as client:
        page = client.get("/articles", params={"q": "بانک بهره"}).json()
        assert [item["title"] for item in page["items"]] == [record["title"]]
    bulk_engine.dispose()


@pytest.fixture
def other_bulk_db(empty_template: Template, tmp_path: Path, backend: Backend) -> Iterator[str]:
    """A second empty database, for loading the same file another way."""
    yield from fresh_database(empty_template, tmp_path / "other.db", backend)


def stored_rows(engine: Engine) -> dict[str, list[Any]]:
    """Every row the bulk path writes, in key order, without the load's own timestamps."""
    tables = {
        "article": "SELECT * FROM article ORDER BY id",
        "source": "SELECT * FROM source ORDER BY id",
        "entity": "SELECT * FROM entity ORDER BY id",
        "entity_alias": "SELECT * FROM entity_alias ORDER BY id",
        "article_entity": "SELECT * FROM article_entity ORDER BY article_id, entity_id",
        "article_tag": "SELECT * FROM article_tag ORDER BY article_id, tag",
    }
    # PostgreSQL's sequences are not rolled back: a killed load leaves gaps in alias ids.
    unstable = {"article": ("ingested_at", "updated_at"), "entity_alias": ("id",)}
    with engine.connect() as connection:
        return {
            table: [
                {k: v for k, v in row._mapping.items() if k not in unstable.get(table, ())}
                for row in connection.exec_driver_sql(sql)
            ]
            for table, sql in tables.items()
        }


def test_several_processes_load_the_same_database_as_one(
    engine: Engine,
    bulk_db: str,
    other_bulk_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Lines parsed in two processes, chunk by chunk, and the index built in two: the same
    rows, ids, entity links, failures and search answers as one process gives."""
    seeds: list[Any] = export_as_bulk(engine)
    records: list[Any] = []
    for copy in range(8):  # variants of the seeds: new entities and aliases along the way
        for seed in seeds:
            entities = [{**e, "name": f"{e['name']} {copy % 3}"} for e in seed["entities"]]
            records.append(
                {**seed, "body": f"{seed['body']} Copy {copy}.", "url": None}
                | {"entities": seed["entities"] + entities, "tags": [f"copy-{copy % 2}"]}
            )
    records[7:7] = [{"title": "no body"}, records[3], "not an object"]  # bad lines, a duplicate
    jsonl = write_jsonl(tmp_path / "many.jsonl", records)
    monkeypatch.setattr(bulk_records, "CHUNK_LINES", 3)  # many chunks, out of order if wrong
    monkeypatch.setattr(sync, "READ_CHUNK", 4)  # many id ranges to build documents from
    loaded = {}
    for processes, url in ((1, bulk_db), (2, other_bulk_db)):
        bulk_engine = create_db_engine(settings_for(url), writer=True)
        with worker_pool(processes) as pool:
            loader = BulkLoader(bulk_engine, batch_size=7, fts="deferred", pool=pool)
            report = loader.load([jsonl])
            sync_search_index(settings_for(url), bulk_engine, rebuild=True, pool=pool)
        with make_client(settings_for(url), bulk_engine) as client:
            answers = [client.get(request).json() for request in REQUESTS]
        loaded[processes] = (report.added, report.skipped, report.failures), answers
        loaded[processes] += (stored_rows(bulk_engine),)
        bulk_engine.dispose()
    assert loaded[1][0][:2] == (40, 1)
    assert [f.origin.rsplit(":", 1)[1] for f in loaded[1][0][2]] == ["8", "10"]
    assert loaded[1][2]["article_entity"] and loaded[1][2]["entity_alias"]
    assert loaded[2] == loaded[1]


def test_a_load_feeds_the_index_the_documents_a_rebuild_makes(
    engine: Engine, bulk_db: str, tmp_path: Path, backend: Backend
) -> None:
    """`newsdesk load-jsonl` indexes each article as it stores it (nothing read back): every
    filter, facet and search answers from that index exactly as from one rebuilt from the
    database, and the load leaves the index current."""
    if backend != "tantivy":
        pytest.skip("the index: a load on PostgreSQL writes none, [sqlite] searches FTS5")
    seeds: list[Any] = export_as_bulk(engine)
    records = [  # new entities, tags, sources, authors; the last copy's domains are its source's
        {**seed, "body": f"{seed['body']} Copy {copy}."}
        | {"url": f"{seed['url']}?c={copy}" if seed["url"] and copy < 3 else None}
        | {"tags": [f"copy-{copy % 2}", "seeds"], "author": f"Writer {copy % 3}"}
        | {"source": f"{seed['source']} {copy % 2}" if copy else seed["source"]}
        | {"entities": seed["entities"] + [{"name": f"Person {copy}", "type": "person"}]}
        for copy in range(4)
        for seed in seeds
    ]
    jsonl = write_jsonl(tmp_path / "many.jsonl", records)
    settings = settings_for(bulk_db)
    first = CliRunner().invoke(cli, ["load-jsonl", str(jsonl), "--database-url", bulk_db])
    assert first.exit_code == 0, first.output
    assert "20 added" in first.output and "search index fed: 20 articles" in first.output
    bulk_engine = create_db_engine(settings)
    index = search_index_for(settings)
    assert index is not None and (state := index.read_state()) is not None
    with bulk_engine.connect() as connection:
        assert state.watermark == database_head(connection)  # current: searches use it
    domain = urlsplit(next(r["url"] for r in records if r["url"])).hostname
    requests = [
        *REQUESTS,
        "/articles?tag=copy-1&q=taliban",
        "/articles?author=writer 2",
        "/articles?entity=Person 3",
        "/articles?entity_type=person&q=kabul&source=Amu TV 1",
        "/articles?q=taliban&facets=source,entity,entity_type,tag,language,month",
        f"/v2/everything?q=taliban&domains={domain}",
    ]
    answers = []
    for rebuild in (False, True):
        if rebuild:
            sync_search_index(settings, bulk_engine, rebuild=True)
        with make_client(settings, bulk_engine) as client:
            answers.append([client.get(request).json() for request in requests])
    bulk_engine.dispose()
    assert answers[0] == answers[1]
    assert answers[0][-5]["total"] == answers[0][-4]["total"] == 5  # one copy of each seed
    assert answers[0][-1]["totalResults"] > 0


def test_a_feed_keeps_nothing_when_another_writer_changed_the_database_first(
    engine: Engine, bulk_db: str, tmp_path: Path, backend: Backend
) -> None:
    """Documents are fed only for a load whose transaction begins at the index's watermark:
    after a write in between, the load is stored unfed, and the sync after it applies both
    writes from the change log."""
    if backend != "tantivy":
        pytest.skip("the index: a load on PostgreSQL writes none, [sqlite] searches FTS5")
    records: list[Any] = export_as_bulk(engine)
    first = write_jsonl(tmp_path / "first.jsonl", records[:1])
    rest = write_jsonl(tmp_path / "rest.jsonl", records[1:])
    settings = settings_for(bulk_db)
    bulk_engine = create_db_engine(settings, writer=True)
    with index_feed(settings, bulk_engine) as feed:
        assert feed is not None
        assert BulkLoader(bulk_engine).load([first]).added == 1  # the other writer
        assert BulkLoader(bulk_engine, fts="deferred", feed=feed).load([rest]).added == 4
    assert (feed.active, feed.added, feed.committed) == (False, 0, False)
    synced = sync_search_index(settings, bulk_engine, wait_seconds=1)
    assert synced is not None and synced.applied == 5  # the feed let go of the writer
    with make_client(settings, bulk_engine) as client:
        assert client.get("/articles").json()["total"] == 5
        titles = {r["title"] for r in records}
        assert {i["title"] for i in client.get("/articles?limit=5").json()["items"]} == titles
    bulk_engine.dispose()


@given(
    title=st.none() | st.text(alphabet=st.sampled_from("ab\u00e9\u0643 \t\n\r\x0b\u00a0\u2003")),
    body=st.text(alphabet=st.sampled_from("xy\u0640 \n\u3000\u200c")).filter(str.strip),
)
def test_a_bulk_record_has_the_content_hash_an_ingest_gives_it(
    title: str | None, body: str
) -> None:
    """The hash that finds an article already stored, by either path: whitespace runs of any
    kind are one space, the title's words come before the body's (stored hashes depend on
    this definition: a database loaded by an older version must still find its articles)."""
    record = bulk_records.parse_record({"title": title, "body": body}, "test:1")
    defined = " ".join(f"{title or ''}\n{body}".split())
    expected = hashlib.sha256(defined.encode()).hexdigest()
    assert record.values["content_hash"] == expected
    assert content_hash(ArticleDraft(origin="test", title=title, body=body)) == expected


@pytest.mark.parametrize("few", [0, 1_000])
def test_a_load_leaves_every_index_as_the_migrations_made_it(
    few: int,
    engine: Engine,
    bulk_db: str,
    tmp_path: Path,
    backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Into an archive of fewer than `few` articles a load builds the secondary indexes after
    its rows; either way the same indexes are there after it, consistent with the rows."""
    if not bulk_db.startswith("sqlite"):
        pytest.skip("SQLite's indexes: a PostgreSQL load keeps its own")
    monkeypatch.setattr(bulk, "_FEW_ARTICLES", few)
    jsonl = write_jsonl(tmp_path / "seeds.jsonl", export_as_bulk(engine))
    bulk_engine = create_db_engine(settings_for(bulk_db), writer=True)
    indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
    with bulk_engine.connect() as connection:
        before = connection.exec_driver_sql(indexes).all()
    assert BulkLoader(bulk_engine, fts="deferred").load([jsonl]).added == 5
    with bulk_engine.connect() as connection:
        assert connection.exec_driver_sql(indexes).all() == before
        assert connection.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
        plan = connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT article_id FROM article_entity WHERE entity_id = 1"
        ).all()
        assert "ix_article_entity_entity" in str(plan)
    bulk_engine.dispose()


def run_load(jsonl: Path, database_url: str, kill_at: str | None = None) -> CompletedProcess[str]:
    """`newsdesk load-jsonl` as a user runs it (this tree's code), two batches of two."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSDESK_")}
    env |= {"PYTHONPATH": str(PROJECT_ROOT)} | (
        {"NEWSDESK_FAULT_KILL_AT": kill_at} if kill_at else {}
    )
    command = [sys.executable, "-m", "app.cli", "load-jsonl", str(jsonl), "--batch-size", "2"]
    command += ["--workers", "2", "--database-url", database_url]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("point", ["bulk_batch_stored:2", "index_written", "index_committed"])
def test_killed_load_then_run_again_gives_the_database_of_a_clean_load(
    point: str, engine: Engine, bulk_db: str, other_bulk_db: str, tmp_path: Path
) -> None:
    """kill -9 inside the load's transaction, or between its commit and the index's: the
    same load run again leaves the rows, entity links and search answers of a clean load."""
    if point.startswith("index") and not bulk_db.startswith("sqlite"):
        pytest.skip(
            "on PostgreSQL a load writes no search index (API nodes catch up from the change "
            "log), so there is no index sync to stop"
        )
    jsonl = write_jsonl(tmp_path / "seeds.jsonl", export_as_bulk(engine))
    killed = run_load(jsonl, bulk_db, kill_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    again = run_load(jsonl, bulk_db)
    assert again.returncode == 0, again.stderr[-2000:]
    clean = run_load(jsonl, other_bulk_db)
    assert clean.returncode == 0 and "5 added, 0 skipped" in clean.stdout, clean.stdout
    results = []
    for url in (bulk_db, other_bulk_db):
        bulk_engine = create_db_engine(settings_for(url))
        with make_client(settings_for(url), bulk_engine) as client:
            results.append(
                (stored_rows(bulk_engine), [client.get(request).json() for request in REQUESTS])
            )
        bulk_engine.dispose()
    assert results[0] == results[1]
    assert results[0][1][0]["total"] == 5
