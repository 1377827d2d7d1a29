"""The ingest run: files → drafts → stored articles → recognised and linked entities."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session

from app.config import Settings
from app.db import is_retryable, run_retrying
from app.ingest.document import ArticleDraft, ReadFailure
from app.ingest.readers import discover, read_path
from app.ingest.store import ArticleStore, Outcome, add_curated_alias
from app.search.index_sync import sync_search_index

if TYPE_CHECKING:
    from app.ingest.entities import EntityRecognizer

# What ArticleStore.save returns: the article id, what happened, whether it needs entities.
Saved = tuple[int, Outcome, bool]
# A draft whose insert lost a race to another ingest is looked up again this many times.
SAVE_ATTEMPTS = 3


@dataclass
class IngestReport:
    """What an ingest run did: counts per outcome and every failure with its reason."""

    files: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failures: list[ReadFailure] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.failed} failed ({self.files} files in {self.seconds:.1f}s)"
        )


def read_all(
    paths: Iterable[Path], settings: Settings, on_file: Callable[[Path], None] | None = None
) -> Iterator[ArticleDraft | ReadFailure]:
    """Every draft or failure from every article file below `paths`."""
    for root in paths:
        for path in discover([root]):
            yield from read_path(path, max_bytes=settings.max_file_bytes, root=root)
            if on_file is not None:
                on_file(path)


def apply_alias_file(engine: Engine, path: Path) -> int:
    """Load the curated aliases (alias, canonical name, type) into the database."""
    from app.ingest.entities import load_alias_file

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
    """One ingest run against one database."""

    def __init__(
        self, engine: Engine, settings: Settings, recognizer: EntityRecognizer | None
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.recognizer = recognizer
        self.report = IngestReport()

    def run(
        self, paths: Iterable[Path], on_file: Callable[[Path], None] | None = None
    ) -> IngestReport:
        started = time.perf_counter()
        paths = list(paths)
        self.report.files = sum(1 for _ in discover(paths))
        items = read_all(paths, self.settings, on_file)
        while batch := list(islice(items, self.settings.ingest_batch_size)):
            drafts = [item for item in batch if isinstance(item, ArticleDraft)]
            self.report.failures += [item for item in batch if isinstance(item, ReadFailure)]
            self._store_batch(drafts)
            # Searchable as soon as committed; another ingest holding the index catches up.
            sync_search_index(self.settings, self.engine, wait_seconds=0)
        wait_seconds = self.settings.search_index_wait_ms / 1000
        sync_search_index(self.settings, self.engine, wait_seconds=wait_seconds)
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _store_batch(self, drafts: list[ArticleDraft]) -> None:
        """Save a batch in one transaction, then recognise and link entities in a second.

        A crash between the two leaves articles without entity links; the next run
        finds them (unchanged, but unlinked) and links them. A transaction that a
        concurrent ingest deadlocked (PostgreSQL) runs again from the start.
        """
        results = run_retrying(lambda: self._save_all(drafts))
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
            found = self.recognizer.recognize(
                [(draft.title, draft.body) for _, draft in pending],
                batch_size=self.settings.ingest_batch_size,
            )
            run_retrying(lambda: self._link_all(pending, found))

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

    def _link_all(self, pending: list[tuple[int, ArticleDraft]], found: list[Any]) -> None:
        with Session(self.engine) as session:
            store = ArticleStore(session)
            for (article_id, _), entities in zip(pending, found, strict=True):
                store.link_entities(article_id, entities)
            session.commit()
