"""Nine articles that differ in every filter, for tests that compare a filter's answer with
its meaning: source, date (to the microsecond at the edges of a day), language, tags, entity
types, duplicates, hosts and authors. Built with the real tables (and the tantivy index beside
the database for the [tantivy] backend)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import create_db_engine
from app.models import Article, ArticleEntity, ArticleTag, Entity, Source
from app.search.filter import ArticleFilter
from app.search.service import SearchService
from app.search.tantivy.sync import sync_search_index
from tests.helpers import settings_for


@dataclass
class Row:
    """One test article and what its filters read."""

    name: str
    source: str | None
    published: datetime | None
    language: str
    url: str | None
    tags: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    duplicate_of: str | None = None
    body: str = "A report from the region."
    author: str | None = None


SOURCES = {"khorasan": "khorasan.example", "wire": "news.example", "blog": None}
ENTITIES = {"Putin": "person", "NATO": "organization", "Kabul": "location", "Eurovision": "other"}
MAY_1 = datetime(2024, 5, 1, tzinfo=UTC)
ROWS = [
    Row(
        "a1",
        "khorasan",
        MAY_1,
        "en",
        "https://www.khorasan.example/a1",
        ["tech"],
        ["Putin"],
        body="A report on markets.",
        author="Jane Doe",
    ),
    Row(
        "a2",
        "wire",
        datetime(2024, 5, 1, 23, 59, 59, 999999, tzinfo=UTC),
        "fr",
        "http://news.example/a2",
        ["politics"],
        ["NATO"],
        author="JANE DOE",
    ),
    Row("a3", None, None, "de", "https://other.example/a3", [], ["Putin", "NATO"], "a1"),
    Row(
        "a4",
        "khorasan",
        datetime(2024, 6, 30, 12, tzinfo=UTC),
        "en",
        None,
        ["tech", "politics"],
        ["Kabul"],
        author="Élise Dupont",
    ),
    Row(
        "a5",
        None,
        datetime(2024, 4, 30, 23, 59, 59, tzinfo=UTC),
        "en",
        "https://sub.news.example/a5",
        entities=["Eurovision"],
    ),
    Row(
        "a6",
        "blog",
        datetime(2024, 5, 2, tzinfo=UTC),
        "en",
        "https://newsxexample.org/a6",
        author="Jane Doe-Smith",
    ),
    Row("a7", "wire", datetime(2024, 5, 3, tzinfo=UTC), "en", "HTTP://WWW.Khorasan.example/a7"),
    # A URL without a path: the host is all there is to match.
    Row("a8", None, None, "en", "https://bare.example"),
    # LIKE's wildcards and escape character in a host: they must match only themselves.
    Row("a9", None, None, "en", "https://a_b%c\\d.example/a9"),
]


@dataclass
class World:
    engine: Engine
    ids: dict[str, int]
    source_ids: dict[str, int]
    entity_ids: dict[str, int]
    index_on: bool

    def names(self, flt: ArticleFilter) -> list[str]:
        """The articles `flt` admits, by name, as the search answers them (every page)."""
        by_id = {article_id: name for name, article_id in self.ids.items()}
        settings = settings_for(str(self.engine.url))
        with Session(self.engine) as session:
            search = SearchService(session, settings)
            hits, _ = search.page(flt, "-published_at", 100, None)
            total = search.count(flt)
        found = sorted(by_id[hit.article.id] for hit in hits)
        assert total == len(found), f"count {total} for {found}"
        return found


def build_world(database_url: str, backend: str) -> World:
    """Fill the empty database at `database_url` with ROWS (and sync its index)."""
    engine = create_db_engine(settings_for(database_url), writer=True)
    with Session(engine) as session:
        sources = {name: Source(name=name, domain=domain) for name, domain in SOURCES.items()}
        entities = {name: Entity(name=name, type=kind) for name, kind in ENTITIES.items()}
        session.add_all([*sources.values(), *entities.values()])
        session.flush()
        articles: dict[str, Article] = {}
        for row in ROWS:
            article = Article(
                source_id=sources[row.source].id if row.source else None,
                url=row.url,
                title=f"Article {row.name}",
                body=row.body,
                published_at=row.published,
                language=row.language,
                author=row.author,
                content_hash=row.name,
                origin=row.name,
                duplicate_of=articles[row.duplicate_of].id if row.duplicate_of else None,
            )
            session.add(article)
            session.flush()
            articles[row.name] = article
            session.add_all(ArticleTag(article_id=article.id, tag=tag) for tag in row.tags)
            session.add_all(
                ArticleEntity(article_id=article.id, entity_id=entities[name].id)
                for name in row.entities
            )
        session.commit()
        world = World(
            engine,
            {name: a.id for name, a in articles.items()},  # type: ignore[misc]
            {name: s.id for name, s in sources.items()},  # type: ignore[misc]
            {name: e.id for name, e in entities.items()},  # type: ignore[misc]
            backend == "tantivy",
        )
    if world.index_on:
        assert sync_search_index(settings_for(database_url), engine) is not None
    return world


def listed(client: TestClient, world: World, **params: Any) -> list[str]:
    """The articles GET /articles lists for `params` (one page of all), by name."""
    response = client.get("/articles", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    by_id = {article_id: name for name, article_id in world.ids.items()}
    found = sorted(by_id[item["id"]] for item in response.json()["items"])
    assert response.json()["total"] == len(found)
    return found


def expected(keep: Callable[[Row], bool]) -> list[str]:
    return sorted(row.name for row in ROWS if keep(row))


def host(row: Row) -> str | None:
    if not row.url:
        return None
    netloc = row.url.lower().split("://", 1)[1].split("/", 1)[0]
    return netloc.removeprefix("www.")


def on_domain(row: Row, domains: list[str]) -> bool:
    return (row.source is not None and SOURCES[row.source] in domains) or host(row) in domains
