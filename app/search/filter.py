"""Every article filter, declared once: its parameters, its SQL, its index clause and field.

A filter is one `SearchFilter` in FILTERS. The database engines' WHERE (`filter_conditions`),
the tantivy index's query (`index_clauses`), its schema (`index_fields`) and its documents
(`document_fields`) all loop over the registry, and so do the engine-parity tests
(tests/search/test_filter_registry.py fails for an entry without a case). Adding a filter
means a field on ArticleFilter, one entry here and its API parameter in app/api/filters.py;
the index rebuilds itself when its fields change (see app/search/tantivy/index.py).

Nothing here imports the engines: they import this.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NamedTuple
from urllib.parse import urlsplit

import tantivy
from sqlalchemy import String, and_, false, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col

from app.models import Article, ArticleEntity, ArticleTag, Entity, Source

if TYPE_CHECKING:
    from app.search.query import Query
    from app.search.text import SearchIn

Sort = Literal["relevance", "published_at", "-published_at"]


@dataclass
class ArticleFilter:
    """Everything that narrows a set of articles; shared by search, facets, timeline, exports."""

    query: Query | None = None
    search_in: SearchIn = "all"
    source_ids: list[int] | None = None
    published_from: datetime | None = None
    published_to: datetime | None = None
    entity_groups: list[list[int]] = field(default_factory=list)
    entity_types: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    # Bylines matched whole, in any case: any of them.
    authors: list[str] = field(default_factory=list)
    exclude_duplicates: bool = False
    # Bare lower-case hosts ("bbc.co.uk"): the source's domain or the article URL's host.
    domains: list[str] = field(default_factory=list)
    exclude_domains: list[str] = field(default_factory=list)
    # Only articles with an id up to this: a walk's snapshot, so that the total and facets of
    # its later pages count the articles its pages list, not ones ingested since.
    up_to_id: int | None = None
    # Only these articles (None: any): a saved search matched against one ingest batch.
    article_ids: list[int] | None = None


class HitArticle(NamedTuple):
    """The columns of an article that a hit's readers use (pages, exports, feeds, NewsAPI,
    saved searches), read as a plain row: ORM objects, with every JSON column decoded, cost
    a search page more than reading its rows did."""

    id: int
    title: str | None
    subtitle: str | None
    url: str | None
    author: str | None
    published_at: datetime | None
    language: str | None
    lede: str | None
    body: str
    updated_at: datetime
    duplicate_of: int | None


class HitSource(NamedTuple):
    id: int
    name: str


@dataclass
class Hit:
    article: HitArticle
    source: HitSource | None
    score: float | None
    # Relevance pages from the search index: the position after this hit, for the cursor.
    rank: int | None = None


# -- what an entry is made of -------------------------------------------------------------

Clause = tuple[tantivy.Occur, tantivy.Query]
# The facts an index document is built from: the columns the entries read (`reads`), the
# source's `source_domain`, and the article's `entity_ids`, `entity_types` and `tags`.
Facts = Mapping[str, Any]


@dataclass(frozen=True)
class IndexField:
    """One field of the index schema; `fast` for orders, aggregations and exists queries."""

    name: str
    kind: Literal["unsigned", "text", "boolean"]
    fast: bool = False


@dataclass(frozen=True)
class FacetCounting:
    """A facet whose values are the filter's own values, counted as they are.

    `pairs` adds a `value` column to the SELECT of matching ids (one row per article and
    value); `field` is the index field the engine's terms aggregation counts.
    """

    field: str
    pairs: Callable[[Select[Any]], Select[Any]]
    multi_valued: bool = False


def _no_document_fields(_facts: Facts) -> dict[str, Any]:
    """A filter the index applies on fields of its own (the id, the date) adds none."""
    return {}


@dataclass(frozen=True)
class SearchFilter:
    """One filter: everything every engine needs to apply it."""

    name: str
    # The /articles parameters that set it (none: set by other APIs or internally).
    parameters: tuple[str, ...]
    conditions: Callable[[ArticleFilter], list[ColumnElement[bool]]]
    clauses: Callable[[ArticleFilter, tantivy.Schema], list[Clause]]
    fields: tuple[IndexField, ...] = ()
    reads: tuple[str, ...] = ()  # the Article columns its document values need
    document: Callable[[Facts], dict[str, Any]] = _no_document_fields
    facet: FacetCounting | None = None


# -- shared pieces --------------------------------------------------------------------------

# Dates in the index: microseconds since 1970-01-01 UTC, exact (an i64 holds years 1-9999).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    """Microseconds since 1970-01-01 UTC (a naive moment is UTC), computed without floats:
    a float timestamp loses microseconds far from 1970 and rounds toward zero before it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // MICROSECOND


def fold_case(text: str) -> str:
    """A value as the case-insensitive filters compare it (`lower_text` in SQL)."""
    return text.lower()


class lower_text(FunctionElement[str]):
    """SQL lower() of every letter: SQLite's own lower() folds ASCII only ("É" stays), so
    on SQLite it is newsdesk_lower, Python's str.lower registered by app/db.py."""

    type = String()
    inherit_cache = True


@compiles(lower_text)
def _lower(element: lower_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(lower_text, "sqlite")
def _lower_on_sqlite(element: lower_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"newsdesk_lower({compiler.process(element.clauses, **kw)})"


def one_of(schema: tantivy.Schema, field_name: str, values: Sequence[Any]) -> tantivy.Query:
    """Documents whose field holds any of `values` (none: no document)."""
    if not values:
        return tantivy.Query.empty_query()
    return tantivy.Query.term_set_query(schema, field_name, list(values))


def id_range(schema: tantivy.Schema, low: int | None, high: int | None) -> tantivy.Query:
    return tantivy.Query.range_query(schema, "id", tantivy.FieldType.Unsigned, low, high)


def on_domains(domains: list[str]) -> ColumnElement[bool]:
    """Articles whose source's domain is one of `domains` or whose URL is on one (www. too).

    Never NULL, so its negation keeps articles without a URL or a source.
    """
    url = func.coalesce(func.lower(col(Article.url)), "") + "/"
    escaped = [d.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for d in domains]
    on_url = [
        url.like(f"{scheme}://{www}{domain}/%", escape="\\")
        for domain in escaped
        for scheme in ("http", "https")
        for www in ("", "www.")
    ]
    on_source = and_(
        col(Article.source_id).is_not(None),
        col(Article.source_id).in_(select(col(Source.id)).where(col(Source.domain).in_(domains))),
    )
    return or_(on_source, *on_url)


def hosts_of(url: str | None, source_domain: str | None) -> list[str]:
    """What a domain filter matches: the source's domain and the URL's host, with and
    without its www. (the same rule as the database filter `on_domains`)."""
    hosts = [source_domain] if source_domain else []
    if url:
        parts = urlsplit(url.strip().lower())
        if parts.scheme in ("http", "https") and parts.netloc:
            hosts.append(parts.netloc)
            if parts.netloc.startswith("www."):
                hosts.append(parts.netloc[4:])
    return list(dict.fromkeys(hosts))


def _in_articles(ids: Select[Any], f: ArticleFilter) -> ColumnElement[bool]:
    """Articles that `ids` (a SELECT of article ids) lists. A filter of given articles (a
    batch being matched) looks up only those: else the database would read every article
    of the tag or entity to test a few."""
    if f.article_ids is not None:
        ids = ids.where(ids.selected_columns[0].in_(f.article_ids))
    return col(Article.id).in_(ids)


MUST, MUST_NOT = tantivy.Occur.Must, tantivy.Occur.MustNot


# -- the registry -----------------------------------------------------------------------------

Conditions = list[ColumnElement[bool]]


def _up_to_id_conditions(f: ArticleFilter) -> Conditions:
    return [col(Article.id) <= f.up_to_id] if f.up_to_id is not None else []


def _up_to_id_clauses(f: ArticleFilter, schema: tantivy.Schema) -> list[Clause]:
    return [(MUST, id_range(schema, None, f.up_to_id))] if f.up_to_id is not None else []


UP_TO_ID = SearchFilter("up_to_id", (), _up_to_id_conditions, _up_to_id_clauses)


def _article_ids_conditions(f: ArticleFilter) -> Conditions:
    if f.article_ids is None:
        return []
    return [col(Article.id).in_(f.article_ids) if f.article_ids else false()]


def _article_ids_clauses(f: ArticleFilter, schema: tantivy.Schema) -> list[Clause]:
    if f.article_ids is None:
        return []
    return [(MUST, one_of(schema, "id", f.article_ids))]


ARTICLE_IDS = SearchFilter("article_ids", (), _article_ids_conditions, _article_ids_clauses)


def _source_conditions(f: ArticleFilter) -> Conditions:
    if f.source_ids is None:
        return []
    return [col(Article.source_id).in_(f.source_ids) if f.source_ids else false()]


def _source_clauses(f: ArticleFilter, schema: tantivy.Schema) -> list[Clause]:
    if f.source_ids is None:
        return []
    return [(MUST, one_of(schema, "source", f.source_ids))]


def _source_document(facts: Facts) -> dict[str, Any]:
    return {"source": facts["source_id"]} if facts["source_id"] is not None else {}


SOURCE = SearchFilter(
    "source",
    ("source",),
    _source_conditions,
    _source_clauses,
    fields=(IndexField("source", "unsigned", fast=True),),
    reads=("source_id",),
    document=_source_document,
)


def _published_conditions(f: ArticleFilter) -> Conditions:
    conditions = []
    if f.published_from is not None:
        conditions.append(col(Article.published_at) >= f.published_from)
    if f.published_to is not None:
        conditions.append(col(Article.published_at) <= f.published_to)
    return conditions


def _published_clauses(f: ArticleFilter, schema: tantivy.Schema) -> list[Clause]:
    if f.published_from is None and f.published_to is None:
        return []
    low = micros(f.published_from) if f.published_from else None
    high = micros(f.published_to) if f.published_to else None
    # `published` is one of the index's own fields (the date orders read it).
    kind = tantivy.FieldType.Integer
    return [(MUST, tantivy.Query.range_query(schema, "published", kind, low, high))]


PUBLISHED = SearchFilter("published", ("from", "to"), _published_conditions, _published_clauses)


def _entity_conditions(f: ArticleFilter) -> Conditions:
    """One condition per group: an article names every group, any entity of each."""
    return [
        _in_articles(
            select(col(ArticleEntity.article_id)).where(col(ArticleEntity.entity_id).in_(group)),
            f,
        )
        for group in f.entity_groups
    ]


def _entity_clauses(f: ArticleFilter, schema: tantivy.Schema) -> list[Clause]:
    return [(MUST, one_of(schema, "entity", group)) for group in f.entity_groups]


def _entity_document(facts: Facts) -> dict[str, Any]:
    return {"entity": facts["entity_ids"]}


ENTITY = SearchFilter(
    "entity",
    ("entity", "entity_any"),
    _entity_conditions,
    _entity_clauses,
    fields=(IndexField("entity", "unsigned", fast=True),),
    document=_entity_document,
)


def _entity_type_conditions(f: ArticleFilter) -> Conditions:
    if not f.entity_types:
        return []
    with_type = (
        select(col(ArticleEntity.article_id))
        .join(Entity, col(Entity.id) == col(ArticleEntity.entity_id))
        .where(col(Entity.type).in_(f.entity_types))
    )
    return [_in_articles(with_type, f)]


def _entity_type_clauses(f: ArticleFilter, schema: tantivy.Schema) -> list[Clause]:
    return [(MUST, one_of(schema, "entity_type", f.entity_types))] if f.entity_types else []


def _entity_type_document(facts: Facts) -> dict[str, Any]:
    return {"entity_type": facts["entity_types"]}


ENTITY_TYPE = SearchFilter(
    "entity_type",
    ("entity_type",),
    _entity_type_conditions,
    _entity_type_clauses,
    fields=(IndexField("entity_type", "text", fast=True),),
    document=_entity_type_document,
)


def _language_conditions(f: ArticleFilter) -> Conditions:
    return [col(Article.language).in_(f.languages)] if f.languages else []


def _language_clauses(f: ArticleFilter, schema: tantivy.Schema) -> list[Clause]:
    return [(MUST, one_of(schema, "language", f.languages))] if f.languages else []


def _language_document(facts: Facts) -> dict[str, Any]:
    return {"language": facts["language"]} if facts["language"] is not None else {}


def _language_pairs(ids: Select[Any]) -> Select[Any]:
    return ids.add_columns(col(Article.language).label("value")).where(
        col(Article.language).is_not(None)
    )


LANGUAGE = SearchFilter(
    "language",
    ("language",),
    _language_conditions,
    _language_clauses,
    fields=(IndexField("language", "text", fast=True),),
    reads=("language",),
    document=_language_document,
    facet=FacetCounting("language", _language_pairs),
)


def _tag_conditions(f: ArticleFilter) -> Conditions:
    if not f.tags:
        return []
    tagged = select(col(ArticleTag.article_id)).where(col(ArticleTag.tag).in_(f.tags))
    return [_in_articles(tagged, f)]


def _tag_clauses(f: ArticleFilter, schema: tantivy.Schema) -> list[Clause]:
    return [(MUST, one_of(schema, "tag", f.tags))] if f.tags else []


def _tag_document(facts: Facts) -> dict[str, Any]:
    return {"tag": facts["tags"]}


def _tag_pairs(ids: Select[Any]) -> Select[Any]:
    return ids.add_columns(col(ArticleTag.tag).label("value")).join(
        ArticleTag, col(ArticleTag.article_id) == col(Article.id)
    )


TAG = SearchFilter(
    "tag",
    ("tag",),
    _tag_conditions,
    _tag_clauses,
    fields=(IndexField("tag", "text", fast=True),),
    document=_tag_document,
    facet=FacetCounting("tag", _tag_pairs, multi_valued=True),
)


def _author_conditions(f: ArticleFilter) -> Conditions:
    if not f.authors:
        return []
    return [lower_text(col(Article.author)).in_([fold_case(a) for a in f.authors])]


def _author_clauses(f: ArticleFilter, schema: tantivy.Schema) -> list[Clause]:
    if not f.authors:
        return []
    return [(MUST, one_of(schema, "author", [fold_case(a) for a in f.authors]))]


def _author_document(facts: Facts) -> dict[str, Any]:
    return {"author": fold_case(facts["author"])} if facts["author"] is not None else {}


AUTHOR = SearchFilter(
    "author",
    ("author",),
    _author_conditions,
    _author_clauses,
    fields=(IndexField("author", "text"),),
    reads=("author",),
    document=_author_document,
)


def _duplicates_conditions(f: ArticleFilter) -> Conditions:
    return [col(Article.duplicate_of).is_(None)] if f.exclude_duplicates else []


def _duplicates_clauses(f: ArticleFilter, schema: tantivy.Schema) -> list[Clause]:
    if not f.exclude_duplicates:
        return []
    return [(MUST_NOT, tantivy.Query.term_query(schema, "duplicate", True))]


def _duplicates_document(facts: Facts) -> dict[str, Any]:
    return {"duplicate": facts["duplicate_of"] is not None}


DUPLICATES = SearchFilter(
    "duplicates",
    ("duplicates",),
    _duplicates_conditions,
    _duplicates_clauses,
    fields=(IndexField("duplicate", "boolean"),),
    reads=("duplicate_of",),
    document=_duplicates_document,
)

HOST = IndexField("host", "text")


def _hosts(facts: Facts) -> dict[str, Any]:
    return {"host": hosts_of(facts["url"], facts["source_domain"])}


def _domain_conditions(f: ArticleFilter) -> Conditions:
    return [on_domains(f.domains)] if f.domains else []


def _domain_clauses(f: ArticleFilter, schema: tantivy.Schema) -> list[Clause]:
    return [(MUST, one_of(schema, "host", f.domains))] if f.domains else []


def _exclude_domain_conditions(f: ArticleFilter) -> Conditions:
    return [~on_domains(f.exclude_domains)] if f.exclude_domains else []


def _exclude_domain_clauses(f: ArticleFilter, schema: tantivy.Schema) -> list[Clause]:
    return [(MUST_NOT, one_of(schema, "host", f.exclude_domains))] if f.exclude_domains else []


# NewsAPI's `domains` and `excludeDomains` (not parameters of /articles).
DOMAIN = SearchFilter(
    "domain",
    (),
    _domain_conditions,
    _domain_clauses,
    fields=(HOST,),
    reads=("url",),
    document=_hosts,
)

EXCLUDE_DOMAIN = SearchFilter(
    "exclude_domain",
    (),
    _exclude_domain_conditions,
    _exclude_domain_clauses,
    fields=(HOST,),
    reads=("url",),
    document=_hosts,
)

FILTERS: tuple[SearchFilter, ...] = (
    UP_TO_ID,
    ARTICLE_IDS,
    SOURCE,
    PUBLISHED,
    ENTITY,
    ENTITY_TYPE,
    LANGUAGE,
    TAG,
    AUTHOR,
    DUPLICATES,
    DOMAIN,
    EXCLUDE_DOMAIN,
)

# -- what the engines loop over -----------------------------------------------------------------


def filter_conditions(flt: ArticleFilter) -> list[ColumnElement[bool]]:
    """WHERE conditions on Article for every filter except the text query."""
    return [condition for entry in FILTERS for condition in entry.conditions(flt)]


def index_clauses(flt: ArticleFilter, schema: tantivy.Schema) -> list[Clause]:
    """The index's clauses for every filter except the text query (unscored)."""
    return [clause for entry in FILTERS for clause in entry.clauses(flt, schema)]


def index_fields() -> list[IndexField]:
    """Every field the filters add to the index schema, each once, in registry order."""
    return list({f.name: f for entry in FILTERS for f in entry.fields}.values())


def document_reads() -> list[str]:
    """The Article columns the filters' document values read."""
    return list(dict.fromkeys(name for entry in FILTERS for name in entry.reads))


def document_fields(facts: Facts) -> dict[str, Any]:
    """The filters' fields of one article's index document."""
    fields: dict[str, Any] = {}
    for entry in FILTERS:
        fields.update(entry.document(facts))
    return fields


def facet_countings() -> dict[str, FacetCounting]:
    """The facets the registry counts, by filter name."""
    return {entry.name: entry.facet for entry in FILTERS if entry.facet is not None}
