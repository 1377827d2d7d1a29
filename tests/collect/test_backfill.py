"""Backfill (`newsdesk collect --since DATE`): sitemaps walked back to DATE, politely and
resumably, against a real local server whose request log shows what was (never) asked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, select

from app.models import Article, ArticleTag
from tests.collect import corpus
from tests.collect.harness import Harness, each_database, publish
from tests.collect.site import Reply, Site
from tests.collect.test_commands import newsdesk

pytestmark = [pytest.mark.corpus, each_database]
XML = {"Content-Type": "application/xml"}
# Stories are dated 2005-02-02, -03, ... (one a day): from the fourth on.
SINCE = datetime(2005, 2, 5, tzinfo=UTC)


def stored_urls(harness: Harness) -> set[str]:
    with Session(harness.engine) as session:
        return set(session.exec(select(col(Article.url))))


def index_site(sites: Callable[[], Site], stories: list[corpus.Story]) -> Site:
    """An index of two sitemaps: /old.xml (last changed 2005-02-03, the first two stories)
    and /news.xml (a news sitemap, 2005-03-01, the four others)."""
    site = sites()
    publish(site, stories)
    index = corpus.sitemap_index(["/old.xml", "/news.xml"], site.base, ["2005-02-03", "2005-03-01"])
    site.route("/sitemap.xml", Reply(index.encode(), headers=XML))
    site.route("/old.xml", Reply(corpus.news_sitemap(stories[:2], site.base).encode(), headers=XML))
    site.route(
        "/news.xml", Reply(corpus.news_sitemap(stories[2:], site.base).encode(), headers=XML)
    )
    return site


def test_backfill_reads_only_sitemaps_and_articles_since_the_date_and_resumes(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = index_site(sites, stories)
    harness.add(site.url("/sitemap.xml"))
    report = harness.collector.backfill(SINCE)
    wanted = {site.url(s.path) for s in stories if s.published >= SINCE}
    assert len(wanted) == 3
    assert (report.added, report.failures) == (3, [])
    assert stored_urls(harness) == wanted
    assert "/old.xml" not in site.paths()
    assert site.url(stories[2].path) not in wanted and stories[2].path not in site.paths()
    pages = sorted(p for p in site.paths() if p.startswith("/news/"))
    assert pages == sorted(s.path for s in stories if s.published >= SINCE)

    before = len(site.requests)
    again = harness.collector.backfill(SINCE)
    assert again.added == 0
    asked = site.paths()[before:]
    assert sorted(asked) == ["/news.xml", "/sitemap.xml"]
    assert stored_urls(harness) == wanted


def test_a_stopped_backfill_has_stored_each_batch_and_goes_on_where_it_stopped(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = index_site(sites, stories)
    harness.add(site.url("/sitemap.xml"))
    first = harness.with_settings(collect_max_items=1)  # batches of one article
    stored_when_asked: list[set[str]] = []
    page = corpus.article_page(stories[4]).encode()

    def stop_while_serving() -> bytes:
        """The second page of the backfill: what is stored by now, then the stop SIGINT sets."""
        stored_when_asked.append(stored_urls(harness))
        first.collector.stop.set()
        return page

    site.route(stories[4].path, Reply(stop_while_serving, headers={"Content-Type": "text/html"}))
    try:
        report = first.collector.backfill(SINCE)
    finally:
        first.close()
    assert (report.added, report.stopped) == (2, True)
    assert stored_when_asked == [{site.url(stories[3].path)}]
    before = len(site.requests)
    assert harness.collector.backfill(SINCE).added == 1
    pages = [p for p in site.paths()[before:] if p.startswith("/news/")]
    assert pages == [stories[5].path]
    assert stored_urls(harness) == {site.url(s.path) for s in stories[3:]}


def test_a_backfill_stopped_mid_batch_stores_what_it_fetched(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = index_site(sites, stories)
    harness.add(site.url("/sitemap.xml"))
    page = corpus.article_page(stories[3]).encode()

    def stop_while_serving() -> bytes:
        harness.collector.stop.set()
        return page

    site.route(stories[3].path, Reply(stop_while_serving, headers={"Content-Type": "text/html"}))
    report = harness.collector.backfill(SINCE)  # one batch of 200: stopped after its first
    assert (report.added, report.stopped) == (1, True)
    assert stored_urls(harness) == {site.url(stories[3].path)}
    harness.collector.stop.clear()
    before = len(site.requests)
    assert harness.collector.backfill(SINCE).added == 2
    pages = sorted(p for p in site.paths()[before:] if p.startswith("/news/"))
    assert pages == [stories[4].path, stories[5].path]


def test_a_plain_sitemap_is_backfilled_by_its_lastmod(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories)
    site.route(
        "/sitemap.xml", Reply(corpus.plain_sitemap(stories, site.base).encode(), headers=XML)
    )
    harness.add(site.url("/sitemap.xml"))
    assert harness.collector.backfill(SINCE).added == 3
    assert stored_urls(harness) == {site.url(s.path) for s in stories[3:]}


def test_collect_since_on_the_command_line(
    empty_db: str, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = index_site(sites, stories)
    assert newsdesk(empty_db, "sources", "add", site.url("/sitemap.xml")).returncode == 0
    bad = newsdesk(empty_db, "collect", "--no-nlp", "--since", "last spring")
    assert bad.returncode == 2
    assert "--since: 'last spring' is not a date" in bad.stderr
    run = newsdesk(empty_db, "collect", "--no-nlp", "--since", "2005-02-05")
    assert run.returncode == 0, run.stderr
    assert "1 sources: 1 fetched, 0 unchanged (304), 3 articles added, 0 failed" in run.stdout
    assert "/old.xml" not in site.paths()


def test_feed_and_page_sources_are_backfilled_from_the_sitemaps_their_robots_txt_lists(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = index_site(sites, stories)
    robots = f"User-agent: *\nDisallow: /private/\n\nSitemap: {site.url('/sitemap.xml')}\n"
    site.route("/robots.txt", Reply(robots.encode(), headers={"Content-Type": "text/plain"}))
    site.route("/rss", Reply(corpus.rss2(stories[5:], base=site.base).encode()))
    [feed] = harness.add(site.url("/rss"), tags=["uk"])
    bare = sites()  # its robots.txt lists no sitemap: nothing to walk
    publish(bare, stories[:1])
    bare.route("/rss", Reply(corpus.rss2(stories[:1], base=bare.base).encode()))
    harness.add(bare.url("/rss"))

    report = harness.collector.backfill(SINCE)
    assert (report.added, report.failures) == (3, [])
    assert stored_urls(harness) == {site.url(s.path) for s in stories[3:]}
    assert "/old.xml" not in site.paths() and site.paths().count("/rss") == 1  # by `add`
    assert (bare.url("/robots.txt"), f"lists no Sitemap: for {bare.url('/rss')}") in report.skipped
    assert not [path for path in bare.paths() if path.startswith("/news/")]
    with Session(harness.engine) as session:
        outlets = set(session.exec(select(col(Article.source_id))))
        tags = set(session.exec(select(ArticleTag.tag)))
    assert (outlets, tags) == ({feed.source_id}, {"uk"})
    assert harness.collector.backfill(SINCE).added == 0  # resumable, as for a sitemap source
