"""The part of BENCHMARKS.md that explains the numbers: profile, SQL breakdown, NER rate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ner_report

NOISE = (
    "Read the numbers with the load average above in mind: the floor, our server and Datasette "
    "are measured one after another, not at once, on a machine other processes were using, so "
    "a negative 'API cost over floor' is noise, and a c=32 run where no request finished "
    "within its window measures nothing. On a quiet machine rerun with a longer window "
    "(`BENCH_SECONDS=10`). Each latency and throughput run starts on an idle server (its "
    "processes under 5% of a core): when a throughput run's window ends, wrk leaves up to "
    "32 requests queued, and until commit ea4062a the next query was measured behind them "
    "(NewsAPI, measured after the broad significant-terms query, read 62-76 ms p50 on the "
    "PostgreSQL node for 4.6 ms alone). The machine also pages out memory left untouched "
    "for about a minute (the kernel's DAMON reclaim: /sys/kernel/mm/damon), the page cache "
    "included: a query's first requests may read the database and index from disk, and a "
    "run's repeated requests then measure a warm cache."
)

WHY = """\
### Why the engine matters

SQLite FTS5 answers a ranked query by visiting every match: `bm25()` for each one, a sort
of all of them for the top 20, and a second pass for the exact total. Its cost grows with
the number of hits, which is what the "API on FTS5 alone" column shows as the corpus grows.
The tantivy index (`app/search/tantivy/index.py`) takes the top 20 with block-max WAND over the
posting lists and counts from them. It runs every filter (source, dates, entities, tags,
language, domains, duplicates) as an indexed or fast field, and sorts by date through one
fast-field key per order (the second of publication and the id in a single u64). A broad
query so costs about what a narrow one does. Facets and the timeline are terms aggregations
over fast fields; only the values shown are named from SQLite.

### What is left, and what would close it

- **The API's own cost:** the layer table above splits a plain search's Python time by
  package (the tantivy and SQLite calls release the interpreter lock, so the CPU time per
  request is larger than the Python time: the rest is the engines). No one layer holds
  the gap to the 1.5 ms target: uvicorn, FastAPI with Starlette and pydantic together are
  well under half of it. The largest parts are our own page building (the page's
  snippets and top entities, the items), SQLAlchemy's work around each statement, and the
  hand-off of the endpoint to a worker thread and back. What would close most of it:
  - the page's snippet text and top entities kept in the index (stored fields), so that a
    page needs no SQL at all: our page building and SQLAlchemy's part shrink together;
  - the remaining statements on the driver's connection without SQLAlchemy Core;
  - the endpoint on the event loop for requests whose work is bounded (no thread hop).
  Each changes how the read path talks to both databases; with all three the profile
  leaves about the framework's, pydantic's and uvicorn's part, over 1 ms on this machine,
  so the 1.5 ms target would still need a lighter HTTP layer than an ASGI framework with
  validated parameters.
- **Throughput against Datasette:** the multiple is least on the narrow text queries (a
  rare word, a phrase, a word within one source), where SQLite's FTS5 has few matches to
  rank and Datasette's request is cheap (4-6 ms at 10,000 articles, 10 ms for the rare word
  at a million). There our own cost above decides the ratio: Datasette reads rows and
  writes JSON, with no validated parameters, snippets or top entities. The
  multiple grows with the matches, as FTS5's cost does (at a million articles in cf18766:
  21x to 79x for the common word, the prefix, the entity and the timeline, over 120,000
  matches each; 1.7x for the rare word's 1,999).
- **Facets at a million articles:** the entity facet is a terms aggregation over every
  link of every match: for the common word, 146,339 matches with some 25 links each, counted
  into 9,147 entities. Timed in process (f249521), that aggregation takes 31-39 ms inside
  tantivy, whether it returns every bucket or only the top 10, and whether the three facets
  are one aggregation call or three; reading its buckets in Python takes 1.5 ms, the source
  and month facets about 1 ms each. Under 30 ms needs less to count, and each way we know
  changes the answer: counting only each article's few most-mentioned entities (a field
  stored at ingest: a different facet), or counting a sample of the matches (no longer
  exact, which the facet promises).
- **Prefixes and phrases:** a prefix expands to every term that starts with it (an
  automaton over the term dictionary), and a phrase reads positions. Both cost more than a
  word, at any size.
- **The bulk path:** the search index is fed while the rows go in (its commit is all that
  follows them), so what is left is the writer's own work, timed by part at 100,000
  articles (80 s in all, timers on): the deferred FTS5 index 17 s and the article and
  link rows 13 s plus their indexes (SQLite's single writer), parsing 15 s, building the
  index documents 9 s and resolving entity names 8 s (Python, in the writer's process).
  FTS5 and the row inserts alone cap this machine near 3,000 articles/s; 5,000 would need
  a parser in native code and one full-text index instead of two (FTS5 serves snippets
  and the fallback while tantivy is behind). Parsing in more processes did not help on
  two cores: the writer is the bottleneck, and it shares them. At a million articles
  the whole load ran at about 1,500 articles/s (its parts not timed there).
- **Entity recognition on two cores:** `newsdesk ingest --workers 2` reaches the speed-up
  spaCy itself reaches on the same texts with `nlp.pipe(n_process=2)` (1.73x each on a quiet
  machine, in the section below). Its two recognizing processes share the two cores with
  the writer; 1.8x would need the recognizer itself to scale better than it does here.
- **Start-up:** most of it is importing the libraries and the app once, before the
  workers fork (SQLAlchemy with SQLModel, FastAPI, our models, schemas and routes). Since
  1d6f3d4 the command imports them with the garbage collector off and freezes what they
  made before forking (Python's advice for a forking server): the collections during the
  imports walked those objects for nothing. `benchmarks/startup.py` on one 100,000-article
  database, 9 starts each, load average 0.8: a median 1.22-1.24 s against 1.42-1.61 s for
  512db2f, both with their bytecode compiled (the image now compiles it at build; it runs
  with PYTHONDONTWRITEBYTECODE, and compiling the app's modules at each start cost about
  0.3 s more). This session's machine imports more slowly than the 1M run's (about 1.0 s
  against 0.85 s for the same imports), so 1 s is still missed on it; what is left is the
  imports themselves, about 0.55 s of them SQLAlchemy, SQLModel and pydantic.
- **Machines:** the sizes were measured on different machines of the same kind (the
  "Code measured" line gives each commit; the machine line is the newest run's). The
  10,000-article run of 1c5d4c6 ran on an AMD EPYC machine where every request costs more
  than on the Intel one of the earlier runs: Datasette's common word 9.0 ms p50 there
  against 5.7 ms, our floor 3.2 against 2.3 ms. On that machine the same server of 512db2f
  and of this code answered the common word alike (wrk, one connection, two runs each:
  11.3-12.4 ms p50 both), so its 10,000 row reads the machine, not a change of the code.
- **The entity catalogue:** `/entities` counted every link of the archive for each
  request (with the mention sums, every link row read): at 100,000 articles it answered
  503 after the 5 s limit. Since 4434145 triggers keep each entity's counts in
  `entity_stats` (migration 0017), and a listing reads one row an entity (14-37 ms at
  100,000 articles, in process). One entity's page still reads its own links: for the
  most-mentioned one at 100,000 articles (43,241 articles), in process: the forms it is
  written in 0.13-0.15 s (0.42 s while the JSON type decoded each link's two columns;
  orjson decodes their text now), its first and last dates 0.1 s; its co-occurring
  entities and top sources come from the search engine's facets since 21f6059 (0.7 s of
  SQL before). The page so grows with the entity's articles, about 2.5 s for such an
  entity at a million; kept counts per form and dates, as for the listing, would make it
  independent of them.
- **Memory:** the target counts resident memory, in which each page the processes share
  (the imported code, loaded once before the workers fork) counts once per process; the
  proportional figure (PSS) counts it once. Most of that is the processes' own memory (the
  supervisor's and two workers' Python heaps, the imports most of each); the memory-mapped
  index is the rest, pages the kernel can drop and read again. 300 MB of resident memory
  would need fewer processes (one worker) or workers importing less than the whole app.
- **A PostgreSQL node at a million articles:** the node's page cost some 20 ms more than at
  100,000 articles, in one statement: the page's top entities. ANALYZE's sample of the
  25-million-row link table put some 174 links on an article for the true 25, and
  PostgreSQL planned a hash join reading the whole entity table again for every article of
  the page (37 ms a page). Since f233404 each link's entity is looked up by key whatever
  the statistics say (4 ms); the node leg was measured again after it (see "Code
  measured"). What is left per request is the round trips a node makes that SQLite's
  in-process reads don't: the statement time limit, the newest change and the lag check
  (about 0.25 ms each), then the page's rows and entities.
"""


def profile_lines(result: dict[str, Any]) -> list[str]:
    size = result["load"]["articles"]
    lines = own_cost_profile_lines(result["api"].get("own_cost_profile"), size)
    profile = result["api"].get("profile") or {}
    if "buckets" not in profile:
        return [
            *lines,
            f"Profile not taken: {profile.get('error', 'no profile in the results')}",
            "",
        ]
    lines += [
        f"### Profile of the slowest query at {size:,} articles: {profile['query']}",
        "",
        *sampling_lines(profile),
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


def sampling_lines(profile: dict[str, Any]) -> list[str]:
    """How a profile was taken, and what a request cost in CPU while it was."""
    lines = [
        f"py-spy sampled the server's workers ({profile['samples']:,} samples at 200 Hz) while "
        "wrk sent the request one at a time"
    ]
    if "layers" in profile:  # since the samples are of the thread holding the interpreter lock
        lines[0] += (
            ", each sample the thread running Python (sqlite3 and tantivy let go of the lock "
            "while they work: the engines show less here than in the floor). The server's CPU "
            f"time was {profile['cpu_ms_per_request']:.2f} ms per request (all its threads "
            f"and processes, from /proc), of which the samples put "
            f"{profile['python_ms_per_request']:.2f} ms in Python. Share of the samples:"
        )
    else:
        lines[0] += ". Share of the samples:"
    return [*lines, ""]


def own_cost_profile_lines(profile: dict[str, Any] | None, size: int) -> list[str]:
    """Where a typical search's own cost goes: the samples by layer, in ms per request."""
    if not profile or "layers" not in profile:
        return []
    per_request = profile["python_ms_per_request"]
    lines = [
        f"### Where the API's own cost goes at {size:,} articles: {profile['query']}",
        "",
        *sampling_lines(profile),
        "| layer (the innermost Python frame's package, or an engine call) | share "
        "| ms per request |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {name} | {share:.0%} | {share * per_request:.2f} |"
        for name, share in profile["layers"].items()
    ]
    lines += [
        "",
        "Our functions on the sampled stacks (inclusive; the middleware's frames hold the "
        "event loop's whole part of the request):",
        "",
        "| function | share |",
        "|---|---:|",
    ]
    lines += [f"| `{name}` | {share:.0%} |" for name, share in profile["app_functions"].items()]
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
    figures = ner_report.load_figures(results_dir)
    if ner.exists() or figures:
        lines += [
            "## Entity recognition at ingest",
            "",
            "`benchmarks/ner_overhead.py` on the BBC originals (the same texts for each line). "
            "The `newsdesk ingest` lines time the whole command (model loading, worker start, "
            "storing, the search index) on a fresh SQLite database; CPU-seconds are its own and "
            "its workers'. On a shared machine the wall-clock speed-up of workers says little "
            "(more processes get a larger share of a busy machine, or none is free): compare "
            "CPU-seconds per article, and the load average printed before and after.",
            "",
        ]
    if figures:
        lines += ner_report.figure_lines(figures)
    if ner.exists():
        lines += ["```", ner.read_text().strip(), "```", ""]
    lines += [
        "## Reproducing",
        "",
        "```sh",
        "make bench                                   # 10,000 articles, under 10 minutes",
        'make bench BENCH_SIZES="10000 100000"        # about 20 minutes',
        'make bench BENCH_SIZES="10000 100000 1000000" BENCH_SECONDS=5   # about two hours',
        "# the 1M load once (most of an hour), then measure it as often as needed:",
        ".venv/bin/python benchmarks/run.py 1000000 --load-only",
        ".venv/bin/python benchmarks/run.py 10000 1000000 --reuse --seconds 5 && "
        ".venv/bin/python benchmarks/report.py",
        "# PostgreSQL as well (up to 100k unless --postgres-up-to says more):",
        "#   NEWSDESK_BENCH_POSTGRES=postgresql+psycopg://…  (its database is loaded once, reused)",
        "# start-up of two versions, many starts each, on a database a run left:",
        "PYTHONPATH=. .venv/bin/python benchmarks/startup.py DB --starts 9 [--tree OTHER_CHECKOUT]",
        "```",
        "",
        "Each run's figures are kept in git (`benchmarks/results/*.json`, beside the corpora, "
        "databases and indexes that are not): `benchmarks/report.py` rebuilds this file from "
        "them on any machine, and a size measured by an earlier run keeps its figures until "
        "it is measured again.",
        "",
        "The corpus is generated from the BBC corpus (`NEWSDESK_BBC_CORPUS` or "
        "`../shared/corpus/bbc`) by `benchmarks/generate.py` with seed 8; entities come from "
        "real NER run once on the 2,225 originals (cached in `benchmarks/results/`). Datasette "
        "runs from its own virtualenv (`benchmarks/.venv-datasette`, made by `make bench`), "
        "with the FTS table named in its metadata (it does not detect `content='article'` "
        "with single quotes), `suggest_facets` off and 60 s time limits.",
    ]
    return lines
