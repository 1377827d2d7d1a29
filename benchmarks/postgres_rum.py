"""The RUM alternative (issue 19): ranked search, exact counts and facets inside PostgreSQL.

On PostgreSQL we chose a derived tantivy index per API node. The alternative measured here
keeps search in the database: a RUM index on the article tsvector answers the ranked top 20
in index order (`ORDER BY search_vector <=> query`), where the GIN index of migration 0002
must rank every match (ts_rank_cd) before it can keep 20. For each text query of the mix
(benchmarks/queries.py) this times, in SQL on the same corpus: the top 20 with GIN and
ts_rank_cd (today's database path) and with RUM, the exact count, and the facets the API
returns (source, entity, month); beside them the same request through our tantivy path in
process (benchmarks/floor.py: engine calls and SQL replayed), on the SQLite file of that size
and on a node reading the same PostgreSQL database with its own index.

Run after `benchmarks/run.py SIZE --load-only` (the corpus, the SQLite file, the mix):
  .venv/bin/python benchmarks/postgres_rum.py 100000 --postgres URL [--seconds 2]
URL is an administrative database on the server (default: $NEWSDESK_BENCH_POSTGRES). The
database measured is the one `run.py --postgres` loaded (newsdesk_bench_SIZE; --database
names another): the corpus is loaded into it only when it doesn't hold it. The RUM index
is added to it (a write: never point this at a database others use). Without the
rum extension on the server (Debian: apt-get install postgresql-15-rum) the leg is skipped.
Each size leaves benchmarks/results/rum-SIZE.json; report.py writes BENCHMARKS.md's section
from them (benchmarks/postgres_rum_report.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor
import generate
import postgres_databases
import queries
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

ROOT = generate.ROOT
VENV = ROOT / ".venv" / "bin"
RESULTS = generate.RESULTS
INDEX = "article_search_rum"
PAGE = 20
FACET_SIZE = 10  # values per facet, as the API's default
MAX_RUNS = 200


@dataclass
class TextQuery:
    """A /articles request of the mix that a RUM design answers: q plus the filters it has."""

    name: str
    api: str
    q: str
    source: str | None = None
    entity: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def facets_api(self) -> str:
        return self.api + "&facets=source,entity,month"


def text_queries(mix: list[queries.Query]) -> tuple[list[TextQuery], list[str]]:
    """The mix's /articles requests with a text query; the names of the others."""
    found, others = [], []
    for query in mix:
        parts = urlsplit(query.api or "")
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path != "/articles" or "q" not in params or "facets" in params:
            others.append(query.name)
            continue
        found.append(
            TextQuery(
                query.name,
                query.api or "",
                params["q"],
                params.get("source"),
                params.get("entity"),
                params.get("from"),
                params.get("to"),
            )
        )
    return found, others


def conditions(query: TextQuery) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (on article a) and its parameters, as the API filters."""
    from app.search.query import parse_query, to_tsquery

    where = ["a.search_vector @@ to_tsquery('newsdesk'::regconfig, :tsq)"]
    params: dict[str, Any] = {"tsq": to_tsquery(parse_query(query.q))}
    if query.source:
        where.append("a.source_id = (SELECT id FROM source WHERE name = :source)")
        params["source"] = query.source
    if query.entity:
        where.append(
            "a.id IN (SELECT article_id FROM article_entity WHERE entity_id IN "
            "(SELECT id FROM entity WHERE name = :entity))"
        )
        params["entity"] = query.entity
    if query.date_from:
        where.append("a.published_at >= CAST(:date_from AS date)")
        params["date_from"] = query.date_from
    if query.date_to:  # the API's `to` is a whole day
        where.append("a.published_at < CAST(:date_to AS date) + 1")
        params["date_to"] = query.date_to
    return " AND ".join(where), params


def statements(where: str) -> dict[str, str]:
    """The SQL of one query: the top 20 two ways, the exact count, the three facets."""
    from app.search.text import BODY_WEIGHT, PG_LENGTH_NORMALIZATION, TITLE_WEIGHT

    tsquery = "to_tsquery('newsdesk'::regconfig, :tsq)"
    weights = f"'{{0, 0, {BODY_WEIGHT / TITLE_WEIGHT}, 1}}'::float4[]"  # as app/search/text.py
    rank = f"ts_rank_cd({weights}, a.search_vector, {tsquery}, {PG_LENGTH_NORMALIZATION})"
    return {
        "top20_gin": f"SELECT a.id FROM article a WHERE {where} "
        f"ORDER BY {rank} DESC, a.id LIMIT {PAGE}",
        "top20_rum": f"SELECT a.id FROM article a WHERE {where} "
        f"ORDER BY a.search_vector <=> {tsquery} LIMIT {PAGE}",
        "count": f"SELECT count(*) FROM article a WHERE {where}",
        "facet_source": f"SELECT a.source_id, count(*) n FROM article a WHERE {where} "
        f"GROUP BY a.source_id ORDER BY n DESC LIMIT {FACET_SIZE}",
        "facet_entity": "SELECT ae.entity_id, count(*) n FROM article_entity ae "
        f"JOIN article a ON a.id = ae.article_id WHERE {where} "
        f"GROUP BY ae.entity_id ORDER BY n DESC LIMIT {FACET_SIZE}",
        "facet_month": "SELECT date_trunc('month', a.published_at) m, count(*) n "
        f"FROM article a WHERE {where} GROUP BY m ORDER BY m",
    }


FACETS = ("facet_source", "facet_entity", "facet_month")


def timed(
    connection: Connection, sql: str, params: dict[str, Any], seconds: float, min_runs: int
) -> Any:
    """p50/p95/p99 of one statement, run repeatedly for `seconds` (at least `min_runs` times,
    once before to warm the cache); the rows of the last run."""
    statement = text(sql)
    rows = connection.execute(statement, params).fetchall()
    timings: list[float] = []
    deadline = time.perf_counter() + seconds
    while (time.perf_counter() < deadline or len(timings) < min_runs) and len(timings) < MAX_RUNS:
        started = time.perf_counter()
        rows = connection.execute(statement, params).fetchall()
        timings.append(time.perf_counter() - started)
    return floor.percentiles(timings) | {"n": len(timings)}, rows


def uses_index(connection: Connection, sql: str, params: dict[str, Any]) -> bool:
    """Whether PostgreSQL's plan for `sql` reads the RUM index."""
    plan = connection.execute(text("EXPLAIN " + sql), params).fetchall()
    return any(INDEX in row[0] for row in plan)


def rum_available(admin_url: str) -> bool:
    engine = create_engine(admin_url)
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT 1 FROM pg_available_extensions WHERE name = 'rum'")
        ).first()
    engine.dispose()
    return found is not None


def prepare(
    admin_url: str, name: str, size: int, seed: int, articles: int, reload: bool
) -> dict[str, Any]:
    """The database `name` holding the corpus: loaded, unless it holds as many articles."""
    corpus = generate.corpus_file(size, seed)
    _, seconds = postgres_databases.loaded_database(
        make_url(admin_url), name, corpus, articles, reload
    )
    return {"database": name, "load_seconds": seconds}


def build_rum(connection: Connection) -> dict[str, Any]:
    """CREATE EXTENSION and the RUM index on the tsvector (timed), then ANALYZE."""
    connection.execute(text("CREATE EXTENSION IF NOT EXISTS rum"))
    connection.execute(text(f"DROP INDEX IF EXISTS {INDEX}"))
    started = time.perf_counter()
    connection.execute(
        text(f"CREATE INDEX {INDEX} ON article USING rum (search_vector rum_tsvector_ops)")
    )
    seconds = time.perf_counter() - started
    connection.execute(text("ANALYZE article"))
    sizes = connection.execute(
        text(
            "SELECT pg_relation_size(:rum), pg_relation_size('ix_article_search_vector'), "
            "pg_total_relation_size('article')"
        ),
        {"rum": INDEX},
    ).one()
    return {
        "build_seconds": seconds,
        "rum_bytes": sizes[0],
        "gin_bytes": sizes[1],
        "article_total_bytes": sizes[2],
    }


def measure_sql(
    connection: Connection, mix: list[TextQuery], seconds: float, phase: str, min_runs: int
) -> dict[str, dict[str, Any]]:
    """Every statement of every query; phase 'gin' (before the RUM index) or 'rum'."""
    names = ["top20_gin", "count", *FACETS] if phase == "gin" else ["top20_rum", "count", *FACETS]
    result: dict[str, dict[str, Any]] = {}
    for query in mix:
        where, params = conditions(query)
        sql = statements(where)
        row: dict[str, Any] = {"load_average": os.getloadavg()[0]}
        for name in names:
            row[name], rows = timed(connection, sql[name], params, seconds, min_runs)
            if name == "count":
                row["hits"] = int(rows[0][0])
        if phase == "rum":
            row["top20_rum_uses_index"] = uses_index(connection, sql["top20_rum"], params)
        result[query.name] = row
        print(
            f"  {phase} {query.name}: hits {row['hits']:,}, "
            + ", ".join(f"{n} {row[n]['p50']:.1f}" for n in names)
            + f" ms (load {row['load_average']:.1f})",
            flush=True,
        )
    return result


def measure_floor(db: Path, mix: list[TextQuery], seconds: float) -> dict[str, dict[str, Any]]:
    """The same requests through our tantivy path on the SQLite file, in process."""

    def replay(sql: list[floor.Statement], calls: list[floor.EngineCall]) -> dict[str, Any]:
        replayed = floor.replay(db, sql, seconds, calls)
        return {k: replayed[k] for k in ("p50", "p95", "p99", "n", "engine_ms")}

    return floor_rows(floor.Capture(db, "tantivy"), mix, replay, "tantivy on SQLite")


def measure_node_floor(
    database_url: str, index_dir: Path, mix: list[TextQuery], seconds: float, rebuild: bool
) -> dict[str, Any]:
    """The same requests on a node reading PostgreSQL with its own tantivy index (built
    here by `newsdesk reindex`, unless `rebuild` is false and run.py's node left one for
    this database): engine calls replayed, the node's SQL replayed on PostgreSQL."""
    import shutil

    import psycopg

    result: dict[str, Any] = {"reindex_seconds": None}
    if rebuild or not index_dir.is_dir():
        shutil.rmtree(index_dir, ignore_errors=True)
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "NEWSDESK_SEARCH_INDEX_DIR": str(index_dir),
        }
        started = time.perf_counter()
        subprocess.run(
            [str(VENV / "newsdesk"), "reindex"], env=env, check=True, capture_output=True
        )
        result["reindex_seconds"] = time.perf_counter() - started
    capture = floor.Capture(Path(), "tantivy", database_url, index_dir)
    conninfo = make_url(database_url).set(drivername="postgresql")
    with psycopg.connect(conninfo.render_as_string(hide_password=False)) as connection:

        def replay(sql: list[floor.Statement], calls: list[floor.EngineCall]) -> dict[str, Any]:
            return replay_postgres(connection, sql, calls, seconds)

        result["rows"] = floor_rows(capture, mix, replay, "tantivy node on PostgreSQL")
    return result


def floor_rows(
    capture: floor.Capture,
    mix: list[TextQuery],
    replay: Callable[[list[floor.Statement], list[floor.EngineCall]], dict[str, Any]],
    label: str,
) -> dict[str, dict[str, Any]]:
    """Each request (page + count, then with the three facets) captured, then replayed."""
    result: dict[str, dict[str, Any]] = {}
    for query in mix:
        row: dict[str, Any] = {"load_average": os.getloadavg()[0]}
        for key, path in (("page", query.api), ("facets", query.facets_api())):
            status, sql, calls, body = capture.statements_of(path)
            if status != 200:
                row[key] = {"status": status}
                continue
            row[key] = replay(sql, calls)
            row["hits"] = body.get("total") if isinstance(body, dict) else None
        result[query.name] = row
        print(
            f"  {label} {query.name}: page {row['page'].get('p50', 0):.1f} ms, "
            f"with facets {row['facets'].get('p50', 0):.1f} ms",
            flush=True,
        )
    return result


def replay_postgres(
    connection: Any, sql: list[floor.Statement], calls: list[floor.EngineCall], seconds: float
) -> dict[str, Any]:
    """floor.replay for a node on PostgreSQL: its statements and searcher calls, repeated."""

    def once() -> float:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for statement, params, many in sql:
                if many:
                    cursor.executemany(statement, params)
                else:
                    cursor.execute(statement, params or None)
                    if cursor.description:
                        cursor.fetchall()
        before = time.perf_counter()
        for call, _ in calls:
            call()
        engine_times.append(time.perf_counter() - before)
        return time.perf_counter() - started

    engine_times: list[float] = []
    once()  # warm
    timings: list[float] = []
    deadline = time.perf_counter() + seconds
    while (time.perf_counter() < deadline or len(timings) < 5) and len(timings) < MAX_RUNS:
        timings.append(once())
    engine_ms = 1000 * sum(engine_times[1:]) / len(timings)
    return floor.percentiles(timings) | {"n": len(timings), "engine_ms": engine_ms}


def measure(
    admin_url: str,
    database: str,
    size: int,
    seed: int,
    seconds: float,
    reload: bool,
    min_runs: int = 5,
) -> Path | None:
    """The RUM leg for one size: rum-SIZE.json, or None when it can't run here."""
    db = RESULTS / f"bench-{size}.db"
    if not db.is_file():
        raise SystemExit(f"{db} not found: first run benchmarks/run.py {size} --load-only")
    if not rum_available(admin_url):
        print(
            "  RUM leg skipped: the PostgreSQL server has no rum extension "
            "(Debian: apt-get install postgresql-15-rum, for the server's major version)",
            flush=True,
        )
        return None
    from run import code_version  # run's harness, imported only when measuring

    mix = queries.build_mix(db, {"/articles"})
    rum_mix, others = text_queries(mix)
    articles = int(json.loads((RESULTS / f"bench-{size}.load.json").read_text())["articles"])
    result: dict[str, Any] = {
        "size": size,
        "articles": articles,
        "commit": code_version(),
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "seconds_per_statement": seconds,
        "load_average_before": os.getloadavg(),
        "not_measured": others,
    }
    result |= prepare(admin_url, database.format(size=size), size, seed, articles, reload)
    url = make_url(admin_url).set(database=result["database"])
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        result["server"] = connection.execute(text("SHOW server_version")).scalar_one()
        # A database loaded before load-jsonl analyzed (or reused where autovacuum is off)
        # has no statistics: its plans, not the engines, would be measured.
        connection.execute(text("ANALYZE"))
        connection.execute(text(f"DROP INDEX IF EXISTS {INDEX}"))
        result["gin"] = measure_sql(connection, rum_mix, seconds, "gin", min_runs)
        result["index"] = build_rum(connection)
        print(
            f"  RUM index built in {result['index']['build_seconds']:.0f} s, "
            f"{result['index']['rum_bytes'] / 1e6:,.0f} MB",
            flush=True,
        )
        result["rum"] = measure_sql(connection, rum_mix, seconds, "rum", min_runs)
    engine.dispose()
    result["tantivy_floor"] = measure_floor(db, rum_mix, seconds)
    node_url = url.render_as_string(hide_password=False)
    # The folder run.py's node built its index in: reused when the corpus was not reloaded.
    index_dir = RESULTS / f"pg-node-{size}.index"
    rebuild = reload or result["load_seconds"] is not None
    result["tantivy_node"] = measure_node_floor(node_url, index_dir, rum_mix, seconds, rebuild)
    result["load_average_after"] = os.getloadavg()
    out = RESULTS / f"rum-{size}.json"
    out.write_text(json.dumps(result, indent=1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sizes", nargs="+", type=int)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=2.0, help="Per statement.")
    parser.add_argument(
        "--database",
        default="newsdesk_bench_{size}",
        help="The database measured (loaded here unless it holds the corpus already); "
        "default: the one `run.py --postgres` loads.",
    )
    parser.add_argument(
        "--reload", action="store_true", help="Load the corpus even when it is there."
    )
    parser.add_argument(
        "--min-runs",
        type=int,
        default=5,
        help="Timings of each statement at least (after one to warm the cache); 1 at 1M, "
        "where PostgreSQL's counts and facets take seconds each.",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("NEWSDESK_BENCH_POSTGRES"),
        metavar="URL",
        help="An administrative database on the server (default: $NEWSDESK_BENCH_POSTGRES).",
    )
    args = parser.parse_args()
    if not args.postgres:
        raise SystemExit("no PostgreSQL server: pass --postgres URL or $NEWSDESK_BENCH_POSTGRES")
    logging.disable(logging.INFO)  # the in-process app's access log (floor capture)
    for size in args.sizes:
        print(f"== RUM alternative at {size:,} articles", flush=True)
        measure(
            args.postgres,
            args.database,
            size,
            args.seed,
            args.seconds,
            args.reload,
            args.min_runs,
        )


if __name__ == "__main__":
    main()
