"""BENCHMARKS.md's section on the RUM alternative, from benchmarks/results/rum-SIZE.json
(written by benchmarks/postgres_rum.py): the tables per size and what the numbers say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sections

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
OUT = ROOT / "BENCHMARKS.md"
SECTION = "## PostgreSQL: the RUM alternative"
FACETS = ("facet_source", "facet_entity", "facet_month")


def section() -> list[str]:
    """BENCHMARKS.md's RUM section from the result files, else as BENCHMARKS.md has it."""
    files = sorted(RESULTS.glob("rum-*.json"), key=lambda p: int(p.stem.split("-")[1]))
    results = [json.loads(path.read_text()) for path in files]
    if not results:
        return standing_section()
    lines = [
        SECTION,
        "",
        "Issue 19's alternative to a tantivy index per API node: search inside PostgreSQL "
        "with a RUM index (extension `rum`) on the article tsvector, which returns matches in "
        "rank order (`ORDER BY search_vector <=> query LIMIT 20`) where the GIN index makes "
        "PostgreSQL rank every match (`ts_rank_cd`, today's database path) before keeping 20 "
        "(RUM's order is its own score with built-in weights, close to but not the same as "
        "ts_rank_cd with ours). "
        "Written by `benchmarks/postgres_rum.py`: each text query of the mix, timed in SQL "
        "on a PostgreSQL database holding the bench corpus (statement alone, no HTTP, "
        "the median of runs after a warm-up), beside the same request (`/articles?q=…`, "
        "then with `&facets=source,entity,month`) through our tantivy path in process: the "
        "floor (benchmarks/floor.py: the searcher calls and the SQL the app ran, replayed) "
        "on the SQLite file of that size, and on a node reading the same PostgreSQL database "
        "with its own tantivy index (built by `newsdesk reindex`). Facets in SQL: top 10 "
        "sources, top 10 entities, all months, one GROUP BY each. The RUM design's sum "
        "(top 20 + count + facets) flatters it: it leaves out what the API does whichever "
        "engine answers (reading the 20 articles, snippets, names of the facet values, the "
        "distinct and missing counts of each facet), which the tantivy floors include. "
        "Latencies are p50 in ms; load: the 1-minute load average on 2 shared cores when "
        "the query's SQL ran without and with the RUM index.",
        "",
    ]
    for result in results:
        lines += size_table(result)
    lines += conclusion(results[-1])
    commits = ", ".join(f"{r['articles']:,}: {r['commit']}, {r['date']}" for r in results)
    lines += ["", f"Measured: {commits}."]
    return lines


def standing_section() -> list[str]:
    """The section as BENCHMARKS.md has it (results measured on another machine)."""
    text_ = OUT.read_text() if OUT.is_file() else ""
    start = text_.find(SECTION + "\n")
    if start < 0:
        return []
    end = text_.find("\n## ", start + len(SECTION))
    return text_[start : end if end >= 0 else len(text_)].rstrip("\n").split("\n")


def size_table(result: dict[str, Any]) -> list[str]:
    index = result["index"]
    loaded = (
        f"loaded in {result['load_seconds']:.0f} s"
        if result.get("load_seconds")
        else "loaded before"
    )
    lines = [
        f"### {result['articles']:,} articles (PostgreSQL {result['server']}, "
        f"database {result['database']}, {loaded}; each statement and request repeated for "
        f"{result['seconds_per_statement']:g} s, at least 5 times)",
        "",
        f"RUM index built in {index['build_seconds']:.0f} s: {index['rum_bytes'] / 1e6:,.0f} MB "
        f"(the GIN index: {index['gin_bytes'] / 1e6:,.0f} MB; the article table with its "
        f"indexes: {index['article_total_bytes'] / 1e6:,.0f} MB). Not measured here: "
        f"{'; '.join(result['not_measured'])} (no text query, or a text query a row of the table "
        "already has: the facets row is the common word's facets, NewsAPI its page).",
        "",
        "| query | hits | top 20, GIN + ts_rank_cd | top 20, RUM `<=>` | exact count "
        "(GIN / RUM present) | facets: source + entity + month (GIN / RUM present) "
        "| RUM design: top 20 + count, ÷ tantivy node page "
        "| RUM design: top 20 + count + facets "
        "| tantivy on the SQLite file: page / with facets "
        "| tantivy node on PostgreSQL: page / with facets "
        "| RUM design ÷ tantivy node, with facets | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, rum in result["rum"].items():
        gin, sqlite_floor = result["gin"][name], result["tantivy_floor"][name]
        node = result.get("tantivy_node", {}).get("rows", {}).get(name, {})
        total = rum_total(rum)
        reference = node_facets_p50(result, name)
        ratio = f"{total / reference:.1f}×" if reference else "—"
        page = rum["top20_rum"]["p50"] + rum["count"]["p50"]
        node_page = node.get("page", {}).get("p50")
        page_ratio = f", {page / node_page:.1f}×" if node_page else ""
        index_note = "" if rum.get("top20_rum_uses_index") else " (plan without the RUM index)"
        lines.append(
            f"| {name} | {rum['hits']:,} | {ms(gin['top20_gin'])} "
            f"| {ms(rum['top20_rum'])}{index_note} | {ms(gin['count'])} / {ms(rum['count'])} "
            f"| {ms(facets_p50(gin))} / {ms(facets_p50(rum))} | {ms(page)}{page_ratio} "
            f"| {ms(total)} "
            f"| {ms(sqlite_floor['page'])} / {ms(sqlite_floor['facets'])} "
            f"| {ms(node.get('page'))} / {ms(node.get('facets'))} | {ratio} "
            f"| {gin['load_average']:.1f} / {rum['load_average']:.1f} |"
        )
    return [*lines, ""]


def node_facets_p50(result: dict[str, Any], name: str) -> float | None:
    """The tantivy node on PostgreSQL answering with facets (else the SQLite file's floor)."""
    node = result.get("tantivy_node", {}).get("rows", {}).get(name)
    row = node if node else result["tantivy_floor"][name]
    value = row.get("facets", {}).get("p50")
    return float(value) if value is not None else None


def facets_p50(row: dict[str, Any]) -> float:
    return float(sum(row[name]["p50"] for name in FACETS))


def rum_total(row: dict[str, Any]) -> float:
    """What the API would spend in PostgreSQL for a page with its count and facets."""
    return float(row["top20_rum"]["p50"] + row["count"]["p50"] + facets_p50(row))


def ms(value: float | dict[str, Any] | None) -> str:
    if isinstance(value, dict):
        value = value.get("p50")
    if value is None:
        return "—"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def conclusion(result: dict[str, Any]) -> list[str]:
    """What the largest size's numbers say, with those numbers."""
    rows = [(name, row, result["gin"][name]) for name, row in result["rum"].items()]
    name, rum, gin = max(rows, key=lambda item: item[1]["hits"])
    total = rum_total(rum)
    tantivy = node_facets_p50(result, name)
    speedups = sorted((g["top20_gin"]["p50"] / r["top20_rum"]["p50"], n) for n, r, g in rows)
    shares = sorted(1 - r["top20_rum"]["p50"] / rum_total(r) for _, r, _ in rows)
    pages = sorted(
        (r["top20_rum"]["p50"] + r["count"]["p50"])
        / result["tantivy_node"]["rows"][n]["page"]["p50"]
        for n, r, _ in rows
    )
    slower = sum(
        1 for name_, row, _ in rows if rum_total(row) > 1.5 * (node_facets_p50(result, name_) or 0)
    )
    return [
        f"What the numbers at {result['articles']:,} articles say: RUM does what it is for. "
        f"Its top 20 takes {speedups[0][0]:.1f}× ({speedups[0][1]}) to {speedups[-1][0]:.1f}× "
        f"({speedups[-1][1]}) less time than GIN + ts_rank_cd. But the page the API returns "
        "also "
        "carries an exact total and, asked for, facets, and those are aggregations over every "
        "match: with RUM they are the larger part of the time in PostgreSQL (a median "
        f"{100 * shares[len(shares) // 2]:.0f}% of the RUM design's sum, the entity facet "
        "first, a join of every match with article_entity). For the query with the most "
        f"matches ({name}, {rum['hits']:,}): top 20 {ms(rum['top20_rum'])} ms (GIN: "
        f"{ms(gin['top20_gin'])} ms), count {ms(rum['count'])} ms, facets "
        f"{ms(facets_p50(rum))} ms, {ms(total)} ms in all, against {ms(tantivy)} ms for the "
        f"whole request on a tantivy node. {slower} of the {len(rows)} text queries cost "
        "more than 1.5× the tantivy node with a RUM design; without facets, top 20 + count "
        f"alone is {pages[0]:.1f}× to {pages[-1]:.1f}× the tantivy node's whole page.",
        "",
        "Why tantivy per node rather than RUM: RUM fixes only the ranked top k (it reads "
        "the index in distance order and stops after 20). An exact total and facets need "
        "every matching row in PostgreSQL (source and date from the heap, entities from "
        "article_entity), so their cost grows with the matches whatever the text index, "
        "while tantivy counts and aggregates from its columnar fast fields in the node's "
        "process, and the nodes scale out without adding work to the database. RUM would "
        "also add a second full-text index to every write on the primary "
        f"({result['index']['rum_bytes'] / 1e6:,.0f} MB beside the GIN index's "
        f"{result['index']['gin_bytes'] / 1e6:,.0f} MB here, built in "
        f"{result['index']['build_seconds']:.0f} s), where a node's tantivy index costs the "
        "database a read of the change log.",
    ]


def write_section(lines: list[str]) -> None:
    """Put the section into BENCHMARKS.md, replacing it (else before "## Monitoring")."""
    following = ("## Monitoring", "## Collection", "## Reproducing")
    sections.put_section(OUT, SECTION, lines, before=following)
