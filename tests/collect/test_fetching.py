"""How the collector fetches: failures and their health, retries, Retry-After, timeouts,
redirect loops, compression, charsets, the body limit, non-HTML answers, malformed feeds,
robots.txt, Crawl-delay and the per-host delay, each against a real local server."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from app.models import Article, CollectionSource
from tests.collect import corpus
from tests.collect.harness import Harness, each_database, publish
from tests.collect.site import Reply, Site

pytestmark = [pytest.mark.corpus, each_database]


def feed_site(sites: Callable[[], Site], stories: list[corpus.Story]) -> Site:
    site = sites()
    publish(site, stories)
    site.route("/rss", Reply(corpus.rss2(stories, base=site.base).encode()))
    return site


def state(harness: Harness) -> list[CollectionSource]:
    with Session(harness.engine) as session:
        return list(session.exec(select(CollectionSource).order_by(col(CollectionSource.id))))


def bodies(harness: Harness) -> list[str]:
    with Session(harness.engine) as session:
        return list(session.exec(select(Article.body).order_by(col(Article.id))))


def test_a_missing_feed_fails_with_its_url_and_reason_and_backs_off(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = feed_site(sites, stories[:1])
    harness.add(site.url("/rss"), interval_seconds=600)
    site.route("/rss", Reply(b"gone away", 404))
    report = harness.round()
    assert report.failures == [(site.url("/rss"), "HTTP 404")]
    assert site.url("/rss") in report.summary() and "1 failed" in report.summary()
    [source] = state(harness)
    assert (source.consecutive_failures, source.last_status) == (1, 404)
    assert source.next_fetch_at is not None and source.last_fetch_at is not None
    assert (source.next_fetch_at - source.last_fetch_at).total_seconds() == pytest.approx(1200)
    harness.round()
    [source] = state(harness)
    assert source.consecutive_failures == 2
    assert (source.next_fetch_at - source.last_fetch_at).total_seconds() == pytest.approx(2400)


def test_a_410_retires_the_source(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = feed_site(sites, stories[:1])
    harness.add(site.url("/rss"))
    site.route("/rss", Reply(b"", 410))
    assert harness.round().failures == [(site.url("/rss"), "HTTP 410")]
    assert state(harness)[0].retired_at is not None
    before = len(site.requests)
    assert harness.round().sources == 0
    assert len(site.requests) == before


def test_a_missing_article_page_is_reported_and_not_asked_for_again(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = feed_site(sites, stories[:2])
    site.route(stories[0].path, Reply(b"no", 404))
    harness.add(site.url("/rss"))
    report = harness.round()
    assert report.added == 1 and not report.failures
    assert report.skipped == [(site.url(stories[0].path), "HTTP 404")]
    site.route("/rss", Reply(corpus.rss2(stories[:2], base=site.base).encode() + b" "))
    harness.round()
    assert site.paths().count(stories[0].path) == 1


def test_a_500_is_retried_and_the_retry_succeeds(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = feed_site(sites, stories[:1])
    harness.add(site.url("/rss"))
    feed = corpus.rss2(stories[:1], base=site.base).encode()
    site.route("/rss", Reply(b"oops", 500), Reply(feed))
    report = harness.round()
    assert (report.added, report.failures) == (1, [])
    assert [r.status for r in site.requests if r.path == "/rss"][-2:] == [500, 200]


def test_a_429_retry_after_is_waited_for(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = feed_site(sites, stories[:1])
    harness.add(site.url("/rss"))
    feed = corpus.rss2(stories[:1], base=site.base).encode()
    site.route("/rss", Reply(b"slow down", 429, headers={"Retry-After": "1"}), Reply(feed))
    assert harness.round().added == 1
    asked = [r for r in site.requests if r.path == "/rss"][-2:]
    assert [r.status for r in asked] == [429, 200]
    assert asked[1].at - asked[0].at >= 1.0


def test_a_retry_after_beyond_the_limit_fails_and_schedules_after_it(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = feed_site(sites, stories[:1])
    harness.add(site.url("/rss"), interval_seconds=60)
    site.route("/rss", Reply(b"", 503, headers={"Retry-After": "7200"}))
    [(_url, reason)] = harness.round().failures
    assert "retry after 7200" in reason
    [source] = state(harness)
    assert (source.next_fetch_at - source.last_fetch_at).total_seconds() == pytest.approx(7200)


def test_a_response_slower_than_the_timeout_fails_after_its_retries(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = feed_site(sites, stories[:1])
    harness.add(site.url("/rss"))
    site.route("/rss", Reply(b"<rss/>", delay=1.0))
    slow = harness.with_settings(collect_read_timeout_seconds=0.3, collect_retries=1)
    try:
        [(url, reason)] = slow.round().failures
    finally:
        slow.close()
    assert url == site.url("/rss") and reason.startswith("timed out")
    assert [r.path for r in site.requests].count("/rss") == 1 + 2  # added, then two tries


def test_a_redirect_loop_is_reported(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = feed_site(sites, stories[:1])
    harness.add(site.url("/rss"))
    site.route("/rss", Reply(b"", 302, headers={"Location": "/loop"}))
    site.route("/loop", Reply(b"", 301, headers={"Location": "/rss"}))
    [(_, reason)] = harness.round().failures
    assert "more than 5 redirects" in reason


def test_gzip_answers_are_read(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:2], gzip=True)
    site.route("/rss", Reply(corpus.rss2(stories[:2], base=site.base).encode(), gzip=True))
    harness.add(site.url("/rss"))
    assert harness.round().added == 2
    assert "gzip" in site.requests[-1].headers.get("accept-encoding", "")


def test_a_header_charset_contradicting_the_page_does_not_garble_it(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    latin, utf8 = stories[0], stories[1]
    latin.paragraphs[0] += " It costs £1,400 – says Ms Hewitt."
    utf8.paragraphs[0] += " It costs £2,500 – says Mr Brown."
    # Windows-1252 bytes said to be UTF-8 by the header (the meta tag is right) ...
    site.route(
        latin.path,
        Reply(
            corpus.article_page(latin, charset="windows-1252").encode("cp1252"),
            headers={"Content-Type": "text/html; charset=utf-8"},
        ),
    )
    # ... and UTF-8 bytes said to be Latin-1 by the header.
    site.route(
        utf8.path,
        Reply(
            corpus.article_page(utf8).encode(),
            headers={"Content-Type": "text/html; charset=iso-8859-1"},
        ),
    )
    site.route("/rss", Reply(corpus.rss2([latin, utf8], base=site.base).encode()))
    harness.add(site.url("/rss"))
    assert harness.round().added == 2
    first, second = bodies(harness)
    assert "£1,400 – says" in first and "£2,500 – says" in second


def test_a_body_over_the_limit_is_cut_there_and_reported(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = feed_site(sites, stories[:2])
    padding = "<p>" + "filler " * 20 + "</p>"
    huge = corpus.article_page(stories[0]).replace("</main>", padding * 5_000 + "</main>")
    # Sent without a length, so the limit is found while reading.
    site.route(stories[0].path, Reply(huge.encode(), headers={"Content-Length": ""}))
    harness.add(site.url("/rss"))
    small = harness.with_settings(max_file_bytes=100_000)
    try:
        report = small.round()
    finally:
        small.close()
    assert report.added == 1
    [(url, reason)] = report.skipped
    assert url == site.url(stories[0].path) and "over the 100,000-byte limit" in reason


def test_a_pdf_or_an_image_where_a_page_was_expected_is_skipped(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = feed_site(sites, stories[:3])
    site.route(stories[0].path, Reply(b"%PDF-1.4 ...", headers={"Content-Type": "text/html"}))
    site.route(stories[1].path, Reply(b"\x89PNG\r\n", headers={"Content-Type": "image/png"}))
    harness.add(site.url("/rss"))
    report = harness.round()
    assert report.added == 1
    assert sorted(reason for _, reason in report.skipped) == [
        "a PDF, not an HTML page",
        "a PNG image, not an HTML page",
    ]


def test_a_malformed_feed_is_reported_and_the_other_sources_go_on(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    good = feed_site(sites, stories[:2])
    bad = sites()
    bad.route("/rss", Reply(b'<?xml version="1.0"?><rss><channel><item><title>cut'))
    harness.add(good.url("/rss"))
    harness.add(bad.url("/rss"), kind="feed")
    report = harness.round()
    assert report.added == 2
    [(url, reason)] = report.failures
    assert url == bad.url("/rss") and reason.startswith("malformed feed")


def test_a_path_robots_txt_disallows_is_never_requested(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = feed_site(sites, stories[:3])
    site.route("/robots.txt", Reply(b"User-agent: *\nDisallow: /news/politics-002\n"))
    harness.add(site.url("/rss"))
    report = harness.round()
    assert report.added == 2
    assert stories[1].path not in site.paths()
    assert any("robots.txt" in reason for _, reason in report.skipped)


def test_crawl_delay_spaces_the_requests_to_a_host(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = feed_site(sites, stories[:3])
    site.route("/robots.txt", Reply(b"User-agent: newsdesk\nCrawl-delay: 0.4\n"))
    harness.add(site.url("/rss"))
    start = len(site.requests)
    assert harness.round().added == 3
    times = [r.at for r in site.requests[start:]]
    assert len(times) >= 4
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.4


def test_the_per_host_delay_holds_with_several_sources_on_one_host(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story], bbc_corpus: Path
) -> None:
    site = sites()
    other = sites()
    publish(site, stories)
    for number in range(3):
        part = stories[number * 2 : number * 2 + 2]
        site.route(f"/feed{number}", Reply(corpus.rss2(part, base=site.base).encode()))
    tech = corpus.load_stories(bbc_corpus, "tech", 2)
    publish(other, tech)
    other.route("/rss", Reply(corpus.rss2(tech, base=other.base).encode()))
    for number in range(3):
        harness.add(site.url(f"/feed{number}"))
    harness.add(other.url("/rss"))
    polite = harness.with_settings(collect_host_delay_seconds=0.25)
    start, other_start = len(site.requests), len(other.requests)
    try:
        assert polite.round().added == 8
    finally:
        polite.close()
    times = [r.at for r in site.requests[start:]]
    assert len(times) == 1 + 3 + 6  # robots.txt, three feeds, six articles
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.25
    # The other host was served meanwhile, not after the first one's queue.
    assert other.requests[other_start].at < times[-1]


def test_an_item_that_failed_for_now_is_fetched_again_though_the_feed_is_unchanged(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:2])
    site.route("/rss", Reply(corpus.rss2(stories[:2], base=site.base).encode(), etag='"same"'))
    page = corpus.article_page(stories[1]).encode()
    site.route(stories[1].path, Reply(b"busy", 500), Reply(page))
    harness.add(site.url("/rss"))
    once = harness.with_settings(collect_retries=0)
    try:
        first = once.round()
        assert (first.added, first.skipped) == (1, [(site.url(stories[1].path), "HTTP 500")])
        second = once.round()
    finally:
        once.close()
    assert second.added == 1
    feed_requests = [r for r in site.requests if r.path == "/rss"]
    assert feed_requests[-1].headers.get("if-none-match") is None
