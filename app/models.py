"""Database tables (SQLModel). API shapes live in schemas.py; nothing here knows about HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# Ids are 32-bit integers on PostgreSQL: a larger id names no row, and is refused up front.
MAX_ID = 2**31 - 1


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (the database stores UTC)."""
    return datetime.now(UTC)


class Source(SQLModel, table=True):
    """A publisher (outlet) articles come from."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=300)
    domain: str | None = Field(default=None, max_length=300)


class Article(SQLModel, table=True):
    """One article: its cleaned text and the metadata extracted from it."""

    __table_args__ = (
        Index("ix_article_published_id", "published_at", "id"),
        Index("ix_article_source_published", "source_id", "published_at", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    source_id: int | None = Field(default=None, foreign_key="source.id", index=True)
    url: str | None = Field(default=None, unique=True, max_length=2000)
    title: str | None = None
    subtitle: str | None = None
    author: str | None = Field(default=None, max_length=500)
    dateline: str | None = Field(default=None, max_length=200)
    published_at: datetime | None = None
    language: str | None = Field(default=None, max_length=16, index=True)
    lede: str | None = None
    body: str
    word_count: int = 0
    content_hash: str = Field(unique=True, max_length=64)
    origin: str = Field(index=True, max_length=2000)
    origins: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cites: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    provenance: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    duplicate_of: int | None = Field(default=None, foreign_key="article.id", index=True)
    # The model that recognised the entities (en_core_web_sm, natasha); None when none ran,
    # e.g. no model for the article's language is installed: "not analysed", not "none found".
    entity_model: str | None = Field(default=None, max_length=40)
    fingerprint: str | None = Field(default=None, max_length=64)
    ingested_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)


class ArticleTag(SQLModel, table=True):
    """A free-form label on an article (e.g. the BBC corpus category)."""

    __tablename__ = "article_tag"

    article_id: int = Field(foreign_key="article.id", primary_key=True, ondelete="CASCADE")
    tag: str = Field(primary_key=True, max_length=200, index=True)


class Entity(SQLModel, table=True):
    """A canonical person, organization, location or other named thing."""

    __table_args__ = (UniqueConstraint("name", "type", name="uq_entity_name_type"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=300, index=True)
    type: str = Field(max_length=20, index=True)


class EntityAlias(SQLModel, table=True):
    """A surface form that names an entity; `key` is its case- and accent-folded form."""

    __tablename__ = "entity_alias"
    __table_args__ = (UniqueConstraint("key", "entity_type", name="uq_alias_key_type"),)

    id: int | None = Field(default=None, primary_key=True)
    alias: str = Field(max_length=300)
    key: str = Field(max_length=300, index=True)
    entity_type: str = Field(max_length=20)
    entity_id: int = Field(foreign_key="entity.id", index=True, ondelete="CASCADE")
    curated: bool = Field(default=False, description="Set by a person: re-ingest keeps it.")
    curated_by: str | None = Field(
        default=None, max_length=20, description="'alias file' or 'curation' when curated."
    )


class ArticleEntity(SQLModel, table=True):
    """An entity mentioned in an article, how often, and the forms the article used."""

    __tablename__ = "article_entity"
    __table_args__ = (Index("ix_article_entity_entity", "entity_id", "article_id"),)

    article_id: int = Field(foreign_key="article.id", primary_key=True, ondelete="CASCADE")
    entity_id: int = Field(foreign_key="entity.id", primary_key=True, ondelete="CASCADE")
    mentions: int = 1
    forms: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Each form -> how recognition found it in this article: "model", "gazetteer" (a form
    # the archive knows), "alias file" or "curation". Empty for links older than the column.
    found_by: dict[str, list[str]] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )


class EntityStats(SQLModel, table=True):
    """How many articles mention an entity, and how many times in all: kept by triggers on
    article_entity as links come and go (migration 0017), so a listing by count reads one
    row an entity instead of counting every link."""

    __tablename__ = "entity_stats"

    entity_id: int = Field(foreign_key="entity.id", primary_key=True, ondelete="CASCADE")
    articles: int
    mentions: int


class ArticleBand(SQLModel, table=True):
    """One MinHash LSH band key of an article: articles sharing a key are duplicate candidates."""

    __tablename__ = "article_band"
    __table_args__ = (Index("ix_article_band_article", "article_id"),)

    band_key: int = Field(sa_type=BigInteger, primary_key=True)
    article_id: int = Field(foreign_key="article.id", primary_key=True, ondelete="CASCADE")


class ServerSecret(SQLModel, table=True):
    """A random key the server signs with (e.g. pagination cursors), shared by every server
    on the database; made by the migration, or on first use when missing."""

    __tablename__ = "server_secret"

    name: str = Field(primary_key=True, max_length=50)
    value: str = Field(max_length=200, description="Hex-encoded key.")


class CollectionSource(SQLModel, table=True):
    """A URL the collector watches (a feed, a sitemap or a page) for one outlet (`source`).

    Several may belong to one Source: collected and ingested articles of an outlet are one
    source. The HTTP state (ETag, Last-Modified) and the health fields advance only after the
    round's articles from it are committed.
    """

    __tablename__ = "collection_source"

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    url: str = Field(unique=True, max_length=2000)
    kind: str = Field(max_length=20, description="feed, sitemap or page")
    title: str | None = Field(default=None, max_length=500, description="Its own name.")
    discovered_from: str | None = Field(
        default=None, max_length=2000, description="The page that advertised this feed."
    )
    interval_seconds: int = 1800
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    last_fetch_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=1000)
    consecutive_failures: int = 0
    next_fetch_at: datetime | None = Field(default=None, index=True)
    retired_at: datetime | None = None
    added_at: datetime = Field(default_factory=utc_now)


class CollectedUrl(SQLModel, table=True):
    """An item URL (normalised) the collector has handled: never fetched again.

    Written in the same transaction that advances its collection source's state, after the
    articles are committed, so a crash in between fetches the item again and the store's
    URL and content-hash checks keep it once.
    """

    __tablename__ = "collected_url"
    __table_args__ = (Index("ix_collected_url_source_seen", "collection_source_id", "seen_at"),)

    url: str = Field(primary_key=True, max_length=2000)
    collection_source_id: int = Field(foreign_key="collection_source.id", ondelete="CASCADE")
    article_id: int | None = Field(default=None, foreign_key="article.id", ondelete="SET NULL")
    outcome: str = Field(max_length=20, description="added, updated, unchanged or skipped")
    seen_at: datetime = Field(default_factory=utc_now)


class SavedSearch(SQLModel, table=True):
    """A search kept to be told of new matches: its /articles parameters and its webhook."""

    __tablename__ = "saved_search"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=300)
    # The /articles parameters under their own names (repeatable ones as lists), validated.
    query: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    webhook_url: str | None = Field(default=None, max_length=2000)
    webhook_secret: str | None = Field(default=None, max_length=200)
    # What the webhook is told of (schemas.SearchAlert as a dict); null: each new match.
    alert: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Set when a delivery gave up after a day of retries; cleared by the next success.
    webhook_failing_since: datetime | None = None
    created_at: datetime = Field(default_factory=utc_now)


class SearchMatch(SQLModel, table=True):
    """An article a saved search matched, recorded once: an update that still matches is
    not a new match."""

    __tablename__ = "search_match"
    __table_args__ = (
        UniqueConstraint("search_id", "article_id", name="uq_search_match_pair"),
        Index("ix_search_match_search_id", "search_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    search_id: int = Field(foreign_key="saved_search.id", ondelete="CASCADE")
    article_id: int = Field(foreign_key="article.id", ondelete="CASCADE", index=True)
    matched_at: datetime = Field(default_factory=utc_now)


class SearchSpike(SQLModel, table=True):
    """A day on which a saved search's count spiked, recorded once: a later batch of the same
    day finds it here and alerts no second time."""

    __tablename__ = "search_spike"
    __table_args__ = (UniqueConstraint("search_id", "day", name="uq_search_spike_day"),)

    id: int | None = Field(default=None, primary_key=True)
    search_id: int = Field(foreign_key="saved_search.id", ondelete="CASCADE")
    day: date
    count: int
    mean: float
    stddev: float
    threshold: float
    detected_at: datetime = Field(default_factory=utc_now)


class WebhookDelivery(SQLModel, table=True):
    """One webhook POST of a search's new matches, queued with them and sent until delivered.

    `delivery_id` is the Standard Webhooks message id: every attempt sends the same one, so a
    receiver can drop a repeat (a delivery cut before its answer was recorded is sent again).
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "state", "next_attempt_at"),
        Index("ix_webhook_delivery_search", "search_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(unique=True, max_length=64)
    search_id: int = Field(foreign_key="saved_search.id", ondelete="CASCADE")
    payload: str = Field(sa_column=Column(Text, nullable=False))  # the JSON body, fixed when queued
    state: str = Field(default="pending", max_length=20, description="pending, delivered, failed")
    attempts: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    next_attempt_at: datetime | None = Field(default_factory=utc_now)
    created_at: datetime = Field(default_factory=utc_now)
    delivered_at: datetime | None = None


class RawPage(SQLModel, table=True):
    """A collected article's page as fetched, gzip-compressed (NEWSDESK_KEEP_RAW=1), so
    `newsdesk reextract` can read it again without fetching: with the listing's evidence
    (feed or sitemap title, author, date, summary) and the outlet and tags it was read with."""

    __tablename__ = "raw_page"

    article_id: int = Field(foreign_key="article.id", primary_key=True, ondelete="CASCADE")
    url: str = Field(max_length=2000, description="The item's URL (normalised).")
    fetched_url: str = Field(max_length=2000, description="Where it came from (redirects).")
    fetched_at: datetime = Field(default_factory=utc_now)
    content_type: str | None = Field(
        default=None, max_length=300, description="The Content-Type header (with its charset)."
    )
    listing: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    compression: str = Field(default="gzip", max_length=10)
    size: int = Field(default=0, description="Bytes before compression.")
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
