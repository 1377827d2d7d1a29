"""What API clients see: read models and page envelopes (never raw table rows)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.models import MAX_ID
from app.untrusted import web_url

# Served URLs are http(s) only: a stored javascript: or data: URL (from before ingest
# refused them) is served as null, in JSON and in every feed and export built from it.
WebUrl = Annotated[str | None, AfterValidator(web_url)]


class SourceRef(BaseModel):
    """The outlet an article comes from."""

    id: int = Field(examples=[3])
    name: str = Field(examples=["The Khorasan Diary"])


class FeedHealth(BaseModel):
    """How collecting a URL (or all of a source's URLs) is going."""

    last_fetch: datetime | None = Field(description="When it was last fetched (null: never).")
    http_status: int | None = Field(
        description="The last fetch's HTTP status (304: unchanged; null: no answer).",
        examples=[200],
    )
    last_error: str | None = Field(default=None, examples=[None])
    consecutive_failures: int = Field(
        description="Failed fetches in a row; each doubles the interval, up to a day.",
        examples=[0],
    )
    next_fetch: datetime | None = Field(description="When it is due (null: now).")
    retired: bool = Field(default=False, description="Answered 410 Gone: no longer fetched.")
    articles_24h: int = Field(description="Articles it added in the last 24 hours.")
    articles_7d: int = Field(description="Articles it added in the last 7 days.")


class FeedOut(BaseModel):
    """A URL collected for a source: a feed, a sitemap or a page."""

    id: int = Field(examples=[1])
    url: str = Field(examples=["https://feeds.bbci.co.uk/news/rss.xml"])
    kind: str = Field(description="feed, sitemap or page.", examples=["feed"])
    title: str | None = Field(default=None, examples=["BBC News"])
    discovered_from: str | None = Field(
        default=None, description="The page that advertised this feed."
    )
    interval: str = Field(description="How often it is fetched.", examples=["30m"])
    tags: list[str] = Field(default_factory=list, examples=[["uk"]])
    health: FeedHealth


class SourceOut(SourceRef):
    """An outlet with the number of articles stored from it, and the URLs collected for it."""

    domain: str | None = Field(default=None, examples=["thekhorasandiary.com"])
    article_count: int = Field(examples=[1])
    feeds: list[FeedOut] = Field(
        default_factory=list, description="What `newsdesk collect` fetches for it."
    )
    health: FeedHealth | None = Field(
        default=None,
        description="Its feeds' health together (latest fetch, most failures, soonest next "
        "fetch, articles summed); null when nothing is collected for it.",
    )


class SourceIn(BaseModel):
    """A URL to collect (`newsdesk sources add`)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, examples=["https://feeds.bbci.co.uk/news/rss.xml"])
    name: str | None = Field(
        default=None, max_length=300, description="The outlet's name (default: its own)."
    )
    kind: Literal["auto", "feed", "sitemap", "page"] = "auto"
    interval: str = Field(default="30m", max_length=20, examples=["30m"])
    tags: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=50)


class SourcesRemoved(BaseModel):
    """The URLs no longer collected (the articles stay)."""

    removed: list[str]


class SourceList(BaseModel):
    items: list[SourceOut]


class EntityRef(BaseModel):
    """An entity mentioned in an article, with how often it is mentioned there."""

    id: int = Field(examples=[1])
    name: str = Field(examples=["Vladimir Putin"])
    type: str = Field(examples=["person"])
    mentions: int = Field(examples=[6])


class ArticleEntityOut(EntityRef):
    """An entity in one article, with the forms the article uses for it."""

    forms: list[str] = Field(examples=[["Vladimir V. Putin", "Mr. Putin", "Putin"]])


class ArticleSummary(BaseModel):
    """One search hit."""

    id: int = Field(examples=[3])
    title: str | None = Field(
        examples=["Russia Moves to Establish “Full-Fledged” Relations with Taliban"]
    )
    url: WebUrl = Field(examples=["https://thekhorasandiary.com/en/2024/05/29/..."])
    source: SourceRef | None
    author: str | None = Field(examples=["TKD Team"])
    published_at: datetime | None = Field(examples=["2024-05-29T00:00:00Z"])
    language: str | None = Field(examples=["en"])
    snippet: str | None = Field(
        description="The passage that matched, with matches wrapped in highlight markers "
        "and the text HTML-escaped; the lede when there is no q.",
        examples=["… the deputy chairman of Russia's Security Council, <mark>Medvedev</mark> …"],
    )
    score: float | None = Field(
        default=None, description="Relevance (higher is better) when sorted by relevance."
    )
    entities: list[EntityRef] = Field(description="The most-mentioned entities, at most five.")


class FacetValue(BaseModel):
    """One value of a facet and how many matching articles have it."""

    value: str = Field(
        description="Source name, entity name, entity type, language code or month (YYYY-MM).",
        examples=["Vladimir Putin"],
    )
    id: int | None = Field(
        default=None,
        description="Source or entity id (pass it as `source` or `entity` to filter on it).",
        examples=[1],
    )
    type: str | None = Field(default=None, description="Entity type (entity facet only).")
    count: int = Field(description="Matching articles with this value.", examples=[5])


class Facet(BaseModel):
    """The most frequent values of one facet among the matching articles."""

    values: list[FacetValue] = Field(description="Most frequent first; ties by value.")
    other_count: int = Field(
        description="Sum of the counts of the values not listed. For source, language and "
        "month that is a number of articles (counts + other_count + missing = total); for "
        "entity, entity_type and tag an article counts under each of its values."
    )
    distinct: int = Field(description="How many different values the matches have.")
    missing: int = Field(
        description="Matching articles without a value (no source, language or date; no "
        "entities; no tags); not in `values`."
    )


class ArticlePage(BaseModel):
    """A page of search results."""

    total: int = Field(description="Exact number of articles matching the filters.", examples=[5])
    items: list[ArticleSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )
    facets: dict[str, Facet] | None = Field(
        default=None,
        description="Counts per value under the same filters, when `facets` was requested.",
    )


class ArticleDetail(BaseModel):
    """Everything stored about one article."""

    model_config = ConfigDict(json_schema_extra={"description": "Everything about one article."})

    id: int
    title: str | None
    subtitle: str | None
    url: WebUrl
    source: SourceRef | None
    author: str | None
    dateline: str | None
    published_at: datetime | None
    language: str | None
    lede: str | None
    body: str
    word_count: int
    cites: list[str] = Field(description="News agencies the article cites, e.g. TASS.")
    tags: list[str]
    entities: list[ArticleEntityOut]
    entities_analysed: bool = Field(
        description="Whether a model read the article for entities. False when none is "
        "installed for its language (entities are recognised in English and Russian) or "
        "ingest ran without entities: an empty `entities` then means not analysed, not none."
    )
    entity_model: str | None = Field(
        description="The model that recognised the entities.", examples=["en_core_web_sm"]
    )
    provenance: dict[str, str] = Field(
        description=(
            "Where each field came from: sidecar, cli, html-meta[:<sources>], text:<rule>, "
            "url or none."
        ),
        examples=[{"published_at": "text:published-line", "publisher": "sidecar"}],
    )
    origins: list[str] = Field(
        description="The files this article was read from, each as the ingest command named "
        "it (the folder as given, then the path below it), or `api:` for articles added "
        "through the API."
    )
    duplicate_of: int | None = Field(description="The earliest copy, if this is a near-duplicate.")
    extra: dict[str, Any] = Field(description="Fields of a JSON import that have no column.")
    ingested_at: datetime
    updated_at: datetime


class EntitySummary(BaseModel):
    """An entity with how many articles mention it."""

    id: int = Field(examples=[1])
    name: str = Field(examples=["Vladimir Putin"])
    type: str = Field(examples=["person"])
    article_count: int = Field(examples=[5])
    mention_count: int = Field(examples=[21])


class EntityPage(BaseModel):
    total: int
    items: list[EntitySummary]
    next_cursor: str | None


class EntityCount(BaseModel):
    """Another entity and how many articles it shares with this one."""

    id: int = Field(examples=[7])
    name: str = Field(examples=["Taliban"])
    type: str = Field(examples=["organization"])
    article_count: int = Field(examples=[5])


class SourceCount(SourceRef):
    """A source and how many of its articles mention the entity."""

    article_count: int = Field(examples=[1])


class EntityForm(BaseModel):
    """One way the entity is written, and how Newsdesk found it."""

    form: str = Field(examples=["Putin"])
    articles: int = Field(description="Articles that write it.", examples=[4])
    found_by: list[str] = Field(
        description="Each way it was found: `model` (the language model and the text's own "
        "patterns), `gazetteer` (a form the archive already knew, found where the model "
        "missed it), `alias file` (data/aliases.csv) or `curation` (a person's merge, "
        "split, rename or type change). Empty for links stored before this was recorded.",
        examples=[["model", "gazetteer"]],
    )


class EntityDetail(EntitySummary):
    """An entity with its aliases, when it was mentioned, with whom and by whom."""

    aliases: list[str] = Field(examples=[["Vladimir V. Putin", "Putin", "Mr. Putin"]])
    forms: list[EntityForm] = Field(
        description="Its forms as articles write them (most written first) and its curated "
        "aliases, each with how it was found."
    )
    first_seen: datetime | None = Field(
        description="Publication date of the earliest article mentioning it (null if none "
        "of its articles has a date).",
        examples=["2024-04-18T00:00:00"],
    )
    last_seen: datetime | None = Field(
        description="Publication date of the latest article mentioning it.",
        examples=["2024-06-01T00:00:00"],
    )
    co_occurring: list[EntityCount] = Field(
        description="The entities mentioned in most of the same articles, most shared first."
    )
    top_sources: list[SourceCount] = Field(
        description="The sources with most articles mentioning it, most first."
    )


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    database: str = Field(examples=["ok"])


class ErrorResponse(BaseModel):
    """Every error: a message for people and a code for programs."""

    detail: str = Field(examples=["from: expected a date like 2024-05-01"])
    code: str = Field(examples=["invalid_parameter"])
    extra: dict[str, Any] | None = Field(
        default=None, description="Details such as a query error's position and hint."
    )


class NewsApiSourceRef(BaseModel):
    """NewsAPI's source of an article: its slug and name (null when the source is unknown)."""

    id: str | None = Field(examples=["the-khorasan-diary"])
    name: str | None = Field(examples=["The Khorasan Diary"])


class NewsApiArticle(BaseModel):
    """An article in NewsAPI's shape; `content` is the full body (NewsAPI cuts it at 200)."""

    source: NewsApiSourceRef
    author: str | None
    title: str | None
    description: str | None = Field(description="The subtitle, or the first paragraph.")
    url: WebUrl
    urlToImage: str | None = Field(description="Always null: images are not stored.")
    publishedAt: str | None = Field(examples=["2024-05-29T00:00:00Z"])
    content: str | None


class NewsApiArticles(BaseModel):
    status: str = Field(examples=["ok"])
    totalResults: int = Field(description="Exact, and every page up to it can be fetched.")
    articles: list[NewsApiArticle]


class NewsApiSource(BaseModel):
    id: str = Field(examples=["the-khorasan-diary"])
    name: str
    description: str | None
    url: WebUrl
    category: str | None = Field(description="The most common tag of the source's articles.")
    language: str | None
    country: str | None


class NewsApiSources(BaseModel):
    status: str = Field(examples=["ok"])
    sources: list[NewsApiSource]


class NewsApiErrorBody(BaseModel):
    """NewsAPI's error shape."""

    status: str = Field(examples=["error"])
    code: str = Field(examples=["parameterInvalid"])
    message: str


class Readiness(BaseModel):
    """Whether the server can answer: database reachable and its schema up to date."""

    status: str = Field(examples=["ok"], description="ok or not_ready.")
    database: str = Field(examples=["ok"], description="ok or unreachable.")
    schema_revision: str | None = Field(
        examples=["0003"], description="The migration the database is at (null: none)."
    )
    expected_revision: str | None = Field(
        examples=["0003"], description="The newest migration this server ships."
    )
    search_index: str = Field(
        default="not_used",
        examples=["current"],
        description="current: searches use the tantivy index; behind: it lacks "
        "`search_index_lag` changes (on PostgreSQL, the oldest is older than "
        "NEWSDESK_SEARCH_INDEX_MAX_LAG_MS, or the change log was pruned past it) and searches "
        "run in the database until it catches up; absent: not built yet; not_used: search "
        "runs in the database.",
    )
    search_index_lag: int | None = Field(
        default=None, examples=[0], description="Changes the database has and the index lacks."
    )
    search_index_lag_seconds: float | None = Field(
        default=None,
        examples=[0.0],
        description="PostgreSQL: age of the oldest change the index lacks (0: none).",
    )


class TimelineSeries(BaseModel):
    """Counts for one source or entity, one per period."""

    value: str = Field(examples=["The Khorasan Diary"])
    id: int | None = Field(examples=[3])
    total: int = Field(description="Dated matching articles in this series.", examples=[1])
    counts: list[int] = Field(description="Aligned with `periods`.")
    shares: list[float | None] | None = Field(
        default=None, description="With normalize=share: counts / the timeline's denominators."
    )


class SpikeRuleOut(BaseModel):
    """The spike rule a timeline was flagged with (its parameters, echoed)."""

    window: int = Field(description="Trailing periods a count is compared with.", examples=[28])
    threshold: float = Field(description="Standard deviations above their mean.", examples=[3])
    min_count: int = Field(description="Smallest count that can be a spike.", examples=[5])


SHARE_DESCRIPTION = (
    "With normalize=share: per period, every article published under the query's source, "
    "from/to, language and duplicates filters (q, search_in, entity, entity_any, "
    "entity_type, tag and author dropped): the share's denominator."
)


class Timeline(BaseModel):
    """Matching articles per period, every period from the first to the last included."""

    interval: str = Field(examples=["month"])
    periods: list[str] = Field(
        description="Period keys in order: YYYY-MM-DD for days, the Monday (YYYY-MM-DD) for "
        "ISO weeks, YYYY-MM for months; in UTC.",
        examples=[["2024-04", "2024-05", "2024-06"]],
    )
    counts: list[int] = Field(description="Articles per period.", examples=[[1, 1, 0]])
    total: int = Field(description="All matching articles: sum(counts) + undated.")
    undated: int = Field(description="Matching articles without a publication date.")
    series: list[TimelineSeries] | None = Field(
        default=None, description="With `by`: the biggest sources or entities, biggest first."
    )
    other: list[int] | None = Field(
        default=None,
        description="With `by`: per period, the articles in none of the listed series.",
    )
    normalize: str | None = Field(default=None, examples=["share"])
    denominators: list[int] | None = Field(default=None, description=SHARE_DESCRIPTION)
    shares: list[float | None] | None = Field(
        default=None,
        description="With normalize=share: counts / denominators; null where the denominator is 0.",
    )
    spikes: list[bool] | None = Field(
        default=None, description="With spikes=true: whether each period's count is a spike."
    )
    spike_rule: SpikeRuleOut | None = None
    chart: str = Field(
        description="The same timeline drawn as an SVG chart (a path and query string).",
        examples=["/timeline.svg?q=Taliban&interval=week"],
    )


class ComparedQuery(BaseModel):
    """One named query of a comparison, on the comparison's period axis."""

    name: str = Field(examples=["taliban"])
    query: str = Field(description="Its /articles query string.", examples=["q=Taliban"])
    counts: list[int] = Field(description="Aligned with `periods`.")
    total: int = Field(description="All its matches: sum(counts) + undated.")
    undated: int
    denominators: list[int] | None = Field(default=None, description=SHARE_DESCRIPTION)
    shares: list[float | None] | None = None
    spikes: list[bool] | None = None


class TimelineComparison(BaseModel):
    """Several queries' counts per period on one axis, from the earliest to the latest."""

    interval: str = Field(examples=["month"])
    periods: list[str] = Field(examples=[["2024-04", "2024-05"]])
    normalize: str | None = Field(default=None, examples=["share"])
    queries: list[ComparedQuery]
    spike_rule: SpikeRuleOut | None = None
    chart: str = Field(description="The comparison drawn as an SVG chart.")


class ArticleIn(BaseModel):
    """One article to add or update, in the shape of a .json import (any other field is kept
    in `extra`). An article with the same url, or the same title and text, is updated."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "title": "Taliban delegation visits Moscow",
                    "body": "KABUL — A Taliban delegation arrived in Moscow on Tuesday ...",
                    "url": "https://example.org/2024/06/taliban-moscow",
                    "publisher": "Example News",
                    "author": "Jane Doe",
                    "published": "2024-06-04",
                    "language": "en",
                }
            ]
        },
    )

    title: str | None = Field(default=None, description="Headline.")
    body: str | None = Field(default=None, description="Article text (or use content/text).")
    content: str | None = Field(default=None, description="Article text, NewsAPI-style.")
    text: str | None = Field(default=None, description="Article text.")
    description: str | None = Field(default=None, description="Subtitle or standfirst.")
    url: str | None = Field(default=None, description="Canonical URL; identifies the article.")
    publisher: str | None = Field(default=None, description="Outlet name (or use source).")
    source: str | dict[str, Any] | None = Field(
        default=None, description='Outlet name, or NewsAPI\'s {"id": ..., "name": ...}.'
    )
    author: str | None = Field(default=None, description="Byline.")
    published: str | None = Field(
        default=None, description="Publication date or date-time, ISO 8601 preferred."
    )
    language: str | None = Field(default=None, description="ISO 639-1 code, e.g. en.")


class ArticleWritten(BaseModel):
    """What POST /articles did."""

    id: int = Field(examples=[6])
    outcome: str = Field(description="added, updated or unchanged.", examples=["added"])
    entities: str = Field(
        description="recognized, or skipped (with the reason in `note`).", examples=["recognized"]
    )
    note: str | None = Field(default=None, description="Why entities were skipped, if they were.")


class EntityMergeIn(BaseModel):
    """Fold one entity into another: its mentions and aliases move, it disappears."""

    into: int = Field(ge=1, le=MAX_ID, description="The entity that stays.", examples=[1])
    merge: int = Field(ge=1, le=MAX_ID, description="The entity merged away.", examples=[2])


class SimilarArticle(BaseModel):
    """An article about the same story, and what it shares with the one asked about."""

    id: int = Field(examples=[1])
    title: str | None = Field(examples=["Putin Expresses Hope For Expansion Of Russia's Relations"])
    url: WebUrl = Field(examples=["https://afintl.com/en/202411281189"])
    source: SourceRef | None
    published_at: datetime | None = Field(examples=["2024-11-28T00:00:00Z"])
    score: float = Field(
        description="0 to 1: the share of the article's entity weight (rare entities weigh "
        "more) and of its distinctive-term weight this article also has, averaged.",
        examples=[0.39],
    )
    shared_entities: list[str] = Field(
        description="Entities both mention, rarest first.",
        examples=[["Collective Security Treaty Organization", "Sergei Shoigu"]],
    )
    shared_terms: list[str] = Field(
        description="Distinctive words both contain, most distinctive first.",
        examples=[["csto", "bilateral"]],
    )
    duplicate_of: int | None = Field(
        description="The earliest copy, if this article is a near-duplicate."
    )


class SimilarList(BaseModel):
    """The articles most similar to one article, best first."""

    article_id: int = Field(examples=[2])
    items: list[SimilarArticle]


class EntityMerged(BaseModel):
    """The entity that stayed after a merge."""

    id: int = Field(examples=[1])
    name: str = Field(examples=["Vladimir Putin"])
    type: str = Field(examples=["person"])
    merged: int = Field(description="The id that no longer exists.", examples=[2])
    articles_moved: int = Field(description="Article links moved over.", examples=[3])


class SignificantTerm(BaseModel):
    term: str = Field(examples=["champions league"])
    kind: str = Field(description="word or phrase (two words).", examples=["phrase"])
    score: float = Field(description="Log-likelihood (G²): higher is more characteristic.")
    matches: int = Field(description="Sampled matches holding the term.", examples=[41])
    background_matches: int = Field(
        description="Archive sample articles holding the term.", examples=[44]
    )


class SignificantTerms(BaseModel):
    """The terms most characteristic of a search's matches against the whole archive."""

    total: int = Field(description="All matching articles.")
    sampled: int = Field(description="Matches read (the best ones when there are more).")
    background: int = Field(description="Archive articles read as the background.")
    terms: list[SignificantTerm]


# -- saved searches (/searches) ---------------------------------------------------------------


class SearchAlert(BaseModel):
    """When a saved search's webhook is told: of each batch of new matches (`match`), of a day
    whose count spikes (`volume`), or both. A day spikes when its count (articles published
    that day, UTC) is at least `min_count` and more than `threshold` standard deviations
    above the mean of the `window` days before it, the rule of /timeline?spikes=true."""

    model_config = ConfigDict(extra="forbid")

    on: Literal["match", "volume", "both"] = Field(
        default="match", description="match: each new match; volume: spiking days; both."
    )
    threshold: float = Field(
        default=3.0, gt=0, le=100, description="Standard deviations above the trailing mean."
    )
    min_count: int = Field(
        default=5, ge=1, le=1_000_000, description="A day with fewer articles never spikes."
    )
    window: int = Field(default=28, ge=2, le=366, description="Trailing days of the mean.")

    @property
    def on_match(self) -> bool:
        return self.on in ("match", "both")

    @property
    def on_volume(self) -> bool:
        return self.on in ("volume", "both")


class SearchSpikeOut(BaseModel):
    """A day on which a saved search's count spiked (alerted once)."""

    day: date
    count: int
    mean: float
    stddev: float
    threshold: float
    detected_at: datetime


class SavedSearchIn(BaseModel):
    """A search to keep: its /articles parameters and, optionally, a webhook to tell."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=300, examples=["Shoigu and the Taliban"])
    query: dict[str, Any] = Field(
        default_factory=dict,
        description="/articles parameters under the same names (repeatable ones as lists), "
        "checked as /articles checks them.",
        examples=[{"q": "Taliban", "entity": ["Sergei Shoigu"], "language": ["en"]}],
    )
    webhook_url: str | None = Field(
        default=None,
        max_length=2000,
        description="Receives a signed JSON POST of each batch of new matches (http or https; "
        "not a private, loopback or link-local address).",
        examples=["https://alerts.example.org/newsdesk"],
    )
    webhook_secret: str | None = Field(
        default=None,
        max_length=200,
        description="A Standard Webhooks secret (`whsec_` + base64 of 24 to 64 bytes); "
        "generated when absent. Returned once, in this answer.",
    )
    alert: SearchAlert = Field(
        default_factory=SearchAlert,
        description="What the webhook is told of; by default each batch of new matches.",
        examples=[{"on": "volume", "threshold": 3, "min_count": 5, "window": 28}],
    )


class SavedSearchOut(BaseModel):
    """A saved search."""

    id: int = Field(examples=[1])
    name: str
    query: dict[str, Any]
    webhook_url: str | None
    webhook_secret: str | None = Field(
        default=None,
        description="Only in the answer that created the search: keep it to verify signatures.",
    )
    webhook_failing_since: datetime | None = Field(
        description="When a delivery was given up after a day of retries; null once one "
        "succeeds again."
    )
    alert: SearchAlert
    last_spike: SearchSpikeOut | None = Field(
        default=None, description="The latest day the search's count spiked (volume alerts)."
    )
    created_at: datetime


class SavedSearchList(BaseModel):
    items: list[SavedSearchOut]


class SearchMatchItem(ArticleSummary):
    """An article a saved search matched, as /articles lists it, and when it matched."""

    matched_at: datetime


class SearchMatchPage(BaseModel):
    """A saved search's matches, newest first."""

    items: list[SearchMatchItem]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class DeliveryAttempt(BaseModel):
    at: datetime
    status: int | None = Field(description="The receiver's HTTP status; null without one.")
    error: str | None = Field(description="Why the attempt failed; null when it succeeded.")


class DeliveryOut(BaseModel):
    """One webhook delivery: a batch of new matches or a spiking day, and each attempt."""

    delivery_id: str = Field(description="The `webhook-id` header: the same on every attempt.")
    type: Literal["search.matched", "search.volume_spike"] = Field(
        description="search.matched: new matches; search.volume_spike: a day's count spiked."
    )
    state: Literal["pending", "delivered", "failed"]
    articles: int = Field(description="How many articles it carries (0 for a spike).")
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    attempts: list[DeliveryAttempt]


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
