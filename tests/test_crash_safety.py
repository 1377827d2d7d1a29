"""kill -9 in the middle of an ingest loses nothing and corrupts nothing (SQLite)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT
from app.ingest.files import origin_of
from app.ingest.readers import discover


def article_count(db_path: Path) -> int:
    try:
        with sqlite3.connect(db_path, timeout=30) as connection:
            return int(connection.execute("SELECT count(*) FROM article").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # not migrated yet


def start_ingest(corpus: Path, db_path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "NEWSDESK_INGEST_BATCH_SIZE": "16"}
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "ingest", "--no-nlp", str(corpus)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.corpus
@pytest.mark.slow
def test_kill_minus_9_mid_ingest_then_rerun_leaves_a_consistent_database(
    bbc_corpus: Path, tmp_path: Path
) -> None:
    db_path = tmp_path / "crash.db"
    victim = start_ingest(bbc_corpus, db_path)
    deadline = time.monotonic() + 300
    while article_count(db_path) < 300 and time.monotonic() < deadline:
        assert victim.poll() is None, "the ingest finished before it could be killed"
        time.sleep(0.2)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    stored_when_killed = article_count(db_path)
    assert 0 < stored_when_killed < 2000, stored_when_killed

    rerun = start_ingest(bbc_corpus, db_path)
    out, err = rerun.communicate(timeout=900)
    assert rerun.returncode == 0, err
    assert " 0 failed" in out

    files = {origin_of(path, bbc_corpus) for path in discover([bbc_corpus])}
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # FTS5's own check that the index matches the article table it indexes.
        connection.execute("INSERT INTO article_fts(article_fts) VALUES ('integrity-check')")
        article_ids = {row[0] for row in connection.execute("SELECT id FROM article")}
        indexed_ids = {row[0] for row in connection.execute("SELECT rowid FROM article_fts")}
        assert indexed_ids == article_ids
        origins: list[str] = []
        for (value,) in connection.execute("SELECT origins FROM article"):
            origins += json.loads(value)
        # Every file loaded exactly once: each origin recorded on one article, none missing.
        assert sorted(origins) == sorted(files)
        # A word of every article finds that article.
        missing = []
        for article_id, body in connection.execute("SELECT id, body FROM article"):
            word = next(w for w in body.split() if w.isalpha() and len(w) > 3)
            hit = connection.execute(
                "SELECT count(*) FROM article_fts WHERE article_fts MATCH ? AND rowid = ?",
                (f'"{word}"', article_id),
            ).fetchone()[0]
            if hit != 1:
                missing.append(article_id)
        assert not missing
