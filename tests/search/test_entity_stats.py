"""Each entity's counts in entity_stats (migration 0017) stay what counting its links gives,
whatever writes the links: ingest, SQL of any kind, curation, a bulk load, the migration's
own backfill; on every engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

from app.db import create_db_engine, downgrade_database, upgrade_database
from app.ingest.store.bulk import BulkLoader, FtsMode
from tests.backends import Backend, Template, fresh_database
from tests.clients import run_newsdesk
from tests.helpers import settings_for
from tests.ingest.test_bulk import export_as_bulk, write_jsonl

Counts = dict[int, tuple[int, int]]  # entity id -> (articles, mentions)


def counted_from_links(connection: Connection) -> Counts:
    rows = connection.execute(
        text("SELECT entity_id, count(*), sum(mentions) FROM article_entity GROUP BY entity_id")
    )
    return {int(entity): (int(articles), int(mentions)) for entity, articles, mentions in rows}


def kept(connection: Connection) -> Counts:
    """The kept counts of entities still mentioned; one no longer mentioned has zeros."""
    rows = connection.execute(text("SELECT entity_id, articles, mentions FROM entity_stats"))
    counts = {int(entity): (int(articles), int(mentions)) for entity, articles, mentions in rows}
    unmentioned = {entity: c for entity, c in counts.items() if c[0] == 0}
    assert all(c == (0, 0) for c in unmentioned.values()), unmentioned
    return {entity: c for entity, c in counts.items() if c[0] != 0}


def assert_kept_right(engine: Engine) -> Counts:
    with engine.connect() as connection:
        expected = counted_from_links(connection)
        assert kept(connection) == expected
    return expected


@pytest.fixture
def engine(seeded_db: str) -> Iterator[Engine]:
    engine = create_db_engine(settings_for(seeded_db), writer=True)
    yield engine
    engine.dispose()


def one_value(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def test_counts_follow_every_kind_of_link_write(engine: Engine) -> None:
    before = assert_kept_right(engine)  # as the ingest of the seeds left them
    assert before and any(mentions > articles for articles, mentions in before.values())
    article = one_value(engine, "SELECT min(article_id) FROM article_entity")
    linked = one_value(
        engine, f"SELECT min(entity_id) FROM article_entity WHERE article_id = {article}"
    )
    unlinked = one_value(
        engine,
        "SELECT min(id) FROM entity WHERE id NOT IN "
        f"(SELECT entity_id FROM article_entity WHERE article_id = {article})",
    )
    busiest = one_value(
        engine,
        "SELECT entity_id FROM article_entity GROUP BY entity_id "
        "ORDER BY count(*) DESC, entity_id LIMIT 1",
    )
    last_article = one_value(engine, "SELECT max(id) FROM article")
    writes = [
        f"UPDATE article_entity SET mentions = mentions + 2 WHERE article_id = {article}",
        f"UPDATE article_entity SET entity_id = {unlinked} "
        f"WHERE article_id = {article} AND entity_id = {linked}",
        f"DELETE FROM article_entity WHERE article_id = {article} AND entity_id = {unlinked}",
        "INSERT INTO article_entity (article_id, entity_id, mentions, forms) "
        f"VALUES ({article}, {linked}, 4, '[]')",
        f"DELETE FROM article WHERE id = {last_article}",  # its links go by cascade
        f"DELETE FROM entity WHERE id = {busiest}",  # its links and its counts go by cascade
    ]
    for statement in writes:
        with engine.begin() as connection:
            connection.execute(text(statement))
        after = assert_kept_right(engine)
        assert after != before, statement
        before = after
    assert busiest not in before and linked in before


def test_a_merge_moves_the_counts_with_the_links(engine: Engine, seeded_db: str) -> None:
    names = {
        name: one_value(engine, f"SELECT id FROM entity WHERE name = '{name}'")
        for name in ("Russia", "Kremlin")
    }
    done = run_newsdesk("entities", "merge", "Russia", "Kremlin", database_url=seeded_db)
    assert done.returncode == 0, done.stderr
    counts = assert_kept_right(engine)
    assert names["Kremlin"] not in counts and names["Russia"] in counts


@pytest.fixture
def bulk_db(empty_template: Template, tmp_path: Path, backend: Backend) -> Iterator[str]:
    yield from fresh_database(empty_template, tmp_path / "bulk.db", backend)


@pytest.mark.parametrize("fts", ["triggers", "deferred"])
def test_a_bulk_load_counts_what_an_ingest_counts(
    engine: Engine, bulk_db: str, fts: FtsMode, tmp_path: Path
) -> None:
    records = export_as_bulk(engine)
    jsonl = write_jsonl(tmp_path / "seeds.jsonl", records + records)  # the second time: skipped
    bulk_engine = create_db_engine(settings_for(bulk_db), writer=True)
    report = BulkLoader(bulk_engine, batch_size=2, fts=fts).load([jsonl])
    assert (report.added, report.skipped) == (len(records), len(records))
    loaded = assert_kept_right(bulk_engine)
    by_name = (
        "SELECT e.name, s.articles, s.mentions "
        "FROM entity_stats s JOIN entity e ON e.id = s.entity_id"
    )
    with engine.connect() as ingested, bulk_engine.connect() as bulk:
        assert sorted(bulk.execute(text(by_name)).all()) == sorted(
            ingested.execute(text(by_name)).all()
        )
    bulk_engine.dispose()
    assert sum(articles for articles, _ in loaded.values()) > len(records)


def test_the_migration_counts_the_links_already_stored(engine: Engine, seeded_db: str) -> None:
    expected = assert_kept_right(engine)
    engine.dispose()
    downgrade_database(seeded_db, "0016")
    upgrade_database(seeded_db)
    assert assert_kept_right(engine) == expected
