"""Online backups of the SQLite database, and putting one back.

A backup is SQLite's backup API copying every page in one step: the copy is the database as
one read transaction saw it (WAL mode lets the server and an ingest go on writing), so it
holds exactly the articles committed before it began. Both directions write a temporary
file in the target's folder and rename it into place, so a crash leaves the old file whole.
PostgreSQL has pg_dump and pg_restore for this; `postgres_commands` says how to call them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class BackupError(RuntimeError):
    """The backup or restore could not be made (the message says why)."""


@dataclass
class BackupReport:
    path: Path
    articles: int
    bytes: int

    def summary(self) -> str:
        return f"{self.articles} articles, {self.bytes / 1e6:.1f} MB in {self.path}"


def sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError(f"{database_url} is not a SQLite database file")
    return Path(database)


def backup_sqlite(database: Path, target: Path) -> BackupReport:
    """A consistent copy of `database` at `target`, taken while others read and write."""
    if not database.is_file():
        raise BackupError(f"no database at {database}")
    if target.resolve() == database.resolve():
        raise BackupError("the backup must not overwrite the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.partial")
    articles = _copy(database, temporary)
    temporary.replace(target)
    return BackupReport(target, int(articles), target.stat().st_size)


def restore_sqlite(backup: Path, database: Path) -> BackupReport:
    """Put `backup` in place of `database` (whose -wal and -shm files are dropped)."""
    if not backup.is_file():
        raise BackupError(f"no backup at {backup}")
    database.parent.mkdir(parents=True, exist_ok=True)
    temporary = database.with_name(f".{database.name}.restoring")
    articles = _copy(backup, temporary)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    temporary.replace(database)
    return BackupReport(database, int(articles), database.stat().st_size)


def _copy(source_path: Path, temporary: Path) -> int:
    """Every page of `source_path` into `temporary` in one step (one snapshot), checked, as
    a self-contained file; the article count. A failed copy leaves no temporary behind."""
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=60)
    try:
        copy = sqlite3.connect(temporary)
        try:
            source.backup(copy)  # pages=-1: every page in one step, one snapshot
            _check(copy, source_path)
            articles = copy.execute("SELECT count(*) FROM article").fetchone()[0]
            copy.execute("PRAGMA journal_mode = DELETE")
        finally:
            copy.close()
    except sqlite3.DatabaseError as error:
        temporary.unlink(missing_ok=True)
        raise BackupError(f"{source_path} is not a usable SQLite database: {error}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    return int(articles)


def _check(connection: sqlite3.Connection, path: Path) -> None:
    try:
        problems = connection.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a usable SQLite database: {error}") from None
    if problems != "ok":
        raise BackupError(f"{path} is damaged: {problems}")
    has_articles = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'article'"
    ).fetchone()
    if has_articles is None:
        raise BackupError(f"{path} is not a Newsdesk database (no article table)")


def postgres_commands(database_url: str, path: Path) -> tuple[str, str]:
    """The pg_dump and pg_restore commands for the URL, without its password."""
    url = make_url(database_url)
    without_password = URL.create(
        "postgresql", url.username, None, url.host, url.port, url.database, url.query
    )
    target = without_password.render_as_string(hide_password=False)
    dump = f"pg_dump --format=custom --file '{path}' '{target}'"
    restore = f"pg_restore --clean --if-exists --no-owner --dbname '{target}' '{path}'"
    return dump, restore
