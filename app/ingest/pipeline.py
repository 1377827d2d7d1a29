"""The ingest run: files → drafts → stored articles → recognised and linked entities."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.config import Settings
from app.ingest.document import ArticleDraft, ReadFailure
from app.ingest.readers import discover, read_path
from app.ingest.store import ArticleStore, Outcome, add_curated_alias

if TYPE_CHECKING:
    from app.ingest.entities import EntityRecognizer


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
    with Session(engine) as session:
        for row in rows:
            add_curated_alias(session, row.alias, row.canonical_name, row.type)
        session.commit()
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
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _store_batch(self, drafts: list[ArticleDraft]) -> None:
        """Save a batch in one transaction, then recognise and link entities in a second.

        A crash between the two leaves articles without entity links; the next run
        finds them (unchanged, but unlinked) and links them.
        """
        pending: list[tuple[int, ArticleDraft]] = []
        with Session(self.engine) as session:
            store = ArticleStore(session)
            for draft in drafts:
                try:
                    with session.begin_nested():
                        article_id, outcome, needs_entities = store.save(draft)
                except SQLAlchemyError as error:
                    reason = str(error.orig) if hasattr(error, "orig") else str(error)
                    self.report.failures.append(ReadFailure(draft.origin, f"database: {reason}"))
                    continue
                self.report.count(outcome)
                if needs_entities and self.recognizer is not None:
                    pending.append((article_id, draft))
            session.commit()
        if pending and self.recognizer is not None:
            found = self.recognizer.recognize(
                [(draft.title, draft.body) for _, draft in pending],
                batch_size=self.settings.ingest_batch_size,
            )
            with Session(self.engine) as session:
                store = ArticleStore(session)
                for (article_id, _), entities in zip(pending, found, strict=True):
                    store.link_entities(article_id, entities)
                session.commit()
