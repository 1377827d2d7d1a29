"""The tantivy search index: it agrees with FTS5, follows every change, and is never used stale.

The [tantivy] half of the API suite runs every /articles test on the index; these tests
check the index itself: engine agreement on the BBC corpus (given dates and sources), the
change log (ingest, direct SQL, deletes, curation), crash repair, and a busy writer. The
date orders of every engine are compared in test_date_order.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tantivy
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import Settings
from app.db import create_db_engine, upgrade_database
from app.search.filter import ArticleFilter
from app.search.query import parse_query
from app.search.tantivy import index as index_module
from app.search.tantivy.aggregations import IndexCounts
from app.search.tantivy.index import (
    SCHEMA_VERSION,
    SearchIndex,
    search_index_for,
)
from app.search.tantivy.sync import sync_index, sync_search_index
from tests.backends import copy_database, copy_of_sqlite
from tests.clients import make_client
from tests.corpus_variety import SOURCES, spread_dates_and_sources
from tests.helpers import SEEDS_DIR, catch_up, ingest_paths, settings_for
from tests.search_cases import SAME_ANSWERS


@pytest.fixture(params=["sqlite", "postgresql"])
def bbc_pair(
    request: pytest.FixtureRequest, sqlite_bbc_template: Path, tmp_path: Path
) -> Iterator[dict[str, TestClient]]:
    """Clients on the BBC database with dates and sources: one searched by the database
    (FTS5, or PostgreSQL's own search), one by the tantivy index. On SQLite two copies (the
    index sits beside the file); on PostgreSQL one database, the index in a node's folder."""
    urls, settings_by_engine = [], {}
    if request.param == "sqlite":
        for engine_name, backend in (("fts5", "sqlite"), ("tantivy", "tantivy")):
            url = copy_database(sqlite_bbc_template, tmp_path / f"{engine_name}.db", backend)  # type: ignore[arg-type]
            settings_by_engine[engine_name] = settings_for(url)
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.clone(server.template("bbc", copy_of_sqlite(sqlite_bbc_template)))
        urls.append(url)
        settings_by_engine["fts5"] = settings_for(url, search_engine="database")
        settings_by_engine["tantivy"] = settings_for(
            url, search_engine="tantivy", search_index_dir=tmp_path / "node.index"
        )
    clients, engines = {}, []
    for engine_name, settings_ in settings_by_engine.items():
        writer = create_db_engine(settings_, writer=True)
        if engine_name == "tantivy" or request.param == "sqlite":
            spread_dates_and_sources(writer)  # on PostgreSQL once: both clients share the rows
        sync_search_index(settings_, writer)  # through the change log, as after any change
        if request.param == "postgresql" and engine_name == "tantivy":
            catch_up(settings_, writer)
        writer.dispose()
        engine = create_db_engine(settings_)
        engines.append(engine)
        clients[engine_name] = make_client(settings_, engine)
    yield clients
    for engine in engines:
        engine.dispose()
    for url in urls:
        request.getfixturevalue("postgres_server").release(url)


def all_ids(client: TestClient, params: dict[str, str]) -> list[int]:
    response = client.get("/articles", params={**params, "format": "jsonl"})
    assert response.status_code == 200, response.text
    return [json.loads(line)["id"] for line in response.text.splitlines() if line]


@pytest.mark.corpus
def test_both_engines_find_the_same_bbc_articles(bbc_pair: dict[str, TestClient]) -> None:
    assert bbc_pair["tantivy"].get("/readyz").json()["search_index"] == "current"
    assert bbc_pair["fts5"].get("/readyz").json()["search_index"] == "not_used"
    found_any = 0
    for params in SAME_ANSWERS:
        found = {name: sorted(all_ids(client, params)) for name, client in bbc_pair.items()}
        assert found["fts5"] == found["tantivy"], params
        totals = {
            name: c.get("/articles", params=params).json()["total"] for name, c in bbc_pair.items()
        }
        assert totals["fts5"] == totals["tantivy"] == len(found["fts5"]), params
        found_any += bool(found["fts5"])
    assert found_any >= len(SAME_ANSWERS) - 3  # the list is not mostly empty answers


@pytest.mark.corpus
@pytest.mark.parametrize("params", [{"q": "england"}, {"tag": "sport"}, {}])
def test_both_engines_leave_out_the_same_near_duplicates(
    bbc_pair: dict[str, TestClient], params: dict[str, str]
) -> None:
    """The corpus has near-duplicates among these matches, so the filter must remove some:
    an engine (or an API parameter) that ignored it would keep them."""
    everything = sorted(all_ids(bbc_pair["fts5"], params))
    without = {"duplicates": "exclude", **params}
    kept = {name: sorted(all_ids(client, without)) for name, client in bbc_pair.items()}
    assert kept["fts5"] == kept["tantivy"]
    assert set(kept["fts5"]) < set(everything)
    totals = {
        name: c.get("/articles", params=without).json()["total"] for name, c in bbc_pair.items()
    }
    assert totals["fts5"] == totals["tantivy"] == len(kept["fts5"])


@pytest.mark.corpus
@pytest.mark.parametrize(
    "params", [{}, {"q": "blair"}, {"q": '"world cup"'}, {"q": "economy", "tag": "business"}]
)
def test_both_engines_count_the_same_facets_and_timeline(
    bbc_pair: dict[str, TestClient], params: dict[str, str]
) -> None:
    facets = {**params, "facets": "source,entity,entity_type,language,tag,month", "limit": "5"}
    answers = {
        name: (
            client.get("/articles", params={**facets, "facet_size": "25"}).json()["facets"],
            client.get("/timeline", params={**params, "interval": "month"}).json(),
            client.get("/timeline", params={**params, "interval": "week", "by": "source"}).json(),
            client.get("/timeline", params={**params, "interval": "day", "by": "entity"}).json(),
        )
        for name, client in bbc_pair.items()
    }
    assert answers["fts5"] == answers["tantivy"]
    # Every part compared holds real values, so a difference in any of them could show.
    facets_found, months, weeks_by_source, days_by_entity = answers["fts5"]
    for name in ("source", "entity", "entity_type", "language", "tag", "month"):
        assert facets_found[name]["values"], name
    assert len({value["value"] for value in facets_found["source"]["values"]} & set(SOURCES)) > 1
    assert sum(months["counts"]) > 0 and months["undated"] > 0
    assert len(weeks_by_source["series"]) > 1 and days_by_entity["series"]


@pytest.mark.corpus
@pytest.mark.parametrize("sort", ["-published_at", "published_at"])
def test_both_engines_give_the_same_date_order(bbc_pair: dict[str, TestClient], sort: str) -> None:
    for params in ({"q": "economy"}, {"entity": "Tony Blair"}, {}):
        orders = {name: all_ids(c, {**params, "sort": sort}) for name, c in bbc_pair.items()}
        assert orders["fts5"] == orders["tantivy"], params


@pytest.mark.corpus
def test_a_relevance_walk_on_the_index_visits_each_match_once_best_first(
    bbc_pair: dict[str, TestClient],
) -> None:
    client = bbc_pair["tantivy"]
    seen: list[int] = []
    scores: list[float] = []
    params: dict[str, Any] = {"q": "economy OR market", "limit": 100}
    while True:
        page = client.get("/articles", params=params).json()
        seen += [item["id"] for item in page["items"]]
        scores += [item["score"] for item in page["items"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert len(seen) == len(set(seen)) == page["total"] > 300
    assert scores == sorted(scores, reverse=True)
    assert sorted(seen) == sorted(all_ids(bbc_pair["fts5"], {"q": "economy OR market"}))


# -- keeping the index current -------------------------------------------------------------


@pytest.fixture
def indexed(sqlite_seeded_template: Path, tmp_path: Path) -> Iterator[tuple[Settings, Engine]]:
    """A copy of the seeds with their search index, and a writer engine on it."""
    url = copy_database(sqlite_seeded_template, tmp_path / "newsdesk.db", "tantivy")
    settings_ = settings_for(url)
    engine = create_db_engine(settings_, writer=True)
    yield settings_, engine
    engine.dispose()


def index_count(settings_: Settings, q: str, **filters: Any) -> int | None:
    """Matches counted by the index alone (None when it is behind the database)."""
    index = search_index_for(settings_)
    assert index is not None
    engine = create_db_engine(settings_)
    try:
        with Session(engine) as session:
            searcher = index.current_searcher(session)
            if searcher is None:
                return None
            return index.count(searcher, ArticleFilter(query=parse_query(q), **filters))
    finally:
        engine.dispose()


def readiness(settings_: Settings, engine: Engine) -> dict[str, Any]:
    with make_client(settings_, engine) as client:
        return dict(client.get("/readyz").json())


def search_total(settings_: Settings, engine: Engine, q: str) -> int:
    with make_client(settings_, engine) as client:
        return int(client.get("/articles", params={"q": q}).json()["total"])


def ingest_texts(settings_: Settings, folder: Path, texts: dict[str, str]) -> int:
    """Write each text as a file NAME.txt in a new folder and ingest them: how many were added."""
    folder.mkdir()
    for name, text_ in texts.items():
        (folder / f"{name}.txt").write_text(text_)
    return int(ingest_paths(settings_, folder, nlp=False).added)  # type: ignore[attr-defined]


def test_an_ingested_article_is_in_the_index_when_ingest_returns(
    indexed: tuple[Settings, Engine], tmp_path: Path
) -> None:
    settings_, engine = indexed
    assert index_count(settings_, "Zanzibar") == 0
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "zanzibar.txt").write_text(
        "Zanzibar clove harvest doubles\n\nFarmers on Pemba said the Zanzibar harvest doubled.\n"
    )
    report = ingest_paths(settings_, folder, nlp=False)
    assert report.added == 1  # type: ignore[attr-defined]
    assert index_count(settings_, "zanzibar") == 1
    assert readiness(settings_, engine)["search_index"] == "current"


def test_equal_scores_come_in_id_order_wherever_the_index_holds_them(
    indexed: tuple[Settings, Engine], tmp_path: Path
) -> None:
    """Articles alike score alike; a node's segments hold them in the order they were last
    changed, which differs from node to node, and must not show."""
    settings_, engine = indexed
    texts = {
        f"{n:02}": f"Harbour report {n}\n\nThe harbour counted {n} zebrafishes in pond {n * 7}.\n"
        for n in range(12)
    }
    assert ingest_texts(settings_, tmp_path / "tied", texts) == 12
    with engine.connect() as connection:
        tied = list(
            connection.execute(
                text("SELECT id FROM article WHERE body LIKE '%zebrafishes%' ORDER BY id")
            ).scalars()
        )
    # Changing the first ones moves them to a new segment, after the others.
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE article SET title = 'Harbour notes' WHERE id IN (:a, :b, :c)"),
            {"a": tied[0], "b": tied[1], "c": tied[4]},
        )
    assert sync_search_index(settings_, engine) is not None
    with make_client(settings_, engine) as client:
        walked: list[int] = []
        scores: set[float] = set()
        params: dict[str, Any] = {"q": "zebra*", "limit": 3}
        while True:
            page = client.get("/articles", params=params).json()
            scores.update(item["score"] for item in page["items"])
            walked += [item["id"] for item in page["items"]]
            if not page["next_cursor"]:
                break
            params["cursor"] = page["next_cursor"]
        assert walked == tied
        assert len(scores) == 1


def test_a_prefix_ranks_its_matches_as_the_words_it_stands_for_would(
    indexed: tuple[Settings, Engine], tmp_path: Path
) -> None:
    """As FTS5 ranks a prefix: by how often and where its words occur, not all alike."""
    settings_, engine = indexed
    texts = {  # ingested in this order: by id, the single mention comes first
        "a-once": "Harbour report\n\nA long day at the harbour, where one zebra was seen "
        "by the keepers of the old lighthouse on the hill above the town.\n",
        "b-often": "Harbour news\n\nZebras, zebras and more zebrafish at the harbour.\n",
        "c-title": "Zebra crossing repainted\n\nThe council repainted the crossing.\n",
    }
    assert ingest_texts(settings_, tmp_path / "ranked", texts) == 3
    for q in ("zebra*", "zebr*", '"at the harbo"*'):
        orders = []
        for engine_name in ("tantivy", "database"):
            engine_settings = settings_for(settings_.database_url, search_engine=engine_name)
            with make_client(engine_settings, engine) as client:
                items = client.get("/articles", params={"q": q}).json()["items"]
            orders.append([item["title"] for item in items])
            assert len({item["score"] for item in items}) == len(items), (engine_name, items)
        assert orders[0] == orders[1], q
        assert orders[0].index("Harbour news") < orders[0].index("Harbour report"), q


def test_a_phrase_prefix_finds_every_word_it_stands_for(
    indexed: tuple[Settings, Engine], tmp_path: Path
) -> None:
    """The engine's own phrase prefix tried only the first 50 words of each segment."""
    settings_, engine = indexed
    texts = {}
    for n in range(60):
        word = "zq" + "".join(chr(ord("a") + int(digit)) for digit in f"{n:02}")
        texts[f"{n:02}"] = f"Tide table {n}\n\nThe harbour {word} was high.\n"
    assert ingest_texts(settings_, tmp_path / "many", texts) == 60
    totals = []
    for engine_name in ("tantivy", "database"):
        with make_client(
            settings_for(settings_.database_url, search_engine=engine_name), engine
        ) as client:
            answer = client.get("/articles", params={"q": '"harbour zq"*', "limit": 100}).json()
        totals.append((answer["total"], sorted(item["id"] for item in answer["items"])))
    assert totals[0] == totals[1]
    assert totals[0][0] == 60


def test_a_phrase_prefix_standing_for_too_many_words_is_a_clear_error(
    indexed: tuple[Settings, Engine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_, engine = indexed
    monkeypatch.setattr(index_module, "PHRASE_PREFIX_WORDS", 20)
    words = " ".join(
        f"zq{chr(ord('a') + n)}{chr(ord('a') + m)}" for n in range(5) for m in range(5)
    )
    texts = {"words": f"Word list\n\nThe harbour {words}.\n"}
    assert ingest_texts(settings_, tmp_path / "many", texts) == 1
    with make_client(settings_, engine) as client:
        for params in (
            {"q": '"harbour zq"*'},
            {"q": '"harbour zq"*', "sort": "-published_at"},
            {"q": 'tide OR "harbour zq"*', "facets": "source"},
        ):
            response = client.get("/articles", params=params)
            assert response.status_code == 400, (params, response.text)
            assert "more than 20 words" in response.text and "write more letters" in response.text
        narrower = client.get("/articles", params={"q": '"harbour zqa"*'})
        assert narrower.status_code == 200 and narrower.json()["total"] == 1


def test_changes_made_behind_the_index_are_never_served_stale_and_reindex_repairs_them(
    indexed: tuple[Settings, Engine], tmp_path: Path
) -> None:
    """What a crash between the database commit and the index commit leaves behind."""
    settings_, engine = indexed
    with engine.begin() as connection:
        connection.execute(text("UPDATE article SET title = 'Quokka census' WHERE id = 1"))
        connection.execute(text("DELETE FROM article WHERE id = 2"))
    state = readiness(settings_, engine)
    # The delete logs its article, and its links and tags as the cascade removes them.
    assert state["search_index"] == "behind" and state["search_index_lag"] > 2
    assert index_count(settings_, "quokka") is None  # the index is not asked
    assert search_total(settings_, engine, "quokka") == 1  # the database answers
    assert search_total(settings_, engine, "taliban") == 4

    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "reindex", "--incremental"],
        env={"DATABASE_URL": settings_.database_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "search index updated: 2 articles" in run.stdout
    assert index_count(settings_, "quokka") == 1
    assert index_count(settings_, "taliban") == 4
    assert readiness(settings_, engine)["search_index_lag"] == 0
    with engine.connect() as connection:  # applied changes are pruned from the log
        assert connection.execute(text("SELECT count(*) FROM search_change")).scalar_one() == 0


def test_entity_and_source_changes_reach_the_index(indexed: tuple[Settings, Engine]) -> None:
    settings_, engine = indexed
    with engine.connect() as connection:
        entity_id, articles = connection.execute(
            text(
                "SELECT entity_id, count(*) FROM article_entity GROUP BY entity_id "
                "ORDER BY count(*) DESC, entity_id LIMIT 1"
            )
        ).one()
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE entity SET type = 'other' WHERE id = :id"), {"id": entity_id}
        )
        connection.execute(text("UPDATE source SET domain = 'example.org' WHERE id = 1"))
    assert sync_search_index(settings_, engine) is not None
    with engine.connect() as connection:
        others = connection.execute(
            text(
                "SELECT count(DISTINCT ae.article_id) FROM article_entity ae "
                "JOIN entity e ON e.id = ae.entity_id WHERE e.type = 'other'"
            )
        ).scalar_one()
    assert others >= articles
    assert index_count(settings_, "taliban OR russia", entity_types=["other"]) == others
    assert index_count(settings_, "taliban OR russia", domains=["example.org"]) == 1


def test_a_busy_index_writer_delays_the_index_not_the_ingest(
    indexed: tuple[Settings, Engine], tmp_path: Path
) -> None:
    settings_, engine = indexed
    index = search_index_for(settings_)
    assert index is not None
    other = tantivy.Index.open(str(index.directory))
    held = other.writer(50_000_000, 1)  # another process's ingest, say
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "wombat.txt").write_text("Wombat tunnels\n\nA wombat dug under the road.\n")
    impatient = settings_.model_copy(update={"search_index_wait_ms": 300})
    report = ingest_paths(impatient, folder, nlp=False)
    assert report.added == 1  # type: ignore[attr-defined]
    assert readiness(settings_, engine)["search_index"] == "behind"
    assert search_total(settings_, engine, "wombat") == 1
    held.rollback()
    del held, other
    assert sync_search_index(settings_, engine) is not None
    assert index_count(settings_, "wombat") == 1


def test_an_index_of_another_version_is_rebuilt(indexed: tuple[Settings, Engine]) -> None:
    settings_, engine = indexed
    index = search_index_for(settings_)
    assert index is not None
    index.state_path.write_text(json.dumps({"watermark": 10**9, "version": SCHEMA_VERSION - 1}))
    assert readiness(settings_, engine)["search_index"] == "absent"
    report = sync_search_index(settings_, engine)
    assert report is not None and report.rebuilt and report.applied == 5
    assert index_count(settings_, "taliban") == 5


def test_a_walk_by_relevance_keeps_its_engine_when_the_index_falls_behind(
    indexed: tuple[Settings, Engine],
) -> None:
    settings_, engine = indexed
    with make_client(settings_, engine) as client:
        first = client.get("/articles", params={"q": "taliban", "limit": 2}).json()
        with engine.begin() as connection:  # the index is now behind
            connection.execute(text("UPDATE article SET title = title || ' ' WHERE id = 5"))
        seen = [item["id"] for item in first["items"]]
        cursor = first["next_cursor"]
        while cursor:
            page = client.get("/articles", params={"q": "taliban", "limit": 2, "cursor": cursor})
            seen += [item["id"] for item in page.json()["items"]]
            cursor = page.json()["next_cursor"]
    assert sorted(seen) == [1, 2, 3, 4, 5]


def test_a_database_ingested_without_an_index_gets_one_at_the_first_sync(tmp_path: Path) -> None:
    """As `newsdesk serve` does first, on a database from before the index (or a copy)."""
    url = f"sqlite:///{tmp_path / 'newsdesk.db'}"
    upgrade_database(url)
    ingest_paths(settings_for(url, search_engine="database"), SEEDS_DIR, nlp=False)
    assert not (tmp_path / "newsdesk.index").exists()
    index = SearchIndex(tmp_path / "newsdesk.index")
    engine = create_db_engine(settings_for(url), writer=True)
    try:
        report = sync_index(index, engine)
    finally:
        engine.dispose()
    assert report.rebuilt and report.applied == 5
    assert index_count(settings_for(url), "taliban") == 5


def test_a_relevance_walk_on_the_index_ignores_articles_ingested_during_it(
    indexed: tuple[Settings, Engine], tmp_path: Path
) -> None:
    settings_, engine = indexed
    params: dict[str, Any] = {"q": "taliban", "limit": 2}
    with make_client(settings_, engine) as client:
        page = client.get("/articles", params=params).json()
        seen = [item["id"] for item in page["items"]]
        folder = tmp_path / "late"
        folder.mkdir()
        # The best match of all, arriving mid-walk: it would push every later rank down.
        (folder / "late.txt").write_text("Taliban Taliban\n\nThe Taliban, the Taliban, Taliban.\n")
        assert ingest_paths(settings_, folder, nlp=False).added == 1  # type: ignore[attr-defined]
        assert client.get("/readyz").json()["search_index"] == "current"
        while page["next_cursor"]:
            page = client.get("/articles", params={**params, "cursor": page["next_cursor"]}).json()
            seen += [item["id"] for item in page["items"]]
        assert client.get("/articles", params={"q": "taliban"}).json()["total"] == 6
    assert sorted(seen) == [1, 2, 3, 4, 5]


class SearchesCounted(SearchIndex):
    """The index, counting the searches that run a filter's query (aggregations, counts)."""

    searches = 0

    def aggregate(
        self, searcher: tantivy.Searcher, flt: ArticleFilter, spec: dict[str, Any]
    ) -> Any:
        self.searches += 1
        return super().aggregate(searcher, flt, spec)

    def count(self, searcher: tantivy.Searcher, flt: ArticleFilter) -> int:
        self.searches += 1
        return super().count(searcher, flt)


def test_a_timeline_on_the_index_runs_its_query_once(indexed: tuple[Settings, Engine]) -> None:
    """Its periods, their counts and the undated matches come from one aggregation: each
    search more runs the query over every match again (a /timeline/compare runs seven)."""
    settings_, _ = indexed
    index = search_index_for(settings_)
    assert index is not None
    counted = SearchesCounted(index.directory)
    engine = create_db_engine(settings_)
    with Session(engine) as session:
        searcher = counted.current_searcher(session)
        assert searcher is not None
        counts = IndexCounts(counted, searcher, session)
        for interval in ("day", "week", "month"):
            counted.searches = 0
            found = counts.timeline(
                ArticleFilter(query=parse_query("the")), interval, None, 1, 10_000
            )
            assert counted.searches == 1
            assert (sum(found.counts), found.undated) == (3, 2)  # as the seeds are dated
    engine.dispose()
