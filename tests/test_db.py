"""The engines app/db.py makes: what each connection is set up with."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from app.config import Settings
from app.db import create_db_engine


def _cache_size(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())


def test_the_api_reads_sqlite_with_a_small_page_cache_and_writers_keep_sqlites(
    tmp_path: Path,
) -> None:
    """Each request in flight holds a reading connection with its own page cache; a writer
    (ingest, collection) is one connection, which keeps SQLite's default."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'cache.db'}", sqlite_read_cache_kib=300
    )
    engines = {
        "reader": create_db_engine(settings, reader=True),
        "writer": create_db_engine(settings, writer=True),
        "plain": create_db_engine(settings),
        "reader that writes": create_db_engine(settings, writer=True, reader=True),
    }
    try:
        sizes = {name: _cache_size(engine) for name, engine in engines.items()}
    finally:
        for engine in engines.values():
            engine.dispose()
    assert sizes["reader"] == -300  # negative: KiB
    default = sizes["plain"]
    assert default != -300
    assert sizes["writer"] == default
    assert sizes["reader that writes"] == default
