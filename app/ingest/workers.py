"""Reading and entity recognition in worker processes, feeding the one writer of an ingest.

spaCy's NER keeps one core busy; a pool of processes, each loading the model once, reads files
and recognises entities while the ingest's own process stores them. Workers return plain
results (drafts, failures, found entities with their forms and types), never spaCy objects.
The ingest's process stays the only writer and commits in the same order and the same
transactions as without workers, so crash points and recovery (app/faults.py) are the same.

Recognition is started for a batch before it is stored, for every draft whose text is not
already stored with entities (the ones a re-ingest leaves unchanged are not read again); a
draft that turns out to need entities anyway is recognised when its batch is stored.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

from app.ingest.document import ArticleDraft, ReadFailure
from app.ingest.read.readers import Discovery, ReadLimits, read_path

if TYPE_CHECKING:
    from app.ingest.entities.gazetteer import Gazetteer
    from app.ingest.entities.names import AliasTable
    from app.ingest.entities.recognition import EntityAnalysis, EntityRecognizer

# Tasks of files to read kept queued per worker: enough that no worker waits for the next,
# few enough that a slow writer does not hold a corpus' drafts in memory. Reads queue behind
# the recognition already started (pipeline.BATCHES_AHEAD batches): submitted less than
# that far ahead, the writer waited for them, and so for that recognition, before storing
# a batch whose entities were ready.
READS_AHEAD_PER_WORKER = 12
FILES_PER_READ = 8

_recognizer: EntityRecognizer | None = None
# The run's gazetteer, sent once to each worker (a large archive knows thousands of forms:
# sent with every task, each task also built its matcher again).
_gazetteer: Gazetteer | None = None


def available_cores() -> int:
    """The cores this process may run on (fewer than the machine's under a CPU affinity)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _start_worker(
    parent: int, curated: AliasTable, model: str, gazetteer: Gazetteer | None
) -> None:
    global _recognizer, _gazetteer
    from app.ingest.entities.recognition import EntityRecognizer

    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _recognizer = EntityRecognizer(curated, model)
    _gazetteer = gazetteer


def _exit_with_parent(parent: int) -> None:
    """Exit once the ingest's process is gone. Killed (kill -9, the OOM killer), it cleans
    nothing up: a worker left behind would keep its memory and the ingest's output open."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


def _read(
    files: list[tuple[Path, Path]], limits: ReadLimits
) -> list[list[ArticleDraft | ReadFailure]]:
    return [list(read_path(path, root=root, limits=limits)) for root, path in files]


def _analyse(
    articles: list[tuple[str | None, str, str | None]], batch_size: int
) -> list[EntityAnalysis]:
    assert _recognizer is not None, "started by _start_worker"
    return _recognizer.analyse(articles, batch_size=batch_size, gazetteer=_gazetteer)


class IngestWorkers:
    """A pool of worker processes that read article files and recognise their entities, with
    the known forms of `gazetteer` (an ingest's run uses one gazetteer throughout)."""

    def __init__(
        self,
        workers: int,
        recognizer: EntityRecognizer,
        batch_size: int,
        gazetteer: Gazetteer | None = None,
    ) -> None:
        self.workers = workers
        self.batch_size = batch_size
        # A fresh interpreter per worker: forking a process that holds database connections,
        # the search index's threads and perhaps a loaded model is not safe.
        self._pool = ProcessPoolExecutor(
            workers,
            mp_context=get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(), recognizer.curated, recognizer.model, gazetteer),
        )
        # Recognition started per draft (by identity): its task and its place in the task.
        self._started: dict[int, tuple[Future[list[EntityAnalysis]], int]] = {}

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def read(
        self,
        found: Sequence[tuple[Path, Discovery]],
        limits: ReadLimits,
        on_file: Callable[[Path], None] | None = None,
    ) -> Iterator[ArticleDraft | ReadFailure]:
        """Every draft or failure of the files found, in the order a single process reads them."""
        files = [(root, path) for root, discovery in found for path in discovery.files]
        tasks = (files[i : i + FILES_PER_READ] for i in range(0, len(files), FILES_PER_READ))
        queued: deque[
            tuple[list[tuple[Path, Path]], Future[list[list[ArticleDraft | ReadFailure]]]]
        ]
        queued = deque()
        for task in tasks:
            queued.append((task, self._pool.submit(_read, task, limits)))
            if len(queued) >= self.workers * READS_AHEAD_PER_WORKER:
                yield from _results(*queued.popleft(), on_file)
        while queued:
            yield from _results(*queued.popleft(), on_file)

    def start(self, drafts: list[ArticleDraft]) -> None:
        """Start recognising these drafts' entities, split among the workers."""
        drafts = [draft for draft in drafts if id(draft) not in self._started]
        if not drafts:
            return
        size = -(-len(drafts) // (2 * self.workers))
        for first in range(0, len(drafts), size):
            chunk = drafts[first : first + size]
            articles = [(draft.title, draft.body, draft.language) for draft in chunk]
            task = self._pool.submit(_analyse, articles, self.batch_size)
            for place, draft in enumerate(chunk):
                self._started[id(draft)] = (task, place)

    def analyse(self, drafts: list[ArticleDraft]) -> list[EntityAnalysis]:
        """The entities of each draft, from recognition started earlier or started now."""
        self.start(drafts)
        return [self._take(draft) for draft in drafts]

    def forget(self, drafts: list[ArticleDraft]) -> None:
        """Drop what was started for these drafts and not taken (stored unchanged)."""
        for draft in drafts:
            self._started.pop(id(draft), None)

    def _take(self, draft: ArticleDraft) -> EntityAnalysis:
        task, place = self._started.pop(id(draft))
        return task.result()[place]


def _results(
    files: list[tuple[Path, Path]],
    task: Future[list[list[ArticleDraft | ReadFailure]]],
    on_file: Callable[[Path], None] | None,
) -> Iterator[ArticleDraft | ReadFailure]:
    for (_, path), items in zip(files, task.result(), strict=True):
        yield from items
        if on_file is not None:
            on_file(path)
