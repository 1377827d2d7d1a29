"""Articles per second of `newsdesk load-jsonl`'s loader into a new PostgreSQL database:
per second of wall time, and per second of CPU time counted on both sides, this process
(parsing, row building) and its server backend (COPY, indexes, the generated tsvector),
which is steadier on a shared machine.

Run: PYTHONPATH=. .venv/bin/python benchmarks/postgres_bulk_load.py FILE ADMIN_URL [NAME]
e.g. FILE = benchmarks/results/corpus-10000-seed8-noner.jsonl (benchmarks/generate.py),
ADMIN_URL = postgresql+psycopg://postgres@127.0.0.1:5432/postgres. NAME (default
newsdesk_bulk_bench) is dropped and created again; it is kept afterwards. The backend's CPU
time is read from /proc, so the server must run on this machine.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import create_db_engine, upgrade_database
from app.ingest.store.bulk import BulkLoader

sys.path.insert(0, str(Path(__file__).resolve().parent))

import postgres_databases


def backend_cpu(pid: int) -> float:
    """User + system seconds of a server process (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    corpus, admin_url = Path(sys.argv[1]), make_url(sys.argv[2])
    name = sys.argv[3] if len(sys.argv) > 3 else "newsdesk_bulk_bench"
    url = postgres_databases.new_database(admin_url, name)
    upgrade_database(url)
    engine = create_db_engine(Settings(database_url=url), writer=True)
    with engine.connect() as connection:  # the pool hands the loader this same connection
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    print(f"load average before: {os.getloadavg()}")
    server_before, client_before = backend_cpu(pid), resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    report = BulkLoader(engine).load([corpus])
    wall = time.perf_counter() - started
    client_after = resource.getrusage(resource.RUSAGE_SELF)
    client = sum(
        getattr(client_after, f) - getattr(client_before, f) for f in ("ru_utime", "ru_stime")
    )
    server = backend_cpu(pid) - server_before
    with engine.connect() as connection:
        same = connection.execute(text("SELECT pg_backend_pid()")).scalar_one() == pid
    engine.dispose()
    print(report.summary())
    print(
        f"{report.added / wall:,.0f} articles/s wall; CPU {client:.1f} s here + {server:.1f} s "
        f"in the backend{'' if same else ' (another backend served part: undercounted)'}: "
        f"{report.added / (client + server):,.0f} articles per CPU-second; "
        f"load average after: {os.getloadavg()}"
    )


if __name__ == "__main__":
    main()
