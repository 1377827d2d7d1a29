"""The fixed query mix: each request to our API and, where it has one, Datasette's closest twin.

Words and entities are chosen from the loaded database by fixed rules (so every corpus size
asks the same kind of question): the rare word is the first vocabulary word found in about
0.2% of the articles, the entity the person with the most articles.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

COMMON = "economy"
PHRASE = '"interest rates"'
PREFIX = "elect*"
BOOLEAN = "economy NOT china"
DEPTH = 100_000
# The significant-terms target is set for a query matching this many articles.
BROAD_MATCHES = 100_000
# Datasette table views: return the columns our result items carry, not whole bodies.
DS_COLUMNS = "&".join(
    f"_col={c}" for c in ("title", "url", "source_id", "author", "published_at", "language")
)


@dataclass
class Query:
    name: str
    api: str | None  # path and query string on our server
    datasette: str | None = None  # path on Datasette, None when it has no equivalent
    note: str = ""


def rare_word(connection: sqlite3.Connection, articles: int) -> str:
    connection.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab USING fts5vocab(main, article_fts, row)"
    )
    target = max(2, articles // 500)
    row = connection.execute(
        "SELECT term FROM temp.vocab WHERE length(term) >= 7 AND term GLOB '[a-z]*' "
        "AND term NOT GLOB '*[0-9]*' ORDER BY abs(doc - ?), term LIMIT 1",
        (target,),
    ).fetchone()
    return str(row[0])


def broad_word(connection: sqlite3.Connection, articles: int) -> str:
    """The word found in the number of articles nearest BROAD_MATCHES (or the whole corpus,
    when it is smaller): significant terms of a query that many articles match."""
    connection.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab USING fts5vocab(main, article_fts, row)"
    )
    row = connection.execute(
        "SELECT term FROM temp.vocab WHERE length(term) >= 4 AND term GLOB '[a-z]*' "
        "AND term NOT GLOB '*[0-9]*' ORDER BY abs(doc - ?), term LIMIT 1",
        (min(BROAD_MATCHES, articles),),
    ).fetchone()
    return str(row[0])


def top_person(connection: sqlite3.Connection) -> tuple[int, str]:
    """The person with the most articles (a corpus without entities gives a stand-in)."""
    row = connection.execute(
        "SELECT e.id, e.name FROM entity e JOIN article_entity ae ON ae.entity_id = e.id "
        "WHERE e.type = 'person' GROUP BY e.id ORDER BY count(*) DESC, e.id LIMIT 1"
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else (0, "nobody")


def third_source(connection: sqlite3.Connection) -> tuple[int, str]:
    row = connection.execute(
        "SELECT s.id, s.name FROM source s JOIN article a ON a.source_id = s.id "
        "GROUP BY s.id ORDER BY count(*) DESC, s.id LIMIT 1 OFFSET 2"
    ).fetchone()
    return int(row[0]), str(row[1])


def api(path: str, **params: object) -> str:
    return f"{path}?{urlencode(params, quote_via=quote)}"


def build_mix(db: Path, paths: set[str]) -> list[Query]:
    """The query mix for one database; `paths` are the routes the server has (OpenAPI)."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    articles = connection.execute("SELECT count(*) FROM article").fetchone()[0]
    rare = rare_word(connection, articles)
    broad = broad_word(connection, articles)
    person_id, person = top_person(connection)
    source_id, source = third_source(connection)
    connection.close()
    table = f"/{db.stem}/article.json?_size=20&{DS_COLUMNS}"

    def ds(**params: object) -> str:
        return f"{table}&{urlencode(params, quote_via=quote)}"

    raw = {"_searchmode": "raw"}
    in_person = f"id in (select article_id from article_entity where entity_id = {person_id})"
    mix = [
        Query("common word", api("/articles", q=COMMON), ds(_search=COMMON)),
        Query("rare word", api("/articles", q=rare), ds(_search=rare), f"`{rare}`"),
        Query("phrase", api("/articles", q=PHRASE), ds(_search=PHRASE, **raw)),
        Query("prefix", api("/articles", q=PREFIX), ds(_search=PREFIX, **raw)),
        Query("boolean NOT", api("/articles", q=BOOLEAN), ds(_search=BOOLEAN, **raw)),
        Query(
            "q + source",
            api("/articles", q=COMMON, source=source),
            ds(_search=COMMON, source_id__exact=source_id),
            source,
        ),
        Query(
            "q + date range",
            api("/articles", q=COMMON, **{"from": "2020-01-01", "to": "2020-12-31"}),
            ds(_search=COMMON, published_at__gte="2020-01-01", published_at__lt="2021-01-01"),
        ),
        Query("entity alone", api("/articles", entity=person), ds(_where=in_person), person),
        Query(
            "entity + q",
            api("/articles", entity=person, q="election"),
            ds(_search="election", _where=in_person),
        ),
    ]
    facets = "facets" if "/articles" in paths else ""
    mix.append(
        Query(
            "facets (source, entity, month)",
            api("/articles", q=COMMON, facets="source,entity,month") if facets else None,
            ds(_search=COMMON, _facet="source_id"),
            "Datasette: source facet only (no joins, no month facet in a table view)",
        )
    )
    mix.append(
        Query(
            "timeline (month)",
            api("/timeline", q=COMMON, interval="month") if "/timeline" in paths else None,
            f"/{db.stem}.json?"
            + urlencode(
                {
                    "sql": "select substr(published_at, 1, 7) m, count(*) n from article "
                    "where rowid in (select rowid from article_fts where article_fts "
                    "match :q) group by m order by m",
                    "q": COMMON,
                },
                quote_via=quote,
            ),
            "Datasette: the same GROUP BY as arbitrary SQL",
        )
    )
    compared = [("query", f"{word}:q={quote(word)}") for word in (COMMON, "market", "oil")]
    compared += [
        ("query", f"person:entity={quote(person)}"),
        ("query", f"source:source={quote(source)}"),
    ]
    mix.append(
        Query(
            "compare 5 queries (month, share)",
            "/timeline/compare?"
            + urlencode([*compared, ("interval", "month"), ("normalize", "share")], quote_via=quote)
            if "/timeline/compare" in paths
            else None,
        )
    )
    mix.append(
        Query(
            "timeline share (month)",
            api("/timeline", q=COMMON, interval="month", normalize="share")
            if "/timeline" in paths
            else None,
        )
    )
    mix.append(
        Query(
            "significant terms",
            api("/articles/terms", q=COMMON) if "/articles/terms" in paths else None,
            note="the best 500 matches against 500 archive articles",
        )
    )
    mix.append(
        Query(
            "significant terms, broad query",
            api("/articles/terms", q=broad) if "/articles/terms" in paths else None,
            note=f"`{broad}`: the word in the number of articles nearest "
            f"{min(BROAD_MATCHES, articles):,}",
        )
    )
    mix.append(
        Query(
            "NewsAPI /v2/everything",
            api("/v2/everything", q=COMMON, pageSize=20) if "/v2/everything" in paths else None,
        )
    )
    if "/entities" in paths:
        surname = person.split()[-1].lower()
        mix += [
            Query("entities, most mentioned first", api("/entities", limit=20)),
            Query("entities by name", api("/entities", q=surname), note=f"`{surname}`"),
            Query("one entity's page", f"/entities/{person_id}", note=person),
        ]
    return mix


def first_page(articles: int) -> Query:
    return Query("first page, newest first", api("/articles", sort="-published_at", limit=20))


def deep_depth(articles: int) -> int:
    """The cursor depth measured: 100,000, or half the corpus when it is smaller."""
    return min(DEPTH, articles // 2)
