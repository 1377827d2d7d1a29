"""A collection round: every due source fetched (in threads, politely), its pages stored
through the ingest path (main thread), then its state advanced, and a `--watch` loop."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from app.collect.fetch import Fetcher, FetchError, Stopped
from app.collect.gather import Gathered, Snapshot, gather
from app.collect.listings import SITEMAP, NotAListing
from app.collect.metrics import CollectMetrics
from app.config import Settings
from app.db import run_retrying
from app.ingest.document import ReadFailure
from app.ingest.pipeline import Ingest
from app.ingest.store.articles import Outcome, insert_ignoring_conflicts
from app.models import CollectedUrl, CollectionSource, Source, utc_now
from app.search.tantivy.sync import sync_search_index

if TYPE_CHECKING:
    from app.ingest.entities.recognition import EntityRecognizer

# How long --watch sleeps at most before looking for due sources again (new ones added).
WATCH_POLL_SECONDS = 30.0


@dataclass
class RoundReport:
    """What one round did: per source fetched, unchanged (304) or failed, articles added."""

    sources: int = 0
    fetched: int = 0
    unchanged: int = 0
    added: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    stopped: bool = False
    seconds: float = 0.0

    def summary(self) -> str:
        line = (
            f"{self.sources} sources: {self.fetched} fetched, {self.unchanged} unchanged (304), "
            f"{self.added} articles added, {len(self.failures)} failed"
        )
        if self.failures:
            line += " (" + "; ".join(f"{url}: {reason}" for url, reason in self.failures) + ")"
        return f"{line} in {self.seconds:.1f}s" + (" (stopped)" if self.stopped else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "event": "collect_round",
            "sources": self.sources,
            "fetched": self.fetched,
            "unchanged": self.unchanged,
            "added": self.added,
            "failed": [{"url": url, "reason": reason} for url, reason in self.failures],
            "skipped": len(self.skipped),
            "seconds": round(self.seconds, 3),
        }


class Collector:
    """Collects due sources into one database."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        recognizer: EntityRecognizer | None,
        *,
        stop: threading.Event | None = None,
        metrics: CollectMetrics | None = None,
    ) -> None:
        self.engine, self.settings, self.recognizer = engine, settings, recognizer
        self.metrics = metrics or CollectMetrics()
        self.fetcher = Fetcher(settings, stop, self.metrics)
        self.stop = self.fetcher.stop
        self._claimed: set[str] = set()
        self._claim_lock = threading.Lock()

    def claim(self, url: str) -> bool:
        """True the first time a round meets an item URL: only that source fetches it."""
        with self._claim_lock:
            if url in self._claimed:
                return False
            self._claimed.add(url)
            return True

    def close(self) -> None:
        self.fetcher.close()

    def due(self, now: datetime | None) -> list[Snapshot]:
        """The sources to fetch now: not retired, and never fetched or due (every one not
        retired when `now` is None)."""
        query = (
            select(CollectionSource, col(Source.name))
            .join(Source, col(Source.id) == col(CollectionSource.source_id))
            .where(col(CollectionSource.retired_at).is_(None))
            .order_by(col(CollectionSource.id))
        )
        if now is not None:
            query = query.where(
                or_(
                    col(CollectionSource.next_fetch_at).is_(None),
                    col(CollectionSource.next_fetch_at) <= now,
                )
            )
        with Session(self.engine) as session:
            rows = session.exec(query).all()
        return [
            Snapshot(s.id, s.url, s.kind, name, list(s.tags), s.etag, s.last_modified)
            for s, name in rows
            if s.id is not None
        ]

    def run_round(self, on_source: Callable[[Gathered], None] | None = None) -> RoundReport:
        """Fetch every due source once; store each one's articles as soon as it is done."""
        started = time.perf_counter()
        report = RoundReport()
        due = self.due(utc_now())
        report.sources = len(due)
        ingest = Ingest(self.engine, self.settings, self.recognizer)
        self._claimed.clear()
        if due:
            workers = min(self.settings.collect_concurrency, len(due))
            with ThreadPoolExecutor(workers, thread_name_prefix="collect") as pool:
                futures = [
                    pool.submit(
                        gather,
                        self.fetcher,
                        self.engine,
                        source,
                        self.settings.collect_max_items,
                        self.claim,
                    )
                    for source in due
                ]
                for future in as_completed(futures):
                    gathered = future.result()
                    self._store(ingest, gathered, report)
                    if on_source is not None:
                        on_source(gathered)
            sync_search_index(
                self.settings, self.engine, wait_seconds=self.settings.search_index_wait_ms / 1000
            )
        report.stopped = self.stop.is_set()
        report.seconds = time.perf_counter() - started
        return report

    def backfill(
        self, since: datetime, on_source: Callable[[Snapshot], None] | None = None
    ) -> RoundReport:
        """Walk every sitemap source's sitemaps back to `since` (app/collect/backfill.py),
        storing its articles a batch at a time; the sources' schedules are left as they are."""
        from app.collect.backfill import backfill_batches, sitemap_items

        started = time.perf_counter()
        report = RoundReport()
        ingest = Ingest(self.engine, self.settings, self.recognizer)
        sources = [s for s in self.due(None) if s.kind == SITEMAP]
        report.sources = len(sources)
        try:
            for source in sources:
                try:
                    items = sitemap_items(self.fetcher, source, since, report.skipped)
                except (FetchError, NotAListing) as exc:
                    report.failures.append((source.url, str(exc)))
                    continue
                report.fetched += 1
                for batch in backfill_batches(
                    self.fetcher, self.engine, source, items, self.settings.collect_max_items
                ):
                    self._store(ingest, batch, report)
                if on_source is not None:
                    on_source(source)
        except Stopped:
            pass
        sync_search_index(
            self.settings, self.engine, wait_seconds=self.settings.search_index_wait_ms / 1000
        )
        report.stopped = self.stop.is_set()
        report.seconds = time.perf_counter() - started
        return report

    def _store(self, ingest: Ingest, gathered: Gathered, report: RoundReport) -> None:
        """Commit the source's articles, then (a second transaction) mark its items seen and
        advance its state: a crash in between only fetches the items again."""
        now = utc_now()
        results = ingest.store_drafts([draft for _, draft in gathered.drafts])
        seen: list[dict[str, Any]] = []
        source_id = gathered.source.id
        for (url, _), saved in zip(gathered.drafts, results, strict=True):
            if isinstance(saved, ReadFailure):
                report.skipped.append((url, saved.reason))
                continue
            article_id, outcome, _ = saved
            if outcome is Outcome.ADDED:
                report.added += 1
                self.metrics.articles.inc()
            seen.append(_seen(url, source_id, article_id, outcome.value, now))
        recovered = [article_id for _, article_id in gathered.recovered]
        ingest.link_unlinked(recovered)
        # Stored by a round killed before it finished: maybe never matched (pairs are kept once).
        ingest.match_saved_searches(recovered)
        for url, article_id in gathered.recovered:
            seen.append(_seen(url, source_id, article_id, Outcome.UNCHANGED.value, now))
        for url, reason, lasting in gathered.skipped:
            report.skipped.append((url, reason))
            if lasting:
                seen.append(_seen(url, source_id, None, "skipped", now))
        if gathered.failure is not None:
            report.failures.append((gathered.source.url, gathered.failure))
        elif gathered.unchanged:
            report.unchanged += 1
        elif not gathered.partial:
            report.fetched += 1

        def advance() -> None:
            with Session(self.engine) as session:
                insert_ignoring_conflicts(session, CollectedUrl, seen)
                source = session.get(CollectionSource, source_id)
                if source is not None and not gathered.partial:
                    self._advance(source, gathered, now)
                    session.add(source)
                session.commit()

        run_retrying(advance)

    def _advance(self, source: CollectionSource, gathered: Gathered, now: datetime) -> None:
        """The source's health and schedule after this fetch; its HTTP state on success."""
        source.last_fetch_at = now
        source.last_status = gathered.status
        if gathered.failure is None:
            source.consecutive_failures = 0
            source.last_error = None
            if gathered.items_to_retry:
                # The next fetch must list them again: no conditional request, no 304.
                source.etag, source.last_modified = None, None
            elif not gathered.unchanged:
                source.etag, source.last_modified = gathered.etag, gathered.last_modified
            source.next_fetch_at = now + self._jittered(source.interval_seconds)
            return
        source.consecutive_failures += 1
        source.last_error = gathered.failure[:1000]
        if gathered.status == 410:
            source.retired_at = now
        backoff = min(
            source.interval_seconds * 2**source.consecutive_failures,
            self.settings.collect_max_interval_seconds,
        )
        wait = max(float(backoff), gathered.retry_after or 0.0)
        source.next_fetch_at = now + timedelta(seconds=wait)

    def _jittered(self, seconds: int) -> timedelta:
        spread = self.settings.collect_jitter * seconds
        return timedelta(seconds=seconds + random.uniform(-spread, spread))

    def seconds_to_next(self) -> float:
        """Until the next source is due (bounded, so sources added meanwhile are seen)."""
        with Session(self.engine) as session:
            soonest = session.exec(
                select(func.min(col(CollectionSource.next_fetch_at))).where(
                    col(CollectionSource.retired_at).is_(None)
                )
            ).one()
        if soonest is None:
            return WATCH_POLL_SECONDS
        wait = (soonest - utc_now()).total_seconds()
        return min(max(wait, 0.5), WATCH_POLL_SECONDS)

    def watch(self, on_round: Callable[[RoundReport], None]) -> None:
        """Rounds on each source's schedule until `stop` is set (a round in flight finishes:
        what it gathered is stored)."""
        while not self.stop.is_set():
            on_round(self.run_round())
            self.stop.wait(self.seconds_to_next())


def _seen(
    url: str, source_id: int, article_id: int | None, outcome: str, now: datetime
) -> dict[str, Any]:
    return {
        "url": url,
        "collection_source_id": source_id,
        "article_id": article_id,
        "outcome": outcome,
        "seen_at": now,
    }
