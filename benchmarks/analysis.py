"""The part of BENCHMARKS.md that explains the numbers: profile, SQL breakdown, NER rate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

NOISE = (
    "Read the numbers with the load average above in mind: the floor, our server and Datasette "
    "are measured one after another, not at once, on a machine other processes were using, so "
    "a negative 'API cost over floor' is noise, and a c=32 run where no request finished "
    "within its window measures nothing. On a quiet machine rerun with a longer window "
    "(`BENCH_SECONDS=10`)."
)

WHY = """\
### Why FTS5 misses the latency targets on broad queries

SQLite FTS5 answers a ranked query by visiting every matching row: `bm25()` is computed for
each match and `ORDER BY score LIMIT 21` sorts all of them, and the exact `total` is a
second full pass over the same matches (a `count(*)` over the same MATCH subquery). Both
costs grow linearly with the number of hits, so a common word at a million articles costs
tens to hundreds of milliseconds in SQL alone, whatever the HTTP layer does. Rare words,
entity filters (an index range on `article_entity`) and keyset pages (an index range on
`published_at, id`) could stay flat, but today they do not: see the cheap wins above (the
first page sorts every row; the total is counted through a join). The statement-by-statement
breakdown above shows where the SQL time of the slowest query goes.

### What would close the gap

- A search engine with top-k retrieval (block-max WAND) and fast fields for filters and
  sorting: tantivy as a derived index (the issue's design) answers top 20 without visiting
  every match and counts from its posting lists (the issue reports two orders of magnitude
  on a common word at a million articles; not measured here).
- Cheaper totals: an estimated count above a threshold (exact only when small), or the
  count computed once per cursor walk and carried in the cursor instead of on every page.
- `INSERT INTO article_fts(article_fts) VALUES('optimize')` after a bulk load merges the
  index into one b-tree (its measured effect is in the table above); it cannot change the
  linear cost of a broad query.
- Facets and timelines: precomputed counts per (source, month) and per entity, used when the
  filter is only a date range or a source; with a text query they inherit the match cost.
"""


def profile_lines(result: dict[str, Any]) -> list[str]:
    profile = result["api"].get("profile") or {}
    if "buckets" not in profile:
        return [f"Profile not taken: {profile.get('error', 'no profile in the results')}", ""]
    lines = [
        f"### Profile of the slowest query at {result['load']['articles']:,} articles: "
        f"{profile['query']}",
        "",
        f"py-spy sampled the server's workers ({profile['samples']:,} samples at 200 Hz) while "
        "wrk sent the request one at a time. Share of the samples:",
        "",
        "| where | share |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {share:.0%} |" for name, share in profile["buckets"].items()]
    lines += [
        "",
        "Our functions on the sampled stacks (inclusive):",
        "",
        "| function | share |",
        "|---|---:|",
    ]
    lines += [f"| `{name}` | {share:.0%} |" for name, share in profile["app_functions"].items()]
    row = next(r for r in result["api"]["rows"] if r["name"] == profile["query"])
    lines += [
        "",
        "The same request's SQL, replayed on sqlite3 (mean ms per statement):",
        "",
        "| statement | ms |",
        "|---|---:|",
    ]
    for statement in row["floor"]["statements"]:
        sql = statement["sql"].replace("|", "\\|")
        lines.append(f"| `{sql}` | {statement['ms']:.2f} |")
    if row["floor"].get("engine_calls"):
        lines.append(
            f"| the request's {row['floor']['engine_calls']} tantivy searcher calls "
            f"(search, count, aggregate) | {row['floor']['engine_ms']:.2f} |"
        )
    return [*lines, ""]


def experiment_lines(result: dict[str, Any]) -> list[str]:
    found = result.get("experiments")
    if not found:
        return []
    size = result["load"]["articles"]
    lines = [
        f"### Cheap wins in our query path, measured at {size:,} articles",
        "",
        "`benchmarks/experiments.py`: the SQL our API runs today against a rewrite giving the "
        "same answer, on the same file (median of 7 runs, ms).",
        "",
        "| change | today | rewrite | speed-up |",
        "|---|---:|---:|---:|",
    ]
    for pair in found["pairs"]:
        speedup = pair["before_ms"] / pair["after_ms"] if pair["after_ms"] else float("inf")
        lines.append(
            f"| {pair['label']} | {pair['before_ms']:.2f} | {pair['after_ms']:.2f} "
            f"| {speedup:.1f}× |"
        )
    floors = {row["name"]: row["floor"]["p50"] for row in result["api"]["rows"] if row.get("floor")}
    lines += [
        "",
        f"FTS5 `optimize` (merge the index into one b-tree) took "
        f"{found['optimize_seconds']:.1f} s; the floor (all SQL of the request) of each text "
        "query before and after:",
        "",
        "| query | floor p50 before | after optimize |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {name} | {floors[name]:.2f} | {after:.2f} |"
        for name, after in found["optimized_floor"].items()
    ]
    return [*lines, ""]


def section(results: list[dict[str, Any]], results_dir: Path) -> list[str]:
    largest = results[-1]
    lines = [
        "## Where the time goes",
        "",
        NOISE,
        "",
        *profile_lines(largest),
        *experiment_lines(largest),
        WHY,
    ]
    ner = results_dir / "ner_overhead.txt"
    if ner.exists():
        lines += [
            "## Entity recognition at ingest",
            "",
            "`benchmarks/ner_overhead.py` on the BBC originals (the same texts for each line):",
            "",
            "```",
            ner.read_text().strip(),
            "```",
            "",
        ]
    lines += [
        "## Reproducing",
        "",
        "```sh",
        "make bench                                   # 10,000 articles, under 10 minutes",
        'make bench BENCH_SIZES="10000 100000"        # about 20 minutes',
        'make bench BENCH_SIZES="10000 100000 1000000" BENCH_SECONDS=5   # about an hour',
        "```",
        "",
        "The corpus is generated from the BBC corpus (`NEWSDESK_BBC_CORPUS` or "
        "`../shared/corpus/bbc`) by `benchmarks/generate.py` with seed 8; entities come from "
        "real NER run once on the 2,225 originals (cached in `benchmarks/results/`). Datasette "
        "runs from its own virtualenv (`benchmarks/.venv-datasette`, made by `make bench`), "
        "with the FTS table named in its metadata (it does not detect `content='article'` "
        "with single quotes), `suggest_facets` off and 60 s time limits.",
    ]
    return lines
