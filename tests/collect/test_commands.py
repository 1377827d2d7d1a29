"""`newsdesk sources ...` and `newsdesk collect [--watch]` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, col, select

from app.config import PROJECT_ROOT
from app.db import create_db_engine
from app.models import Article, ArticleEntity, CollectionSource
from tests.clients import run_newsdesk
from tests.collect import corpus
from tests.collect.harness import publish
from tests.collect.site import Reply, Site
from tests.crash_state import query
from tests.e2e.live import free_port
from tests.helpers import settings_for

pytestmark = pytest.mark.corpus
FAST = {
    "NEWSDESK_COLLECT_HOST_DELAY_SECONDS": "0.02",
    "NEWSDESK_COLLECT_RETRIES": "0",
    "NEWSDESK_COLLECT_ALLOW_PRIVATE": "1",
}


def newsdesk(database: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_newsdesk(*args, database_url=database, **FAST)


def start_watch(database: str, **environ: str) -> subprocess.Popen[str]:
    """`newsdesk collect --watch --no-nlp` in the background, its output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "collect", "--watch", "--no-nlp"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database, **FAST, **environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stored(database: str) -> tuple[list[Article], int]:
    engine = create_db_engine(settings_for(database))
    try:
        with Session(engine) as session:
            articles = list(session.exec(select(Article).order_by(col(Article.url))))
            links = len(session.exec(select(ArticleEntity)).all())
            return articles, links
    finally:
        engine.dispose()


def test_sources_add_list_remove_and_a_collect_round_with_entities(
    empty_db: str, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:2])
    site.route("/rss", Reply(corpus.rss2(stories[:2], base=site.base).encode()))
    added = newsdesk(
        empty_db, "sources", "add", site.url("/rss"), "--interval", "2h", "--tag", "uk"
    )
    assert added.returncode == 0, added.stderr
    assert f"added feed {site.url('/rss')}" in added.stdout
    listed = newsdesk(empty_db, "sources", "list")
    assert "Test News" in listed.stdout and "feed" in listed.stdout and "2h" in listed.stdout
    assert "never" in listed.stdout
    collected = newsdesk(empty_db, "collect")
    assert collected.returncode == 0, collected.stderr
    assert "1 sources: 1 fetched, 0 unchanged (304), 2 articles added, 0 failed" in collected.stdout
    articles, links = stored(empty_db)
    assert [a.url for a in articles] == [site.url(s.path) for s in stories[:2]]
    assert links > 0  # entities recognised and linked, as ingest does
    assert "ok (200)" in newsdesk(empty_db, "sources", "list").stdout
    removed = newsdesk(empty_db, "sources", "remove", site.url("/rss"))
    assert removed.returncode == 0 and "removed feed" in removed.stdout
    again = newsdesk(empty_db, "sources", "remove", site.url("/rss"))
    assert again.returncode == 1 and "no collection source" in again.stderr


def test_collect_exits_1_naming_each_failed_source_and_its_reason(
    empty_db: str, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    good, bad = sites(), sites()
    publish(good, stories[:1])
    good.route("/rss", Reply(corpus.rss2(stories[:1], base=good.base).encode()))
    bad.route("/rss", Reply(corpus.rss2(stories[1:2], base=bad.base).encode()))
    for site in (good, bad):
        assert newsdesk(empty_db, "sources", "add", site.url("/rss")).returncode == 0
    bad.route("/rss", Reply(b"down", 500))
    result = newsdesk(empty_db, "collect", "--no-nlp")
    assert result.returncode == 1
    assert "1 articles added, 1 failed" in result.stdout
    assert f"{bad.url('/rss')}: HTTP 500" in result.stdout


def test_sources_import_reads_opml_and_plain_lists(
    empty_db: str, tmp_path: Path, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    for number in range(3):
        feed = corpus.rss2(stories[number : number + 1], base=site.base)
        site.route(f"/f{number}", Reply(feed.encode()))
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>mine</title></head><body>'
        f'<outline text="News"><outline type="rss" text="a" xmlUrl="{site.url("/f0")}"/>'
        f'<outline type="rss" text="b" xmlUrl="{site.url("/f1")}"/></outline></body></opml>'
    )
    listing = tmp_path / "feeds.txt"
    listing.write_text(f"# mine\n{site.url('/f2')}\n\n{site.url('/missing')}\n")
    first = newsdesk(empty_db, "sources", "import", str(opml))
    assert first.returncode == 0 and "2 of 2 URLs added" in first.stdout
    second = newsdesk(empty_db, "sources", "import", str(listing))
    assert second.returncode == 1 and "1 of 2 URLs added" in second.stdout
    assert "HTTP 404" in second.stderr
    engine = create_db_engine(settings_for(empty_db))
    with Session(engine) as session:
        urls = session.exec(select(CollectionSource.url).order_by(col(CollectionSource.url)))
        assert list(urls) == [site.url(f"/f{n}") for n in range(3)]
    engine.dispose()


def test_collect_watch_stops_on_sigterm_with_nothing_half_written(
    empty_db: str, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:4], delay=0.3)
    site.route("/rss", Reply(corpus.rss2(stories[:4], base=site.base).encode()))
    assert newsdesk(empty_db, "sources", "add", site.url("/rss")).returncode == 0
    process = start_watch(empty_db)
    try:
        deadline = time.monotonic() + 60
        while not any(r.path.startswith("/news/") for r in site.requests):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        out, err = process.communicate(timeout=30)
        took = time.monotonic() - stopped_at
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert took < 5
    [line] = [json.loads(text) for text in out.splitlines() if text.startswith("{")]
    assert line["event"] == "collect_round"
    articles, _ = stored(empty_db)
    fetched = [r.path for r in site.requests if r.path.startswith("/news/")]
    # What was fetched before the stop is stored; the rest is left for the next round.
    assert len(articles) == len(fetched) >= 1
    again = newsdesk(empty_db, "collect", "--no-nlp")
    assert again.returncode == 0
    articles, _ = stored(empty_db)
    assert sorted(a.url for a in articles) == sorted(site.url(s.path) for s in stories[:4])


def test_collect_killed_after_committing_articles_loses_nothing_and_repeats_nothing(
    empty_db: str, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:4])
    site.route("/rss", Reply(corpus.rss2(stories[:4], base=site.base).encode()))
    assert newsdesk(empty_db, "sources", "add", site.url("/rss")).returncode == 0
    # SIGKILL right after the first batch (two articles) is committed: before its entities
    # are linked and before the source's state advances.
    killed = run_newsdesk(
        "collect",
        database_url=empty_db,
        NEWSDESK_FAULT_KILL_AT="articles_committed",
        NEWSDESK_INGEST_BATCH_SIZE="2",
        **FAST,
    )
    assert killed.returncode == -signal.SIGKILL
    articles, links = stored(empty_db)
    assert (len(articles), links) == (2, 0)
    engine = create_db_engine(settings_for(empty_db))
    with Session(engine) as session:
        assert session.exec(select(CollectionSource)).one().etag is None
    engine.dispose()
    again = newsdesk(empty_db, "collect")
    assert again.returncode == 0, again.stderr
    articles, _ = stored(empty_db)
    assert sorted(a.url for a in articles) == sorted(site.url(s.path) for s in stories[:4])
    assert len({a.content_hash for a in articles}) == 4
    unlinked = [a.url for a in articles if not entity_count(empty_db, a.id)]
    assert unlinked == []  # the killed batch's articles got their entities the second time
    # The two articles committed before the kill are not fetched again.
    asked = [r.path for r in site.requests]
    assert [asked.count(story.path) for story in stories[:4]] == [1, 1, 2, 2]
    if empty_db.startswith("sqlite"):
        database = empty_db.removeprefix("sqlite:///")
        assert query(Path(database), "PRAGMA integrity_check") == [("ok",)]
        assert query(Path(database), "PRAGMA foreign_key_check") == []


def entity_count(database: str, article_id: int | None) -> int:
    engine = create_db_engine(settings_for(database))
    try:
        with Session(engine) as session:
            rows = session.exec(
                select(ArticleEntity).where(col(ArticleEntity.article_id) == article_id)
            ).all()
            return len(rows)
    finally:
        engine.dispose()


def test_collect_watch_exits_after_the_grace_period_when_a_fetch_hangs(
    empty_db: str, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:1], delay=20)
    site.route("/rss", Reply(corpus.rss2(stories[:1], base=site.base).encode()))
    assert newsdesk(empty_db, "sources", "add", site.url("/rss")).returncode == 0
    process = start_watch(empty_db, NEWSDESK_SHUTDOWN_GRACE_SECONDS="1")
    try:
        deadline = time.monotonic() + 60
        while stories[0].path not in site.paths():
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        _, err = process.communicate(timeout=30)
        took = time.monotonic() - stopped_at
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1 and "exiting" in err
    assert 1.5 < took < 10  # the grace period (1 s) + 1 s (on a busy machine), not 20 s
    articles, _ = stored(empty_db)
    assert articles == []


def test_collect_watch_serves_prometheus_counters(
    empty_db: str, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:2])
    site.route("/rss", Reply(corpus.rss2(stories[:2], base=site.base).encode()))
    assert newsdesk(empty_db, "sources", "add", site.url("/rss")).returncode == 0
    port = free_port()
    process = start_watch(empty_db, NEWSDESK_COLLECT_METRICS_PORT=str(port))
    try:
        assert process.stdout is not None
        first_round = json.loads(process.stdout.readline())  # after the first round
        assert first_round["added"] == 2
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    # robots.txt (404), the feed and two pages (200)
    assert 'newsdesk_collect_fetches_total{status="200"} 3.0' in metrics
    assert 'newsdesk_collect_fetches_total{status="404"} 1.0' in metrics
    assert "newsdesk_collect_articles_total 2.0" in metrics
