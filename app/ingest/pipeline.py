"""The ingest run: files → drafts → stored articles → recognised and linked entities."""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlmodel import Session, col, select

from app.config import Settings
from app.db import is_lock_timeout, is_retryable, run_retrying
from app.faults import kill_point
from app.ingest.document import ArticleDraft, ReadFailure
from app.ingest.extract.defaults import IngestDefaults
from app.ingest.read.readers import Discovery, ReadLimits, find_articles, read_path
from app.ingest.store.articles import (
    ArticleStore,
    Outcome,
    add_curated_alias,
    content_hash,
    linked_hashes,
)
from app.ingest.store.known_forms import curation_mark, known_forms
from app.models import Article, ArticleEntity
from app.search.tantivy.sync import sync_search_index

if TYPE_CHECKING:
    from app.ingest.entities.gazetteer import Gazetteer
    from app.ingest.entities.recognition import EntityAnalysis, EntityRecognizer
    from app.ingest.workers import IngestWorkers

log = logging.getLogger("newsdesk.ingest")

# What ArticleStore.save returns: the article id, what happened, whether it needs entities.
Saved = tuple[int, Outcome, bool]
# A draft whose insert lost a race to another ingest is looked up again this many times.
SAVE_ATTEMPTS = 3
# Batches whose recognition is started before the one being stored: with one, the workers
# finished it while the writer was still storing and waited, idle, for the next batch.
BATCHES_AHEAD = 2


@dataclass
class IngestReport:
    """What an ingest run did: counts per outcome and every failure with its reason."""

    files: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failures: list[ReadFailure] = field(default_factory=list)
    # Symlinks and folders passed over while finding files (out of the root, dangling, ...).
    skipped: list[ReadFailure] = field(default_factory=list)
    # Files below the folders given whose type ingest doesn't read, by suffix.
    unsupported: Counter[str] = field(default_factory=Counter)
    # Things the user should know that are not a file's failure (the index left for later).
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def summary(self) -> str:
        passed_over = len(self.skipped) + sum(self.unsupported.values())
        skipped = f", {passed_over} skipped" if passed_over else ""
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.failed} failed{skipped} ({self.files} files in {self.seconds:.1f}s)"
        )


def changed_ids(results: list[Saved | ReadFailure]) -> list[int]:
    """The articles a batch added or changed, and those it linked entities to afresh (a run
    killed before linking them had not matched them yet): what saved searches are asked."""
    return [
        saved[0]
        for saved in results
        if not isinstance(saved, ReadFailure) and (saved[1] is not Outcome.UNCHANGED or saved[2])
    ]


# Each root as given, with the article files found below it.
Found = list[tuple[Path, Discovery]]
# A batch of what was read: drafts to store and files that could not be read.
Batch = list[ArticleDraft | ReadFailure]


def find_all(paths: Iterable[Path], *, follow_symlinks: bool = False) -> Found:
    """The article files below each root (and what was skipped there), each root once."""
    return [(root, find_articles([root], follow_symlinks=follow_symlinks)) for root in paths]


def read_found(
    found: Found,
    limits: ReadLimits,
    on_file: Callable[[Path], None] | None = None,
    defaults: IngestDefaults | None = None,
) -> Iterator[ArticleDraft | ReadFailure]:
    """Every draft or failure from the files found, each origin the path as named."""
    for root, discovery in found:
        for path in discovery.files:
            yield from with_defaults(read_path(path, root=root, limits=limits), defaults)
            if on_file is not None:
                on_file(path)


def with_defaults(
    items: Iterable[ArticleDraft | ReadFailure], defaults: IngestDefaults | None
) -> Iterator[ArticleDraft | ReadFailure]:
    """The items, each draft with the run's defaults applied."""
    for item in items:
        if defaults is not None and isinstance(item, ArticleDraft):
            defaults.apply(item)
        yield item


def read_all(
    paths: Iterable[Path],
    settings: Settings,
    on_file: Callable[[Path], None] | None = None,
    *,
    follow_symlinks: bool = False,
) -> Iterator[ArticleDraft | ReadFailure]:
    """Every draft or failure from every article file below `paths`."""
    found = find_all(paths, follow_symlinks=follow_symlinks)
    limits = ReadLimits.from_settings(settings, follow_symlinks=follow_symlinks)
    yield from read_found(found, limits, on_file)


def apply_alias_file(engine: Engine, path: Path) -> int:
    """Load the curated aliases (alias, canonical name, type) into the database."""
    from app.ingest.entities.recognition import load_alias_file

    rows = load_alias_file(path)

    def apply() -> None:
        with Session(engine) as session:
            for row in rows:
                add_curated_alias(session, row.alias, row.canonical_name, row.type)
            session.commit()

    # Another ingest starting at the same moment rewrites the same aliases (PostgreSQL).
    run_retrying(apply)
    return len(rows)


class Ingest:
    """One ingest run against one database.

    With `workers` above 1 (and a recognizer), `run` reads files and recognises entities in
    that many worker processes (app/ingest/workers.py); this process alone writes.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        recognizer: EntityRecognizer | None,
        *,
        follow_symlinks: bool = False,
        defaults: IngestDefaults | None = None,
        workers: int = 1,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.recognizer = recognizer
        self.worker_count = workers
        self.workers: IngestWorkers | None = None
        self.limits = ReadLimits.from_settings(settings, follow_symlinks=follow_symlinks)
        self.defaults = defaults
        self.report = IngestReport()
        # Set once SQLite's write lock stayed with another process past the busy timeout:
        # why the rest of the run's articles are listed as failed instead of stored.
        self.locked_out: str | None = None
        # The archive's known forms, built at the first batch, then grown from the entities
        # each batch links; built again when a curation changes what a person decided.
        self.gazetteer: Gazetteer | None = None
        self.run_gazetteer: Gazetteer | None = None  # the gazetteer of the run under way
        self._curation_mark: tuple[int, int | None] | None = None
        self._linked: set[int] = set()

    def apply_aliases(self, path: Path) -> None:
        """Load the curated aliases first; locked out, the run's files are all listed as failed."""
        try:
            apply_alias_file(self.engine, path)
        except OperationalError as error:
            if not is_lock_timeout(error):
                raise
            self.locked_out = self._lock_reason(error, "not stored")

    def run(
        self, paths: Iterable[Path], on_file: Callable[[Path], None] | None = None
    ) -> IngestReport:
        started = time.perf_counter()
        found = find_all(paths, follow_symlinks=self.limits.follow_symlinks)
        self.report.files = sum(len(discovery.files) for _, discovery in found)
        self.report.skipped = [skip for _, discovery in found for skip in discovery.skipped]
        for _, discovery in found:
            self.report.unsupported.update(discovery.unsupported)
        # One gazetteer for the whole run: the workers recognise batches ahead of the one
        # being stored, so growing it within a run would make their answers differ; each
        # worker receives it once, when it starts.
        self.run_gazetteer = self._known_forms()
        with self._worker_pool(found):
            for batch in self._recognised_ahead(self._batches(found, on_file)):
                drafts = [item for item in batch if isinstance(item, ArticleDraft)]
                self.report.failures += [item for item in batch if isinstance(item, ReadFailure)]
                saved = self._store_batch(drafts)
                if self.workers is not None:
                    self.workers.forget(drafts)
                # Searchable as soon as committed; another ingest holding the index catches up.
                self._sync_index(wait_seconds=0)
                self.match_saved_searches(changed_ids(saved))
        self._sync_index(wait_seconds=self.settings.search_index_wait_ms / 1000)
        self.report.seconds = time.perf_counter() - started
        return self.report

    @contextmanager
    def _worker_pool(self, found: Found) -> Iterator[None]:
        """Worker processes for this run, when it has more than one batch to recognise."""
        files = [path for _, discovery in found for path in discovery.files]
        several_batches = len(files) > self.settings.ingest_batch_size or any(
            path.suffix == ".jsonl" for path in files
        )
        if self.worker_count <= 1 or self.recognizer is None or not several_batches:
            yield
            return
        from app.ingest.workers import IngestWorkers

        self.workers = IngestWorkers(
            self.worker_count,
            self.recognizer,
            self.settings.ingest_batch_size,
            self.run_gazetteer,
        )
        try:
            yield
        finally:
            self.workers.close()
            self.workers = None

    def _batches(self, found: Found, on_file: Callable[[Path], None] | None) -> Iterator[Batch]:
        """What the files found hold, a batch at a time, read by the workers if there are any."""
        if self.workers is None:
            items = read_found(found, self.limits, on_file, self.defaults)
        else:
            items = with_defaults(self.workers.read(found, self.limits, on_file), self.defaults)
        while batch := list(islice(items, self.settings.ingest_batch_size)):
            yield batch

    def _recognised_ahead(self, batches: Iterator[Batch]) -> Iterator[Batch]:
        """Each batch once the workers have started recognising it and the next ones, so they
        recognise while this process stores. Drafts whose text is stored with entities
        already are left out: a re-ingest stores them unchanged."""
        if self.workers is None:
            yield from batches
            return
        upcoming: deque[Batch] = deque()
        for batch in batches:
            drafts = [
                (item, content_hash(item)) for item in batch if isinstance(item, ArticleDraft)
            ]
            with Session(self.engine) as session:
                linked = linked_hashes(session, [digest for _, digest in drafts])
            self.workers.start([draft for draft, digest in drafts if digest not in linked])
            upcoming.append(batch)
            if len(upcoming) > BATCHES_AHEAD:
                yield upcoming.popleft()
        yield from upcoming

    def _analyse(self, drafts: list[ArticleDraft]) -> list[EntityAnalysis]:
        """The entities of each draft, recognised by the workers if there are any."""
        if self.workers is not None:
            return self.workers.analyse(drafts)
        assert self.recognizer is not None
        return self.recognizer.analyse(
            [(draft.title, draft.body, draft.language) for draft in drafts],
            batch_size=self.settings.ingest_batch_size,
            gazetteer=self.run_gazetteer,
        )

    def store_drafts(self, drafts: list[ArticleDraft]) -> list[Saved | ReadFailure]:
        """Store drafts read elsewhere (the collector's pages) as `run` stores files': in
        batches, entities recognised and linked, the search index brought up to date."""
        results: list[Saved | ReadFailure] = []
        size = self.settings.ingest_batch_size
        self.run_gazetteer = self._known_forms()
        for start in range(0, len(drafts), size):
            saved = self._store_batch(drafts[start : start + size])
            self._sync_index(wait_seconds=0)
            self.match_saved_searches(changed_ids(saved))
            results += saved
        return results

    def match_saved_searches(self, article_ids: list[int]) -> None:
        """Record the saved searches these stored articles match and queue their webhooks.

        A failure here is logged and noted, never raised: the articles are stored, and an
        alert must not cost an ingest.
        """
        if not article_ids or self.locked_out is not None:
            return
        from app.monitor.matching import match_articles

        try:
            match_articles(self.engine, self.settings, article_ids)
        except Exception as error:  # any failure: matching must not fail the ingest
            log.exception("saved searches not matched")
            self.report.notes.append(f"saved searches not matched for a batch: {error}")

    def link_unlinked(self, article_ids: list[int]) -> int:
        """Recognise and link the entities of these stored articles that have none (stored by
        a run killed before its second commit); how many were linked."""
        if self.recognizer is None or not article_ids:
            return 0
        linked = select(ArticleEntity.article_id).where(
            col(ArticleEntity.article_id) == col(Article.id)
        )
        with Session(self.engine) as session:
            rows = session.exec(
                select(
                    col(Article.id), col(Article.title), col(Article.body), col(Article.language)
                ).where(col(Article.id).in_(article_ids), ~linked.exists())
            ).all()
        pending = [
            (article_id, ArticleDraft(origin="", body=body, title=title, language=language))
            for article_id, title, body, language in rows
            if article_id is not None
        ]
        if pending:
            found = self.recognizer.analyse(
                [(draft.title, draft.body, draft.language) for _, draft in pending],
                batch_size=self.settings.ingest_batch_size,
                gazetteer=self._known_forms(),
            )
            run_retrying(lambda: self._link_all(pending, found))
        return len(pending)

    def _known_forms(self) -> Gazetteer | None:
        """The gazetteer brought up to date: built the first time and after a curation,
        otherwise grown from the entities the last batches linked (a few indexed queries)."""
        minimum = self.settings.gazetteer_min_articles
        if self.recognizer is None or minimum == 0:
            return None
        from app.ingest.entities.gazetteer import Gazetteer

        with Session(self.engine) as session:
            mark = curation_mark(session)
            if self.gazetteer is None or mark != self._curation_mark:
                self.gazetteer, self._curation_mark = Gazetteer(), mark
                self.gazetteer.add(*known_forms(session, minimum))
            elif self._linked:
                self.gazetteer.add(*known_forms(session, minimum, self._linked))
        self._linked = set()
        return self.gazetteer

    def _sync_index(self, wait_seconds: float) -> None:
        """Bring the search index up to date, unless the database is locked (left for later)."""
        if self.locked_out is not None:
            return
        try:
            sync_search_index(self.settings, self.engine, wait_seconds=wait_seconds)
        except OperationalError as error:
            if not is_lock_timeout(error):
                raise
            self.report.notes.append(
                "search index not updated: the database is locked; the next ingest or "
                "`newsdesk serve` brings it up to date"
            )

    def _store_batch(self, drafts: list[ArticleDraft]) -> list[Saved | ReadFailure]:
        """Save a batch in one transaction, then recognise and link entities in a second.

        A crash between the two leaves articles without entity links (an edited article's
        old links go with its old text, in the first); the next run finds them (unchanged,
        but unlinked) and links them. A transaction that a concurrent ingest deadlocked
        (PostgreSQL) runs again from the start. When another process keeps SQLite's write
        lock past the busy timeout, this batch and every later one are listed as failed
        with that reason (nothing waits a second time). Returns what happened to each draft.
        """
        if self.locked_out is not None:
            refused = [ReadFailure(d.origin, self.locked_out) for d in drafts]
            self.report.failures += refused
            return list(refused)
        try:
            results = run_retrying(lambda: self._save_all(drafts))
        except OperationalError as error:
            if not is_lock_timeout(error):
                raise
            self.locked_out = self._lock_reason(error, "not stored")
            refused = [ReadFailure(d.origin, self.locked_out) for d in drafts]
            self.report.failures += refused
            return list(refused)
        kill_point("articles_committed")
        pending: list[tuple[int, ArticleDraft]] = []
        for draft, saved in zip(drafts, results, strict=True):
            if isinstance(saved, ReadFailure):
                self.report.failures.append(saved)
                continue
            article_id, outcome, needs_entities = saved
            self.report.count(outcome)
            if needs_entities and self.recognizer is not None:
                pending.append((article_id, draft))
        if pending and self.recognizer is not None:
            found = self._analyse([draft for _, draft in pending])
            try:
                run_retrying(lambda: self._link_all(pending, found))
            except OperationalError as error:
                if not is_lock_timeout(error):
                    raise
                reason = self._lock_reason(error, "stored, but its entities are not linked")
                self.report.failures += [ReadFailure(d.origin, reason) for _, d in pending]
                self.locked_out = self._lock_reason(error, "not stored")
        return results

    def _lock_reason(self, error: OperationalError, outcome: str) -> str:
        waited = self.settings.sqlite_busy_timeout_ms
        return (
            f"{outcome}: {error.orig} (another process held the database's write lock "
            f"for more than the {waited:,} ms busy timeout)"
        )

    def _save_all(self, drafts: list[ArticleDraft]) -> list[Saved | ReadFailure]:
        """Save each draft in a savepoint of one transaction: what happened to each."""
        results: list[Saved | ReadFailure] = []
        with Session(self.engine) as session:
            store = ArticleStore(session)
            for draft in drafts:
                saved = self._save_one(store, draft)
                if isinstance(saved, ReadFailure):
                    # A rolled-back savepoint may hold rows whose ids the store cached.
                    store = ArticleStore(session)
                results.append(saved)
            session.commit()
        return results

    def _save_one(self, store: ArticleStore, draft: ArticleDraft) -> Saved | ReadFailure:
        """Save one draft; when another ingest inserted the same article (content hash or
        URL) after we looked for it, its row is committed by then, so looking again finds it."""
        for attempt in range(1, SAVE_ATTEMPTS + 1):
            try:
                with store.session.begin_nested():
                    return store.save(draft)
            except SQLAlchemyError as error:
                if is_retryable(error):
                    raise  # the whole transaction must go: run_retrying runs it again
                if isinstance(error, IntegrityError) and attempt < SAVE_ATTEMPTS:
                    store = ArticleStore(store.session)
                    continue
                reason = str(error.orig) if hasattr(error, "orig") else str(error)
                return ReadFailure(draft.origin, f"database: {reason}")
        raise AssertionError("unreachable")

    def _link_all(
        self, pending: list[tuple[int, ArticleDraft]], found: list[EntityAnalysis]
    ) -> None:
        with Session(self.engine) as session:
            store = ArticleStore(session)
            for (article_id, _), analysis in zip(pending, found, strict=True):
                store.link_entities(article_id, analysis.entities, analysis.model)
            session.commit()
        self._linked |= store.linked
