"""PostgreSQL only: two ingest processes at once, migrations both ways, the same rows as SQLite.

Everything that goes through the API runs on both databases through the shared fixtures;
the tests here cover what only a server database has (concurrent writers) or compare the
two databases directly. They need TEST_DATABASE_URL (see tests/backends.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from app.config import PROJECT_ROOT
from app.db import downgrade_database, head_revision, upgrade_database
from app.ingest.document import ArticleDraft
from app.ingest.pipeline import read_all
from app.ingest.store.articles import content_hash
from tests.backends import PostgresServer, sqlite_url
from tests.corpus_variety import SOURCES, spread_dates_and_sources
from tests.helpers import SEEDS_DIR, ingest_paths, seed_database, settings_for
from tests.search_cases import SAME_MATCHES

pytestmark = pytest.mark.postgres


@pytest.fixture
def new_database(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of a brand-new PostgreSQL database with no schema."""
    url = postgres_server.create()
    yield url
    postgres_server.drop(url)


def rows(url: str, sql: str) -> list[Any]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def scalar(url: str, sql: str) -> Any:
    return rows(url, sql)[0][0]


def start_ingest(url: str, *paths: Path, nlp: bool) -> subprocess.Popen[str]:
    """`newsdesk ingest` as a user runs it, in a process of its own."""
    command = [sys.executable, "-m", "app.cli", "ingest", *map(str, paths)]
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.Popen(
        [*command, "--nlp" if nlp else "--no-nlp"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    stdout, stderr = process.communicate(timeout=900)
    assert process.returncode == 0, f"ingest failed:\n{stdout}\n{stderr[-3000:]}"
    assert " 0 failed" in stdout, stdout
    return stdout


def expected_articles(*folders: Path) -> tuple[set[str], set[str]]:
    """The distinct content hashes and every origin the files of `folders` hold."""
    settings = settings_for("sqlite://")
    drafts = [item for item in read_all(folders, settings) if isinstance(item, ArticleDraft)]
    return {content_hash(draft) for draft in drafts}, {draft.origin for draft in drafts}


@pytest.mark.slow
@pytest.mark.corpus
def test_two_ingest_processes_over_overlapping_files_store_each_article_once(
    new_database: str, bbc_corpus: Path
) -> None:
    # Two writers start on the shared folder at the same moment, so they race for the same
    # articles (content hash) and sources; two more ingest the seeds with NLP at the same
    # time, racing for the same entities and aliases. All four also race to create the
    # schema of the brand-new database.
    shared, first_only, second_only = (bbc_corpus / name for name in ("politics", "tech", "sport"))
    processes = [
        start_ingest(new_database, shared, first_only, nlp=False),
        start_ingest(new_database, shared, second_only, nlp=False),
        start_ingest(new_database, SEEDS_DIR, nlp=True),
        start_ingest(new_database, SEEDS_DIR, nlp=True),
    ]
    outputs = [finish(process) for process in processes]

    hashes, origins = expected_articles(shared, first_only, second_only, SEEDS_DIR)
    stored = rows(new_database, "SELECT content_hash, url, origins FROM article")
    assert len(stored) == len(hashes), outputs
    assert {row[0] for row in stored} == hashes
    assert {origin for row in stored for origin in row[2]} == origins, "no file is lost"
    urls = [row[1] for row in stored if row[1] is not None]
    assert len(urls) == len(set(urls))
    # Every seed got its entities, and no entity or alias exists twice.
    unlinked = scalar(
        new_database,
        f"SELECT count(*) FROM article a WHERE a.origin LIKE '{SEEDS_DIR.as_posix()}/%' "
        "AND NOT EXISTS (SELECT 1 FROM article_entity l WHERE l.article_id = a.id)",
    )
    assert unlinked == 0
    for table, columns in (("entity", "name, type"), ("entity_alias", "key, entity_type")):
        twice = f"SELECT {columns} FROM {table} GROUP BY {columns} HAVING count(*) > 1"
        assert rows(new_database, twice) == []
    # The runs together added each article once: whatever one added, the others found.
    added = sum(int(out.split(" added")[0].split()[-1]) for out in outputs)
    assert added == len(hashes)


def test_migrations_go_down_and_up_again_on_a_populated_database(new_database: str) -> None:
    url = new_database
    upgrade_database(url)
    ingest_paths(settings_for(url), SEEDS_DIR, nlp=False)
    matching = (
        "SELECT count(*) FROM article WHERE search_vector @@ to_tsquery('newsdesk', 'medvedev')"
    )
    assert scalar(url, matching) == 1

    downgrade_database(url, "0001")
    assert scalar(url, "SELECT count(*) FROM article") == 5
    columns = rows(
        url, "SELECT column_name FROM information_schema.columns WHERE table_name = 'article'"
    )
    assert ("search_vector",) not in columns
    assert scalar(url, "SELECT count(*) FROM pg_ts_config WHERE cfgname = 'newsdesk'") == 0

    upgrade_database(url)
    assert scalar(url, matching) == 1, "the generated column indexes the existing rows"
    downgrade_database(url, "base")
    tables = rows(url, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    assert tables == [("alembic_version",)]
    upgrade_database(url)
    assert scalar(url, "SELECT count(*) FROM article") == 0
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "db", "current"],
        env={**os.environ, "DATABASE_URL": url},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == head_revision()


def test_punctuation_and_accents_are_indexed_as_the_query_parser_splits_words(
    new_database: str,
) -> None:
    upgrade_database(new_database)
    engine: Engine = create_engine(new_database, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO article (title, body, word_count, content_hash, origin, origins, "
                "cites, extra, provenance, ingested_at, updated_at) VALUES "
                "('U.S. talks', :body, 9, 'h', 'o', '[]', '[]', '{}', '{}', now(), now())"
            ),
            {"body": "An e-mail from Medvédev’s office: “IS-K” and the 3.5% rate."},
        )
    engine.dispose()
    from app.search.query import parse_query, to_tsquery

    found = "SELECT count(*) FROM article WHERE search_vector @@ to_tsquery('newsdesk', '{}')"
    for query in ("U.S.", "us", "e-mail", "medvedev", "Medvédev’s", "IS-K", "3.5", "talks"):
        compiled = to_tsquery(parse_query(query)).replace("'", "''")
        expected = 0 if query == "us" else 1
        assert scalar(new_database, found.format(compiled)) == expected, query


def test_postgres_ingest_stores_what_sqlite_ingest_stores(
    postgres_server: PostgresServer, sqlite_seeded_template: Path
) -> None:
    """The seeds ingested (with NER) into each database: the same articles, entities, links."""
    postgres = postgres_server.url_of(postgres_server.template("seeded", seed_database))
    sqlite = sqlite_url(sqlite_seeded_template)
    queries = [
        "SELECT id, content_hash, title, published_at, source_id, word_count FROM article",
        "SELECT id, name, domain FROM source",
        "SELECT name, type FROM entity",
        "SELECT a.origin, e.name, e.type, l.mentions FROM article_entity l "
        "JOIN entity e ON e.id = l.entity_id JOIN article a ON a.id = l.article_id",
        "SELECT key, entity_type FROM entity_alias",
    ]
    for query in queries:
        on_postgres, on_sqlite = rows(postgres, query), rows(sqlite, query)
        assert on_postgres, query
        assert sorted(map(normalise, on_postgres)) == sorted(map(normalise, on_sqlite)), query


def normalise(row: tuple[Any, ...]) -> tuple[str, ...]:
    """A row as strings; SQLite returns timestamps as text, PostgreSQL as datetimes."""
    return tuple(as_text(value) for value in row)


def as_text(value: Any) -> str:
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == " ":
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return "" if value is None else str(value)


@pytest.fixture(scope="module")
def both_bbc_clients(
    postgres_server: PostgresServer,
    sqlite_bbc_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    """Clients on the same BBC rows in SQLite (searched by FTS5) and PostgreSQL: copies of
    the ingested file and of its PostgreSQL copy, given the same dates and sources."""
    from app.db import create_db_engine
    from tests.backends import copy_database, copy_of_sqlite
    from tests.clients import make_client

    template = postgres_server.template("bbc", copy_of_sqlite(sqlite_bbc_template))
    copy = tmp_path_factory.mktemp("bbc") / "bbc.db"
    urls = {
        "sqlite": copy_database(sqlite_bbc_template, copy, "sqlite"),
        "postgresql": postgres_server.clone(template),
    }
    clients, engines = {}, []
    for name, url in urls.items():
        writer = create_db_engine(settings_for(url), writer=True)
        spread_dates_and_sources(writer)
        writer.dispose()
        engine = create_db_engine(settings_for(url))
        engines.append(engine)
        clients[name] = make_client(settings_for(url), engine)
    yield clients
    for engine in engines:
        engine.dispose()
    postgres_server.release(urls["postgresql"])


def all_ids(client: Any, params: dict[str, str]) -> list[int]:
    response = client.get("/articles", params={**params, "format": "jsonl"})
    assert response.status_code == 200, response.text
    return sorted(json.loads(line)["id"] for line in response.text.splitlines() if line)


@pytest.mark.corpus
@pytest.mark.parametrize("search_in", ["all", "title", "body"])
def test_both_databases_find_the_same_bbc_articles(
    both_bbc_clients: dict[str, Any], search_in: str
) -> None:
    # The same sets and totals; the order by relevance legitimately differs (BM25 on SQLite,
    # ts_rank_cd on PostgreSQL), so it is only checked to be by descending score on each.
    for q in SAME_MATCHES:
        params = {"q": q, "search_in": search_in}
        found = {name: all_ids(client, params) for name, client in both_bbc_clients.items()}
        assert found["sqlite"] == found["postgresql"], (q, search_in)
        for client in both_bbc_clients.values():
            page = client.get("/articles", params={**params, "sort": "relevance"}).json()
            assert page["total"] == len(found["sqlite"]), q
            scores = [item["score"] for item in page["items"]]
            assert scores == sorted(scores, reverse=True), q
    assert any(
        all_ids(both_bbc_clients["sqlite"], {"q": q, "search_in": search_in}) for q in SAME_MATCHES
    )


@pytest.mark.corpus
@pytest.mark.parametrize("q", [None, "blair", '"world cup"'])
def test_both_databases_count_the_same_facets_and_timeline(
    both_bbc_clients: dict[str, Any], q: str | None
) -> None:
    search = {"q": q} if q else {}
    facets = {**search, "facets": "source,entity,entity_type,language,tag,month", "limit": "5"}
    answers = {
        name: (
            client.get("/articles", params=facets).json()["facets"],
            client.get("/timeline", params={**search, "interval": "month"}).json(),
            client.get("/timeline", params={**search, "interval": "week", "by": "source"}).json(),
        )
        for name, client in both_bbc_clients.items()
    }
    assert answers["sqlite"] == answers["postgresql"]
    # Every part compared holds real values, so a difference in any of them could show.
    facets_found, months, weeks_by_source = answers["sqlite"]
    for name in ("source", "entity", "entity_type", "language", "tag", "month"):
        assert facets_found[name]["values"], name
    assert len({value["value"] for value in facets_found["source"]["values"]} & set(SOURCES)) > 1
    assert sum(months["counts"]) > 0 and months["undated"] > 0
    assert len(weeks_by_source["series"]) > 1
