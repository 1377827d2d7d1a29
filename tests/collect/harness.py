"""The collector harness tests drive (a collector on the test's own database), the settings
it runs with, and publishing BBC stories on a test site; the fixtures are in conftest.py."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.collect.fetch import Fetcher
from app.collect.rounds import Collector, RoundReport
from app.collect.sources import add_source
from app.config import Settings
from app.models import CollectionSource
from tests.backends import BACKENDS
from tests.collect import corpus
from tests.collect.site import Reply, Site

# Small waits so each test stays within seconds; the politeness tests set their own.
FAST = {
    "collect_host_delay_seconds": 0.02,
    "collect_retry_backoff_seconds": 0.05,
    "collect_connect_timeout_seconds": 2.0,
    "collect_read_timeout_seconds": 2.0,
    "collect_max_retry_after_seconds": 5.0,
    "search_index_wait_ms": 5_000,
    # The test sites are on 127.0.0.1, which the collector refuses by default.
    "collect_allow_private": True,
}


class Harness:
    """A collector on the test database, and the steps tests take with it."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings, self.engine = settings, engine
        self._collector: Collector | None = None

    @property
    def collector(self) -> Collector:
        """One collector for the test's rounds, as in `--watch` (robots.txt read once)."""
        if self._collector is None:
            self._collector = Collector(self.engine, self.settings, None)
        return self._collector

    def close(self) -> None:
        if self._collector is not None:
            self._collector.close()

    def with_settings(self, **update: object) -> Harness:
        return Harness(self.settings.model_copy(update=update), self.engine)

    def add(self, url: str, **options: object) -> list[CollectionSource]:
        fetcher = Fetcher(self.settings)
        try:
            with Session(self.engine) as session:
                added = add_source(session, fetcher, url, **options)  # type: ignore[arg-type]
                session.commit()
                for source in added:
                    session.refresh(source)
                    session.expunge(source)
                return added
        finally:
            fetcher.close()

    def round(self, *, everything_due: bool = True) -> RoundReport:
        """One `newsdesk collect` round (entities off: the ingest path is the same)."""
        if everything_due:
            self.make_all_due()
        return self.collector.run_round()

    def make_all_due(self) -> None:
        from sqlalchemy import update

        with Session(self.engine) as session:
            session.execute(update(CollectionSource).values(next_fetch_at=None))
            session.commit()


def publish(site: Site, stories: list[corpus.Story], **reply: object) -> None:
    """Serve each story's page on the site."""
    for story in stories:
        page = corpus.article_page(story).encode()
        headers = {"Content-Type": "text/html; charset=utf-8"}
        site.route(story.path, Reply(page, headers=headers, **reply))  # type: ignore[arg-type]


# How pages are fetched does not depend on the search engine: a test module marked with this
# runs once per database (SQLite searched by FTS5, PostgreSQL), not again on SQLite with the
# tantivy index (test_feeds.py runs that path). The case is not generated, so not skipped.
each_database = pytest.mark.parametrize(
    "backend", [backend for backend in BACKENDS if backend != "tantivy"], indirect=True
)
