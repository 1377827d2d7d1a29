"""Every filter on articles that differ in it, on both engines, against the filter's meaning.

The mutation check (docs/mutation.md) found filter clauses whose removal or inversion no
test noticed: the seed articles are all English, untagged, undated alike and mostly from
one source, so a filter that admits everything passes. Here nine articles differ in
source, date (to the microsecond at the edges of a day), language, tags, entity types,
duplicates and hosts, and each filter's answer is compared with the set its documented
meaning picks out, on SQLite FTS5 ([sqlite]) and on the tantivy index ([tantivy]).
The articles are in tests/filter_world.py. Covers the filter registry and its pieces
(app/search/filter.py: on_domains, hosts_of, micros), app/search/articles.py (matching_ids,
count_articles, sort_key_check) and SearchIndex.compile in app/search/tantivy/index.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlmodel import Session

from app.search.articles import sort_key_check
from app.search.filter import ArticleFilter, hosts_of, micros
from app.search.newsapi import page_cursor
from app.search.query import parse_query
from app.search.service import SearchService
from tests.filter_world import MAY_1, ROWS, World, build_world, expected, on_domain
from tests.helpers import settings_for


@pytest.fixture
def world(empty_db: str, backend: str) -> Iterator[World]:
    world = build_world(empty_db, backend)
    yield world
    world.engine.dispose()


def test_sources(world: World) -> None:
    khorasan, wire = world.source_ids["khorasan"], world.source_ids["wire"]
    assert world.names(ArticleFilter(source_ids=[khorasan])) == ["a1", "a4"]
    assert world.names(ArticleFilter(source_ids=[khorasan, wire])) == ["a1", "a2", "a4", "a7"]
    assert world.names(ArticleFilter(source_ids=[])) == []


def test_dates_are_inclusive_to_the_microsecond(world: World) -> None:
    last_of_may_1 = datetime(2024, 5, 1, 23, 59, 59, 999999, tzinfo=UTC)
    assert world.names(ArticleFilter(published_from=MAY_1)) == expected(
        lambda r: r.published is not None and r.published >= MAY_1
    )
    assert world.names(ArticleFilter(published_to=last_of_may_1)) == ["a1", "a2", "a5"]
    assert world.names(ArticleFilter(published_from=MAY_1, published_to=last_of_may_1)) == [
        "a1",
        "a2",
    ]
    just_after = datetime(2024, 5, 1, 0, 0, 0, 1, tzinfo=UTC)
    assert world.names(ArticleFilter(published_from=just_after, published_to=last_of_may_1)) == [
        "a2"
    ]


def test_entities_all_of_groups_any_within_a_group(world: World) -> None:
    putin, nato = world.entity_ids["Putin"], world.entity_ids["NATO"]
    assert world.names(ArticleFilter(entity_groups=[[putin]])) == ["a1", "a3"]
    assert world.names(ArticleFilter(entity_groups=[[putin], [nato]])) == ["a3"]
    assert world.names(ArticleFilter(entity_groups=[[putin, nato]])) == ["a1", "a2", "a3"]


def test_entity_types(world: World) -> None:
    assert world.names(ArticleFilter(entity_types=["location"])) == ["a4"]
    assert world.names(ArticleFilter(entity_types=["person", "other"])) == ["a1", "a3", "a5"]


def test_languages(world: World) -> None:
    assert world.names(ArticleFilter(languages=["fr"])) == ["a2"]
    assert world.names(ArticleFilter(languages=["en", "de"])) == expected(
        lambda r: r.language in ("en", "de")
    )


def test_tags(world: World) -> None:
    assert world.names(ArticleFilter(tags=["tech"])) == ["a1", "a4"]
    assert world.names(ArticleFilter(tags=["politics", "tech"])) == ["a1", "a2", "a4"]


def test_excluding_duplicates(world: World) -> None:
    assert world.names(ArticleFilter(exclude_duplicates=True)) == expected(
        lambda r: r.duplicate_of is None
    )


@pytest.mark.parametrize(
    "domains",
    [
        ["khorasan.example"],
        ["news.example"],
        ["sub.news.example"],
        ["newsxexample.org"],
        ["news_example.org"],  # _ is a LIKE wildcard: it must not match the x above
        ["news%"],
        ["other.example", "khorasan.example"],
        ["bare.example"],
        ["a_b%c\\d.example"],
        ["axb%c\\d.example", "a_bxc\\d.example", "a_b%cd.example"],
    ],
)
def test_domains_and_their_exclusion(world: World, domains: list[str]) -> None:
    admitted = expected(lambda r: on_domain(r, domains))
    assert world.names(ArticleFilter(domains=domains)) == admitted
    assert world.names(ArticleFilter(exclude_domains=domains)) == expected(
        lambda r: not on_domain(r, domains)
    )


def test_a_text_query_with_and_without_filters(world: World) -> None:
    report = parse_query("report")
    assert world.names(ArticleFilter(query=report)) == expected(lambda r: True)
    assert world.names(ArticleFilter(query=parse_query("markets"))) == ["a1"]
    assert world.names(ArticleFilter(query=report, languages=["en"], tags=["tech"])) == [
        "a1",
        "a4",
    ]
    assert world.names(ArticleFilter(query=report, search_in="title")) == []


def test_a_filter_narrows_a_relevance_page_without_changing_its_scores(world: World) -> None:
    report = parse_query("report")
    narrowed = ArticleFilter(query=report, languages=["en"], exclude_duplicates=True)
    with Session(world.engine) as session:
        search = SearchService(session, settings_for(str(world.engine.url)))
        every, _ = search.page(ArticleFilter(query=report), "relevance", 100, None)
        some, _ = search.page(narrowed, "relevance", 100, None)
    score_of = {hit.article.id: hit.score for hit in every}
    assert len(every) == len(ROWS) and 0 < len(some) < len(every)
    assert [(hit.article.id, hit.score) for hit in some] == [
        (hit.article.id, score_of[hit.article.id]) for hit in some
    ]


def test_a_deep_newsapi_page_starts_after_the_right_article(world: World) -> None:
    # page_cursor reads the score column matching_ids selects (NULL without q) by name.
    khorasan = ArticleFilter(domains=["khorasan.example"])
    newest_first = ["a4", "a7", "a1"]
    with Session(world.engine) as session:
        for offset, name in enumerate(newest_first, start=1):
            cursor = page_cursor(session, khorasan, "-published_at", offset)
            assert cursor is not None
            assert cursor.key[1] == world.ids[name]
        assert page_cursor(session, khorasan, "-published_at", 4) is None
        ranked = page_cursor(session, ArticleFilter(query=parse_query("markets")), "relevance", 1)
        assert ranked is not None and ranked.key[1] == world.ids["a1"]


def test_a_relevance_cursor_may_rank_every_article_of_its_snapshot() -> None:
    # The rank is the position after a hit among the snapshot's articles: at most the
    # snapshot, and equal to it when every article up to it came before.
    check = sort_key_check("relevance")
    assert check([1.5, 5, 5], 5)
    assert not check([1.5, 5, 6], 5)
    assert check([1.5, 5], 5)
    assert not check([1.5, 5, 1, 1], 5)


def test_the_index_reads_a_host_from_web_urls_only() -> None:
    # The database's domain filter (on_domains) matches http:// and https:// URLs only.
    assert hosts_of("ftp://khorasan.example/a1", None) == []
    assert hosts_of("mailto:desk@khorasan.example", "wire.example") == ["wire.example"]
    assert hosts_of("HTTPS://WWW.Khorasan.example/a1", None) == [
        "www.khorasan.example",
        "khorasan.example",
    ]


def test_index_dates_are_microseconds_of_the_moment_in_utc() -> None:
    # SQLite hands dates back without a zone: they are UTC.
    assert micros(datetime(1970, 1, 1, 0, 0, 1)) == 1_000_000
    one_hour_east = timezone(timedelta(hours=1))
    assert micros(datetime(1970, 1, 1, 1, 0, 1, tzinfo=one_hour_east)) == 1_000_000
    assert micros(datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)) == -1
