"""What API clients see: read models and page envelopes (never raw table rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SourceRef(BaseModel):
    """The outlet an article comes from."""

    id: int = Field(examples=[3])
    name: str = Field(examples=["The Khorasan Diary"])


class SourceOut(SourceRef):
    """An outlet with the number of articles stored from it."""

    domain: str | None = Field(default=None, examples=["thekhorasandiary.com"])
    article_count: int = Field(examples=[1])


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
    url: str | None = Field(examples=["https://thekhorasandiary.com/en/2024/05/29/..."])
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


class ArticlePage(BaseModel):
    """A page of search results."""

    total: int = Field(description="Exact number of articles matching the filters.", examples=[5])
    items: list[ArticleSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class ArticleDetail(BaseModel):
    """Everything stored about one article."""

    model_config = ConfigDict(json_schema_extra={"description": "Everything about one article."})

    id: int
    title: str | None
    subtitle: str | None
    url: str | None
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
    provenance: dict[str, str] = Field(
        description="Where each field came from: sidecar, html-meta, text:<rule>, url or none.",
        examples=[{"published_at": "text:published-line", "publisher": "sidecar"}],
    )
    origins: list[str] = Field(description="The files this article was read from.")
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


class EntityDetail(EntitySummary):
    """An entity with its aliases."""

    aliases: list[str] = Field(examples=[["Vladimir V. Putin", "Putin", "Mr. Putin"]])


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
