"""A PostgreSQL database of a benchmark's own on the server of an admin URL: made afresh, or
loaded with a generated corpus once and reused by later legs and runs."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError, ProgrammingError

NEWSDESK = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "newsdesk"


def new_database(admin_url: URL, name: str) -> str:
    """Drop the database `name` if it exists, create it empty; its URL, password included."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False)


def loaded_database(
    admin_url: URL, name: str, corpus: Path, articles: int, reload: bool = False
) -> tuple[str, float | None]:
    """The database `name` holding the corpus: its URL, and the seconds `newsdesk load-jsonl`
    took to load it, or None when it already held as many articles (a load of 1M takes most
    of an hour: the legs and runs that follow reuse it)."""
    database = admin_url.set(database=name).render_as_string(hide_password=False)
    if not reload and loaded_articles(database) == articles:
        print(f"  reusing {name} ({articles:,} articles)", flush=True)
        return database, None
    new_database(admin_url, name)
    # The 1M corpus is some 5 GB: over the default size limit of a JSONL file for ingest.
    limit = max(corpus.stat().st_size, 2_000_000_000)
    started = time.perf_counter()
    output = subprocess.run(
        [str(NEWSDESK), "load-jsonl", str(corpus)],
        env={**os.environ, "DATABASE_URL": database, "NEWSDESK_MAX_JSONL_BYTES": str(limit)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    seconds = time.perf_counter() - started
    print(f"  PostgreSQL load into {name}: {output} ({seconds:.0f} s)", flush=True)
    return database, seconds


def loaded_articles(database: str) -> int | None:
    """How many articles the database holds; None when it is absent or was never migrated."""
    engine = create_engine(database)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM article")).scalar_one())
    except ProgrammingError:  # no article table: not loaded
        return None
    except OperationalError as error:
        if "does not exist" in str(error):  # no such database: not loaded
            return None
        raise
    finally:
        engine.dispose()
