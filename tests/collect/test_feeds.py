"""Feeds, sitemaps and pages collected from a real local server: each format, relative
links, undated items, one article in two feeds, discovery, sitemap index, a new item."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import Session, col, func, select

from app.models import Article, ArticleTag, CollectedUrl, CollectionSource, Source
from tests.collect import corpus
from tests.collect.harness import Harness, publish
from tests.collect.site import Reply, Site

XML = {"Content-Type": "application/xml"}


def articles(harness: Harness) -> list[Article]:
    with Session(harness.engine) as session:
        return list(session.exec(select(Article).order_by(col(Article.url))).all())


FORMATS: dict[str, Callable[[list[corpus.Story], str], str]] = {
    "rss2": lambda stories, base: corpus.rss2(stories, base=base),
    "rss1": corpus.rss1,
    "atom": corpus.atom,
    "jsonfeed": corpus.json_feed,
}


@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_feed_format_is_detected_and_its_articles_collected(
    name: str, harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:3])
    site.route("/feed", Reply(FORMATS[name](stories[:3], site.base).encode()))
    [source] = harness.add(site.url("/feed"), tags=["politics"])
    assert source.kind == "feed"
    report = harness.round()
    assert report.added == 3 and not report.failures, report.summary()
    stored = articles(harness)
    assert [a.url for a in stored] == [site.url(s.path) for s in stories[:3]]
    assert [a.title for a in stored] == [s.title for s in stories[:3]]
    assert all(a.published_at == s.published for a, s in zip(stored, stories, strict=False))
    assert "Great article, thanks" not in stored[0].body  # comments are not the article
    with Session(harness.engine) as session:
        tags = session.exec(select(ArticleTag.tag).distinct()).all()
        outlet = session.exec(select(Source)).one()
    assert tags == ["politics"]
    assert outlet.name.startswith("Test News") and all(a.source_id == outlet.id for a in stored)


@pytest.mark.corpus
def test_relative_links_and_undated_items_take_the_page_date(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:2])
    site.route("/rss", Reply(corpus.rss2(stories[:2], dated=False, relative=True).encode()))
    harness.add(site.url("/rss"))
    assert harness.round().added == 2
    stored = articles(harness)
    assert [a.url for a in stored] == [site.url(s.path) for s in stories[:2]]
    assert stored[0].published_at == stories[0].published
    assert stored[0].provenance["published_at"].startswith("html-meta")


@pytest.mark.corpus
def test_feed_evidence_fills_what_the_page_lacks_and_a_disagreeing_date_shows_both(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    story = stories[0]
    # The page states no date and no author; the feed says both, the date a day off.
    page = corpus.article_page(story)
    page = page.replace('<meta name="author"', '<meta name="x-author"')
    page = page.replace(story.published.isoformat(), "").replace(f"{story.published:%d %B %Y}", "")
    page = page.replace("By Staff reporter", "")
    site.route(story.path, Reply(page.encode(), headers={"Content-Type": "text/html"}))
    other = stories[1]
    publish(site, [other])
    feed = corpus.atom([story, other], site.base).replace(
        other.published.isoformat(), "2005-01-01T00:00:00+00:00"
    )
    site.route("/atom", Reply(feed.encode()))
    harness.add(site.url("/atom"))
    assert harness.round().added == 2
    first, second = articles(harness)
    assert first.published_at == story.published and first.provenance["published_at"] == "feed"
    assert first.author == story.author and first.provenance["author"] == "feed"
    assert second.published_at == other.published  # the page's own date wins ...
    assert "feed says 2005-01-01" in second.provenance["published_at"]  # ... the feed's shown


@pytest.mark.corpus
def test_the_same_article_in_two_feeds_is_fetched_and_stored_once(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:3])
    site.route("/a.xml", Reply(corpus.rss2(stories[:2], base=site.base).encode()))
    # The second feed links the shared story with tracking parameters and a fragment.
    tracked = corpus.rss2(stories[1:3], base=site.base).replace(
        f"{stories[1].path}</link>", f"{stories[1].path}?utm_source=rss&amp;utm_medium=x#top</link>"
    )
    site.route("/b.xml", Reply(tracked.encode()))
    harness.add(site.url("/a.xml"))
    harness.add(site.url("/b.xml"))
    assert harness.round().added == 3
    assert len(articles(harness)) == 3
    shared = [path for path in site.paths() if path.startswith(stories[1].path)]
    assert shared == [stories[1].path]  # fetched once, without the tracking parameters


@pytest.mark.corpus
def test_a_home_page_gives_its_advertised_feed(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:2])
    site.route("/", Reply(corpus.home_page(stories[:2], "/feeds/all.rss").encode()))
    site.route("/feeds/all.rss", Reply(corpus.rss2(stories[:2], base=site.base).encode()))
    [source] = harness.add(site.url("/"), name="Home Outlet")
    assert (source.kind, source.url, source.discovered_from) == (
        "feed",
        site.url("/feeds/all.rss"),
        site.url("/"),
    )
    assert harness.round().added == 2


@pytest.mark.corpus
def test_a_page_without_feeds_is_watched_for_its_article_links(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:3])
    site.route("/", Reply(corpus.home_page(stories[:3], None).encode()))
    [source] = harness.add(site.url("/"))
    assert source.kind == "page"
    assert harness.round().added == 3
    assert "/about" not in site.paths() and "/politics/" not in site.paths()


@pytest.mark.corpus
def test_a_sitemap_index_leads_to_its_news_sitemap(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:3])
    site.route(
        "/sitemap.xml", Reply(corpus.sitemap_index(["/news.xml"], site.base).encode(), headers=XML)
    )
    site.route(
        "/news.xml", Reply(corpus.news_sitemap(stories[:3], site.base).encode(), headers=XML)
    )
    [source] = harness.add(site.url("/sitemap.xml"))
    assert source.kind == "sitemap"
    assert harness.round().added == 3
    assert {a.title for a in articles(harness)} == {s.title for s in stories[:3]}


@pytest.mark.corpus
def test_a_second_round_is_conditional_and_a_new_item_adds_exactly_that_article(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:4])
    site.route("/rss", Reply(corpus.rss2(stories[:3], base=site.base).encode(), etag='"one"'))
    harness.add(site.url("/rss"))
    assert harness.round().added == 3
    before = len(site.requests)
    second = harness.round()
    assert (second.unchanged, second.added) == (1, 0)
    later = site.requests[before:]
    assert [(r.path, r.status, r.headers.get("if-none-match")) for r in later] == [
        ("/rss", 304, '"one"')
    ]
    site.route("/rss", Reply(corpus.rss2(stories[:4], base=site.base).encode(), etag='"two"'))
    third = harness.round()
    assert third.added == 1
    assert [a.url for a in articles(harness)][-1] == site.url(stories[3].path)
    with Session(harness.engine) as session:
        state = session.exec(select(CollectionSource)).one()
        seen = session.exec(select(func.count()).select_from(CollectedUrl)).one()
    assert (state.etag, seen) == ('"two"', 4)


@pytest.mark.corpus
def test_an_article_stored_from_a_file_is_not_fetched_again(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:2])
    site.route("/rss", Reply(corpus.rss2(stories[:2], base=site.base).encode()))
    harness.add(site.url("/rss"))
    with Session(harness.engine) as session:
        session.add(
            Article(url=site.url(stories[0].path), body="x", content_hash="h", origin="file.txt")
        )
        session.commit()
    assert harness.round().added == 1
    assert stories[0].path not in site.paths()
