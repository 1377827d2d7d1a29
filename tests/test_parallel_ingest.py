"""`newsdesk ingest` with worker processes stores exactly what one process stores.

Workers read the files and recognise entities (English with spaCy, Russian with natasha);
the ingest's own process stores them in the same order and transactions. So the database a
two-worker ingest builds must equal, row for row and id for id, the one a single-process
ingest of the same files builds, and its search answers must be the same. A second run with
workers changes nothing. (kill -9 during an ingest with workers: tests/test_crash_safety.py.)
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.config import PROJECT_ROOT
from app.db import create_db_engine
from tests.backends import sqlite_url
from tests.clients import make_client
from tests.crash_state import assert_clean_run, query, run_cli_ingest
from tests.helpers import SEEDS_DIR, settings_for

BATCH = 8
BBC_PER_CATEGORY = 6
LANGUAGES_DIR = PROJECT_ROOT / "tests" / "data" / "languages"

# Every stored row but the times of the run that stored it, and the ids of aliases (the
# curated ones are written in an order that differs from one process to the next).
TABLES = {
    "article": "id, source_id, url, title, subtitle, author, dateline, published_at, language, "
    "lede, body, word_count, content_hash, origin, origins, cites, extra, provenance, "
    "duplicate_of, fingerprint, entity_model",
    "entity": "id, name, type",
    "entity_alias": "alias, key, entity_type, entity_id, curated",
    "article_entity": "article_id, entity_id, mentions, forms",
    "article_tag": "article_id, tag",
    "source": "id, name, domain",
    "article_band": "band_key, article_id",
    "search_change": "seq, article_id",
}

SEARCHES: list[dict[str, Any]] = [
    {},
    {"q": "government", "facets": ["entity", "entity_type", "tag"]},
    {"q": "Путин"},
    {"q": '"prime minister"'},
    {"entity_type": "person", "facets": ["entity"]},
    {"entity_type": "organization", "sort": "published_at"},
    {"language": "ru", "facets": ["entity"]},
]


@dataclass
class Ingested:
    root: Path
    single: Path
    parallel: Path


def rows(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: query(database, f"SELECT {columns} FROM {table} ORDER BY {columns}")
        for table, columns in TABLES.items()
    }


def answers(database: Path, engine_name: str) -> Iterator[tuple[dict[str, Any], Any]]:
    """Each search's total, article ids in order (newest first: relevance ties may fall
    either way in the index) and facets, through the API on one search engine."""
    settings = settings_for(sqlite_url(database), search_engine=engine_name)
    engine = create_db_engine(settings)
    try:
        with make_client(settings, engine) as client:
            for params in SEARCHES:
                response = client.get(
                    "/articles", params={"limit": 100, "sort": "-published_at", **params}
                )
                assert response.status_code == 200, response.text
                page = response.json()
                ids = [item["id"] for item in page["items"]]
                yield params, (page["total"], ids, page.get("facets"))
            response = client.get("/entities", params={"limit": 100})
            assert response.status_code == 200, response.text
            yield {"entities": True}, response.json()["items"]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def ingested(bbc_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Ingested:
    """Seeds, articles in other languages (Russian among them) and a few BBC articles per
    category, ingested once in one process and once with two workers."""
    folder = tmp_path_factory.mktemp("parallel")
    root = folder / "articles"
    shutil.copytree(SEEDS_DIR, root / "seeds")
    shutil.copytree(LANGUAGES_DIR, root / "languages")
    for category in sorted(path for path in bbc_corpus.iterdir() if path.is_dir()):
        (root / "bbc" / category.name).mkdir(parents=True)
        for path in sorted(category.glob("*.txt"))[:BBC_PER_CATEGORY]:
            shutil.copy(path, root / "bbc" / category.name / path.name)
    single, parallel = folder / "single.db", folder / "parallel.db"
    assert_clean_run(run_cli_ingest(root, single, batch=BATCH, workers=1))
    assert_clean_run(run_cli_ingest(root, parallel, batch=BATCH, workers=2))
    return Ingested(root, single, parallel)


@pytest.mark.corpus
@pytest.mark.slow
def test_two_workers_store_what_one_process_stores(ingested: Ingested) -> None:
    single, parallel = rows(ingested.single), rows(ingested.parallel)
    # Something in each language was recognised: the comparison is not of empty tables.
    models = {model for (model,) in query(ingested.parallel, "SELECT entity_model FROM article")}
    assert {"en_core_web_sm", "natasha"} <= models
    assert len(parallel["article_entity"]) > 300
    for table in TABLES:
        assert parallel[table] == single[table], table


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("engine_name", ["tantivy", "database"])
def test_two_workers_give_the_same_search_answers(ingested: Ingested, engine_name: str) -> None:
    single = list(answers(ingested.single, engine_name))
    parallel = list(answers(ingested.parallel, engine_name))
    assert any(total > 0 for params, (total, *_) in single[1:-1] if "q" in params)
    assert parallel == single


@pytest.mark.corpus
@pytest.mark.slow
def test_a_second_ingest_with_workers_changes_nothing(ingested: Ingested, tmp_path: Path) -> None:
    database = tmp_path / "again.db"
    shutil.copyfile(ingested.parallel, database)
    shutil.copytree(ingested.parallel.with_suffix(".index"), database.with_suffix(".index"))
    before = rows(database)
    again = run_cli_ingest(ingested.root, database, batch=BATCH, workers=2)
    assert_clean_run(again)
    assert "0 added, 0 updated, " in again.stdout, again.stdout
    assert rows(database) == before
