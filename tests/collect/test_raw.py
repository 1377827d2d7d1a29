"""Kept pages (NEWSDESK_KEEP_RAW=1) and `newsdesk reextract`: pages collected from a real local
server are kept compressed, and read again later from the database alone."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import pytest
from sqlmodel import Session, col, select

from app.models import Article, RawPage
from tests.clients import make_client
from tests.collect import corpus
from tests.collect.harness import Harness, each_database, publish
from tests.collect.site import Reply, Site
from tests.collect.test_commands import newsdesk

pytestmark = [pytest.mark.corpus, each_database]


def kept(harness: Harness) -> list[RawPage]:
    with Session(harness.engine) as session:
        return list(session.exec(select(RawPage).order_by(col(RawPage.url))).all())


def article_at(harness: Harness, url: str) -> Article:
    with Session(harness.engine) as session:
        return session.exec(select(Article).where(col(Article.url) == url)).one()


def test_a_collected_page_is_kept_compressed_only_when_keep_raw_is_on(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:2])
    site.route("/one", Reply(corpus.rss2(stories[:1], base=site.base).encode()))
    site.route("/two", Reply(corpus.rss2(stories[1:2], base=site.base).encode()))
    harness.add(site.url("/one"), tags=["uk"])
    assert harness.round().added == 1
    assert kept(harness) == []  # off by default

    keeping = harness.with_settings(keep_raw=True)
    keeping.add(site.url("/two"), tags=["uk"])
    try:
        assert keeping.round().added == 1
    finally:
        keeping.close()
    [page] = kept(harness)
    story = stories[1]
    assert page.url == site.url(story.path)
    assert page.article_id == article_at(harness, page.url).id
    assert gzip.decompress(page.body) == corpus.article_page(story).encode()
    assert page.size == len(corpus.article_page(story).encode()) > len(page.body)
    assert page.content_type == "text/html; charset=utf-8"
    assert page.listing["evidence"] == "feed" and page.listing["tags"] == ["uk"]
    assert page.listing["title"] == story.title


def test_reextract_reads_the_kept_pages_only_and_updates_their_articles(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    first, second = stories[:2]
    publish(site, [first, second])
    site.route("/rss", Reply(corpus.rss2([first, second], base=site.base).encode()))
    keeping = harness.with_settings(keep_raw=True)
    keeping.add(site.url("/rss"))
    try:
        assert keeping.round().added == 2
    finally:
        keeping.close()
    url = site.url(first.path)
    collected = article_at(harness, url)
    # What an older extractor might have stored: another text under the same article.
    with Session(harness.engine) as session:
        stale = session.exec(select(Article).where(col(Article.url) == url)).one()
        stale.body = "Stale text an older extractor kept."
        session.add(stale)
        session.commit()
    # The site has changed its pages since; reextract must not ask it anything.
    publish(site, [first, second], status=500)
    asked = len(site.requests)
    database = harness.settings.database_url

    result = newsdesk(database, "reextract", "--no-nlp")
    assert result.returncode == 0, result.stderr
    assert "2 re-extracted: 1 changed, 1 unchanged, 0 failed" in result.stdout
    assert len(site.requests) == asked
    restored = article_at(harness, url)
    assert (restored.id, restored.origins, restored.body) == (
        collected.id,
        collected.origins,
        collected.body,
    )
    # The search index follows the change.
    other = set(article_at(harness, site.url(second.path)).body.split())
    word = max((w for w in set(collected.body.split()) - other if w.isalpha()), key=len)
    with make_client(harness.settings, harness.engine) as client:
        found = client.get("/articles", params={"q": word}).json()
        assert [item["id"] for item in found["items"]] == [collected.id]
        assert client.get("/articles", params={"q": "Stale"}).json()["total"] == 0

    assert newsdesk(database, "reextract", "--no-nlp", "--source", "999").returncode == 2
    outlet = str(collected.source_id)
    again = newsdesk(database, "reextract", "--no-nlp", "--source", outlet)
    assert "2 re-extracted: 0 changed, 2 unchanged, 0 failed" in again.stdout

    # A kept page that can no longer be read is reported, and the others go on.
    with Session(harness.engine) as session:
        page = session.get(RawPage, collected.id)
        assert page is not None
        page.body = b"not gzip"
        session.add(page)
        session.commit()
    broken = newsdesk(database, "reextract", "--no-nlp")
    assert broken.returncode == 1
    assert "1 re-extracted: 0 changed, 1 unchanged, 1 failed" in broken.stdout
    assert f"{url}: kept page unreadable" in broken.stderr.replace("\n", "")
