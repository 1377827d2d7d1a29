"""All settings in one place, read from the environment (prefix NEWSDESK_) or a .env file."""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


# The points where `NEWSDESK_FAULT_KILL_AT` can kill ingest (app/faults.py), and the state a
# kill there leaves behind.
INGEST_KILL_POINTS = {
    "articles_committed": "a batch's articles are committed, their entities not yet linked",
    "index_written": "the database is committed; the search index holds the new documents, "
    "uncommitted",
    "index_committed": "the search index is committed; its watermark is not yet moved",
}
# ... `newsdesk load-jsonl` (app/ingest/store/bulk.py; the index sync's points above too) ...
BULK_KILL_POINTS = {
    "bulk_batch_stored": "a bulk load's batch is written, its transaction not yet committed",
}
# ... and `newsdesk deliver` (app/monitor/deliveries.py).
DELIVERY_KILL_POINTS = {
    "webhook_sent": "a webhook delivery was answered 2xx; the answer is not yet recorded",
}
KILL_POINTS = {**INGEST_KILL_POINTS, **BULK_KILL_POINTS, **DELIVERY_KILL_POINTS}


class Settings(BaseSettings):
    """Newsdesk configuration: each field from NEWSDESK_<NAME> (URL and data dir also bare)."""

    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'data' / 'newsdesk.db'}",
        validation_alias=AliasChoices("DATABASE_URL", "NEWSDESK_DATABASE_URL"),
        description="SQLAlchemy URL: sqlite:///path (default) or postgresql+psycopg://...",
    )
    read_database_url: str | None = Field(
        default=None,
        description="PostgreSQL: a URL the API reads from (e.g. a hot-standby replica) while "
        "writes (ingest, collection, curation, write endpoints, migrations) go to "
        "database_url; the node's search index catches up over it. Unset: database_url.",
    )
    data_dir: Path = Field(
        default=PROJECT_ROOT / "data",
        validation_alias=AliasChoices("DATA_DIR", "NEWSDESK_DATA_DIR"),
        description="Folder holding articles/ (ingested on start) and aliases.csv.",
    )
    max_file_bytes: int = Field(
        default=5_000_000, ge=1, description="Files larger than this are rejected by ingest."
    )
    ingest_batch_size: int = Field(
        default=64, ge=1, le=10_000, description="Articles per NER batch and per commit."
    )
    ingest_workers: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="Processes that read files and recognise entities during `newsdesk "
        "ingest` while its own process stores them; default: one per core. 1 does everything "
        "in the ingest's process.",
    )
    gazetteer_min_articles: int = Field(
        default=2,
        ge=0,
        description="An entity linked to at least this many articles has its known forms "
        "found in new articles where the model misses them (the gazetteer); 0 turns it off.",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=30_000, ge=0, description="How long a SQLite connection waits for a lock."
    )
    sqlite_read_cache_kib: int = Field(
        default=512,
        ge=64,
        description="Page cache of each connection the API reads SQLite with, in KiB. Every "
        "request in flight holds a connection, each with its own cache of the same hot pages "
        "(SQLite's default, 2 MiB, cost a worker about 50 MB under 32 concurrent requests); "
        "the operating system's file cache already holds the file.",
    )
    default_page_size: int = Field(
        default=20, ge=1, le=1000, description="Results per page when a request gives no limit."
    )
    max_page_size: int = Field(
        default=100, ge=1, le=1000, description="The largest limit (and NewsAPI pageSize) accepted."
    )
    max_query_length: int = Field(
        default=1_000, ge=10, description="Longest accepted q, in characters."
    )
    snippet_tokens: int = Field(
        default=24, ge=4, le=64, description="Approximate length of a search snippet, in words."
    )
    api_key_hash: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{64}$",
        description="SHA-256 (hex) of the API key that unlocks the write endpoints; unset, "
        "the API is read-only and the write endpoints do not exist.",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="The API key in plain text, hashed at start-up (prefer api_key_hash).",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed to call the API from a browser: comma-separated or a "
        'JSON list ("https://a.example,https://b.example"; "*" for any). Empty: no CORS.',
    )
    query_timeout_ms: int = Field(
        default=5_000,
        ge=0,
        description="Longest a request may spend in the database (0 = no limit); answered 503.",
    )
    fault_expired_query_deadline: bool = Field(
        default=False,
        description="Fault injection for tests, never for production: on SQLite every "
        "request's time limit has already run out when its work starts, so a statement "
        "longer than a few hundred steps is stopped as a slow one would be, whatever the "
        "machine's speed. No effect on PostgreSQL or with query_timeout_ms=0.",
    )
    max_url_length: int = Field(
        default=8_192, ge=256, description="Longest accepted path and query string, in bytes."
    )
    log_format: Literal["json", "text"] = Field(
        default="json", description="json: one JSON object per line; text: for people."
    )
    log_level: str = Field(default="INFO", description="Level of the newsdesk loggers.")
    database_pool_size: int = Field(
        default=40,
        ge=1,
        description="Database connections kept per process: at least the server's worker "
        "threads (40), or requests wait on each other under load.",
    )
    export_batch_size: int = Field(
        default=100, ge=1, le=10_000, description="Articles read per batch by CSV/JSONL exports."
    )
    search_engine: Literal["tantivy", "database"] = Field(
        default="tantivy",
        description="tantivy: a search index (fast at millions of articles): on SQLite "
        "beside the database file, kept current by ingest; on PostgreSQL in "
        "search_index_dir, which each API node keeps current from the change log. "
        "database: SQLite FTS5 or PostgreSQL's full-text search alone.",
    )
    search_index_dir: Path | None = Field(
        default=None,
        description="Folder of the tantivy index; default on SQLite: beside the database file "
        "(data/newsdesk.index for data/newsdesk.db). On PostgreSQL the index is used only when "
        "this is set (one folder per API node, never shared).",
    )
    search_index_max_lag_ms: int = Field(
        default=2_000,
        ge=0,
        description="PostgreSQL: the index answers while its oldest missing change is at most "
        "this old; further behind, searches run in the database (or the node reports not "
        "ready, see search_index_behind). SQLite's index answers only when it holds every "
        "change (its writer applies them at once).",
    )
    search_index_behind: Literal["database", "not_ready"] = Field(
        default="database",
        description="PostgreSQL, when the index is absent or further behind than "
        "search_index_max_lag_ms: database: searches run in the database and /readyz says "
        "ok; not_ready: searches still answer from the database (never wrong), but /readyz "
        "answers 503 so a load balancer sends requests to another node.",
    )
    search_index_poll_ms: int = Field(
        default=500,
        ge=50,
        description="PostgreSQL: how often `newsdesk serve` reads the change log (one indexed "
        "range read) to bring its index up to date.",
    )
    search_index_listen: bool = Field(
        default=True,
        description="PostgreSQL: `newsdesk serve` also LISTENs for the writers' notifications "
        "on a connection of its own and catches up as soon as a write commits (polling stays "
        "the fallback). Off where LISTEN can't work: a read URL on a hot standby turns it off "
        "by itself, a connection pooler in transaction mode needs false.",
    )
    search_change_retention_hours: float = Field(
        default=24.0,
        gt=0,
        description="PostgreSQL: how long the change log keeps a change (pruned by writers). "
        "A node down for longer rebuilds its index from the articles when it comes back.",
    )
    search_index_wait_ms: int = Field(
        default=60_000,
        ge=0,
        description="How long the end of an ingest waits for another process writing the "
        "search index before leaving the update to the next ingest or sync.",
    )
    timeline_max_periods: int = Field(
        default=10_000, ge=1, description="Most periods one /timeline answer holds (else 400)."
    )
    kept_timeline_periods: int = Field(
        default=200_000,
        ge=0,
        description="Shares' denominators (every article per period under the same "
        "source, date and language filters) are kept until the archive changes: at most "
        "this many periods in all (0: none kept).",
    )
    compare_max_queries: int = Field(
        default=10, ge=1, description="Most named queries one /timeline/compare takes."
    )
    terms_sample_size: int = Field(
        default=500,
        ge=1,
        description="/articles/terms reads at most this many matches (the best: most "
        "relevant with q, else newest) and as many archive articles as its background.",
    )
    terms_concurrency: int = Field(
        default=2,
        ge=1,
        le=64,
        description="/articles/terms answers computed at the same time per server process; "
        "the others wait their turn (without holding a thread), so a burst of them does not "
        "grow each worker's memory by a sample's worth of text per request.",
    )
    export_concurrency: int = Field(
        default=2,
        ge=1,
        le=64,
        description="CSV/JSONL exports building a batch at the same time; the others wait "
        "their turn (without holding a thread), so memory stays flat however many run.",
    )
    max_jsonl_bytes: int = Field(
        default=2_000_000_000,
        ge=1,
        description="JSONL files larger than this are rejected by ingest; each line is held "
        "to max_file_bytes and read one at a time, so memory does not grow with the file.",
    )
    max_body_bytes: int = Field(
        default=6_000_000,
        ge=1_024,
        description="Largest request body, in bytes, counted as it streams in; larger is "
        "answered 413 before the rest is read.",
    )
    max_json_depth: int = Field(
        default=32,
        ge=2,
        le=200,
        description="Deepest nesting of lists and objects accepted in a JSON body, article, "
        "JSONL record or sidecar (deeper ones are refused with the reason: 422 in the API).",
    )
    cursor_secret: SecretStr | None = Field(
        default=None,
        description="Key that signs pagination cursors (any long random string); unset, a "
        "random key is made on the first migration and kept in the database, shared by every "
        "server on it. Changing it invalidates the cursors clients hold (400 invalid_cursor).",
    )
    require_read_key: bool = Field(
        default=False,
        description="Every endpoint but /healthz and /readyz needs a key: a read key or the "
        "API key (which also reads).",
    )
    read_api_key_hashes: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="SHA-256 (hex) of keys that may read but never write; comma-separated.",
    )
    read_api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Read keys in plain text, comma-separated, hashed at start-up (prefer "
        "read_api_key_hashes).",
    )
    max_query_words: int = Field(
        default=32,
        ge=1,
        description="Most words one q may search for (phrase words count one each; else 400).",
    )
    max_query_prefixes: int = Field(
        default=8,
        ge=0,
        description="Most prefix* terms in one q (each expands inside the engine; else 400).",
    )
    snippet_window_chars: int = Field(
        default=1_500,
        ge=200,
        le=20_000,
        description="Characters of an article's text, around its first match, that a snippet "
        "is chosen from: bounds the highlighting work per article whatever its size.",
    )
    shutdown_grace_seconds: int = Field(
        default=10,
        ge=1,
        description="On SIGTERM, how long `newsdesk serve` lets running requests finish "
        "(new ones are refused), then exits within one more second.",
    )
    fault_kill_at: str | None = Field(
        default=None,
        pattern=r"^[a-z_]+(:[1-9][0-9]*)?$",
        description="For crash tests only: `<point>[:<n>]` makes the process SIGKILL itself "
        "the n-th time it reaches that point (app/faults.py lists them). Unset: never.",
    )

    # Collection (`newsdesk collect`): politeness, limits and schedules. Bodies are held to
    # max_file_bytes, as files are.
    collect_contact_url: str | None = Field(
        default=None,
        description="A URL (or mailto:) site owners can reach you at, sent in the collector's "
        "User-Agent: `Newsdesk/<version> (+<contact>)`.",
    )
    collect_connect_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Longest wait for a connection to a site."
    )
    collect_read_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Longest wait for the next bytes of an answer."
    )
    collect_host_delay_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Least time between two requests to one host (a larger Crawl-delay in "
        "its robots.txt wins); requests to one host are never concurrent.",
    )
    collect_concurrency: int = Field(
        default=8, ge=1, le=256, description="Requests in flight at once, over all hosts."
    )
    collect_retries: int = Field(
        default=2, ge=0, le=10, description="Retries of a 5xx answer or a timeout."
    )
    collect_retry_backoff_seconds: float = Field(
        default=2.0, ge=0, description="Wait before the first retry; doubles for each next one."
    )
    collect_max_retry_after_seconds: float = Field(
        default=300.0,
        ge=0,
        description="Longest Retry-After (429/503) waited for within a round; a longer one "
        "fails the fetch and the source is tried again after it.",
    )
    collect_max_interval_seconds: int = Field(
        default=86_400,
        ge=60,
        description="Longest interval of a failing source (its interval doubles per failure).",
    )
    collect_robots_cache_seconds: int = Field(
        default=3_600, ge=0, description="How long a host's robots.txt is kept before re-reading."
    )
    collect_max_items: int = Field(
        default=200,
        ge=1,
        description="Most new items taken from one feed, sitemap or page per round.",
    )
    collect_jitter: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="In --watch, each next fetch moves by up to this share of the interval, so "
        "sources added together do not stay in step.",
    )
    collect_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65_535,
        description="`newsdesk collect --watch` serves Prometheus counters on this port "
        "(/metrics); unset: not served.",
    )
    # Saved searches' webhooks (`newsdesk deliver`, `newsdesk collect --watch`).
    webhook_allow_private: bool = Field(
        default=False,
        description="Let webhooks reach loopback, private and link-local addresses (cloud "
        "metadata addresses stay refused).",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="How long a webhook receiver may take to answer."
    )
    webhook_retry_base_seconds: float = Field(
        default=30.0,
        ge=0,
        description="The wait before a failed delivery's first retry; it doubles per attempt.",
    )
    webhook_retry_window_seconds: float = Field(
        default=86_400.0,
        ge=0,
        description="How long a delivery is retried before its search's webhook is marked failing.",
    )
    collect_metrics_host: str = Field(
        default="127.0.0.1", description="Interface the collector's /metrics listens on."
    )
    keep_raw: bool = Field(
        default=False,
        description="Keep each collected article's page, gzip-compressed, in the database, so "
        "`newsdesk reextract` can read it again without fetching.",
    )
    collect_allow_private: bool = Field(
        default=False,
        description="Let POST /sources add URLs on private, loopback, link-local or cloud "
        "metadata addresses (refused by default: the server would fetch inside its network).",
    )

    @field_validator("cors_origins", "read_api_key_hashes", "read_api_keys", mode="before")
    @classmethod
    def split_list(cls, value: object) -> object:
        """Accept `a,b` as well as `["a", "b"]` from the environment."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    @field_validator("fault_kill_at")
    @classmethod
    def known_kill_point(cls, value: str | None) -> str | None:
        """A misspelt point would never be reached: the crash test would wait for nothing."""
        point = (value or "").partition(":")[0]
        if value is not None and point not in KILL_POINTS:
            raise ValueError(f"no kill point {point!r} (known: {', '.join(KILL_POINTS)})")
        return value

    @model_validator(mode="after")
    def default_page_fits(self) -> Settings:
        if self.default_page_size > self.max_page_size:
            raise ValueError(
                f"NEWSDESK_DEFAULT_PAGE_SIZE ({self.default_page_size}) is over "
                f"NEWSDESK_MAX_PAGE_SIZE ({self.max_page_size})"
            )
        return self

    @model_validator(mode="after")
    def hash_plain_api_key(self) -> Settings:
        """Keep only the SHA-256 of a plain-text key, so the key itself is never held or logged."""
        if self.api_key is not None:
            digest = hashlib.sha256(self.api_key.get_secret_value().encode()).hexdigest()
            if self.api_key_hash is not None and self.api_key_hash.lower() != digest:
                raise ValueError("NEWSDESK_API_KEY and NEWSDESK_API_KEY_HASH name different keys")
            self.api_key_hash, self.api_key = digest, None
        if self.api_key_hash is not None:
            self.api_key_hash = self.api_key_hash.lower()
        return self

    @model_validator(mode="after")
    def hash_read_keys(self) -> Settings:
        """Read keys kept as SHA-256 only, each distinct from the write key."""
        digests = [key.lower() for key in self.read_api_key_hashes]
        digests += [
            hashlib.sha256(key.get_secret_value().encode()).hexdigest()
            for key in self.read_api_keys
        ]
        for digest in digests:
            if not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise ValueError("NEWSDESK_READ_API_KEY_HASHES holds something not a SHA-256")
            if digest == self.api_key_hash:
                raise ValueError("a read key must differ from the API key (which writes)")
        self.read_api_key_hashes, self.read_api_keys = list(dict.fromkeys(digests)), []
        if self.require_read_key and not (digests or self.api_key_hash):
            raise ValueError(
                "NEWSDESK_REQUIRE_READ_KEY needs a key: set NEWSDESK_READ_API_KEYS (or _HASHES) "
                "or NEWSDESK_API_KEY"
            )
        return self

    @property
    def articles_dir(self) -> Path:
        return self.data_dir / "articles"

    @property
    def aliases_file(self) -> Path:
        return self.data_dir / "aliases.csv"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def reading_url(self) -> str:
        """Where the API reads: read_database_url when set, else database_url."""
        return self.read_database_url or self.database_url


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
