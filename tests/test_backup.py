"""`newsdesk db backup` and `db restore`: a consistent copy taken while an ingest writes, put
back in a fresh place with its search index rebuilt; PostgreSQL gets the pg_dump commands."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.config import PROJECT_ROOT
from app.db import upgrade_database
from tests.server import running_server


def newsdesk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {key: v for key, v in os.environ.items() if not key.startswith("NEWSDESK_")}
    environment.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=PROJECT_ROOT,
        env={**environment, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def article_ids(database: Path) -> set[int]:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        return {row[0] for row in connection.execute("SELECT id FROM article")}
    finally:
        connection.close()


@pytest.mark.slow
@pytest.mark.corpus
def test_a_backup_taken_mid_ingest_restores_every_committed_article(
    bbc_corpus: Path, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    for topic in ("business", "tech"):
        shutil.copytree(bbc_corpus / topic, corpus / topic)
    database = tmp_path / "live.db"
    url = f"sqlite:///{database}"
    upgrade_database(url)
    ingest = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "ingest", "--no-nlp", str(corpus)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": url, "NEWSDESK_DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(article_ids(database)) < 50 and time.monotonic() < deadline:
            time.sleep(0.05)
        committed = article_ids(database)  # every article committed before the backup
        backup = tmp_path / "backups" / "newsdesk.db"
        made = newsdesk("db", "backup", str(backup), "--database-url", url)
        still_ingesting = ingest.poll() is None
        output, _ = ingest.communicate(timeout=120)
    finally:
        if ingest.poll() is None:
            ingest.kill()
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("Backed up "), made.stdout
    assert ingest.returncode == 0, output
    assert still_ingesting, "the ingest ended before the backup: nothing was tested"
    in_backup = article_ids(backup)
    assert committed <= in_backup
    assert len(in_backup) < len(article_ids(database))  # a snapshot mid-ingest

    restored = tmp_path / "restored" / "newsdesk.db"
    restored_url = f"sqlite:///{restored}"
    env = {"NEWSDESK_SEARCH_ENGINE": "tantivy"}
    done = newsdesk("db", "restore", str(backup), "--database-url", restored_url, env=env)
    assert done.returncode == 0, done.stderr
    assert "search index rebuilt" in done.stdout, done.stdout
    assert article_ids(restored) == in_backup
    assert not Path(f"{restored}-wal").exists() or article_ids(restored) == in_backup

    with running_server(restored_url, tmp_path / "server.log", env) as server:
        ready = httpx.get(f"{server.url}/readyz", timeout=30).json()
        assert ready["search_index"] == "current", ready
        total = httpx.get(f"{server.url}/articles", params={"limit": 1}, timeout=30).json()
        assert total["total"] == len(in_backup)
        searched = httpx.get(f"{server.url}/articles", params={"q": "the"}, timeout=30).json()
        assert 0 < searched["total"] <= len(in_backup)


def test_restore_replaces_a_database_and_drops_its_wal(tmp_path: Path) -> None:
    source, target = tmp_path / "a.db", tmp_path / "b.db"
    upgrade_database(f"sqlite:///{source}")
    upgrade_database(f"sqlite:///{target}")
    Path(f"{target}-wal").write_bytes(b"stale")
    backup = tmp_path / "backup.db"
    assert (
        newsdesk("db", "backup", str(backup), "--database-url", f"sqlite:///{source}").returncode
        == 0
    )
    done = newsdesk("db", "restore", str(backup), "--database-url", f"sqlite:///{target}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Restored 0 articles"), done.stdout
    assert not Path(f"{target}-wal").exists()


def test_a_backup_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "newsdesk.db"
    upgrade_database(f"sqlite:///{target}")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    done = newsdesk("db", "restore", str(junk), "--database-url", f"sqlite:///{target}")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    missing = newsdesk(
        "db",
        "backup",
        str(tmp_path / "b.db"),
        "--database-url",
        "sqlite:///" + str(tmp_path / "none.db"),
    )
    assert missing.returncode == 1
    assert "no database at" in missing.stderr


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_postgresql_is_pointed_to_pg_dump(command: str, tmp_path: Path) -> None:
    url = "postgresql+psycopg://news:s3cret@db.example:5433/newsdesk"
    done = newsdesk("db", command, str(tmp_path / "dump.pgc"), "--database-url", url)
    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    target = "postgresql://news@db.example:5433/newsdesk"
    assert f"pg_dump --format=custom --file '{tmp_path / 'dump.pgc'}' '{target}'" in message
    assert f"pg_restore --clean --if-exists --no-owner --dbname '{target}'" in message
    assert "s3cret" not in done.stderr + done.stdout
