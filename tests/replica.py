"""A real streaming replica of the test PostgreSQL server: a hot standby of its own.

`pg_basebackup -R` copies the primary (TEST_DATABASE_URL's server) into a temporary data
directory, which `pg_ctl` starts as the postgres user on another loopback port. Every
database the suite creates on the primary appears on the replica as WAL is replayed.
The primary must accept replication connections from 127.0.0.1 (.ci/run's setup_postgres
adds the pg_hba.conf rule when it is missing).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from tests.e2e.live import free_port


class ReplicaUnavailable(RuntimeError):
    """The replica could not be made here (no tools, no replication rule): why."""


def _binaries(primary: URL) -> Path:
    """The folder of the primary's version of pg_basebackup and pg_ctl."""
    with _connect(primary) as connection:
        version = int(connection.execute(text("SHOW server_version_num")).scalar_one())
    folder = Path(f"/usr/lib/postgresql/{version // 10_000}/bin")
    if (folder / "pg_ctl").exists():
        return folder
    found = shutil.which("pg_ctl")
    if found is None:
        raise ReplicaUnavailable("pg_ctl not found (install the postgresql package)")
    return Path(found).resolve().parent


def _connect(url: URL):  # type: ignore[no-untyped-def]
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    return engine.connect()


def _run(command: list[str], what: str, password: str | None = None) -> None:
    environment = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    result = subprocess.run(
        ["runuser", "-u", "postgres", "--", *command],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )
    if result.returncode != 0:
        raise ReplicaUnavailable(f"{what} failed: {(result.stderr or result.stdout).strip()}")


@dataclass
class Replica:
    """A hot standby of the primary on `port`, in `directory`."""

    primary: URL
    port: int
    directory: Path
    bin_dir: Path

    def url_of(self, primary_url: str) -> str:
        """The replica's URL for a database of the primary's."""
        url = make_url(primary_url).set(host="127.0.0.1", port=self.port)
        return url.render_as_string(hide_password=False)

    @property
    def log_file(self) -> Path:
        return self.directory / "replica.log"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.directory} -c hot_standby=on"
        )
        command = [str(self.bin_dir / "pg_ctl"), "-D", str(self.directory / "data")]
        _run([*command, "-o", options, "-l", str(self.log_file), "-w", "start"], "pg_ctl start")

    def stop(self) -> None:
        command = [str(self.bin_dir / "pg_ctl"), "-D", str(self.directory / "data")]
        _run([*command, "-m", "fast", "-w", "stop"], "pg_ctl stop")

    def wait_replayed(self, database_url: str, timeout: float = 60.0) -> None:
        """Wait until the replica has replayed everything the primary has written so far
        and the database exists there."""
        with _connect(self.primary) as connection:
            target = connection.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one()
        deadline = time.monotonic() + timeout
        replica_url = make_url(self.url_of(database_url))
        while True:
            try:
                with _connect(replica_url) as connection:
                    replayed = connection.execute(
                        text("SELECT pg_last_wal_replay_lsn() >= CAST(:target AS pg_lsn)"),
                        {"target": target},
                    ).scalar_one()
                if replayed:
                    return
            except Exception:  # the database not there yet, or the replica restarting
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"replica did not replay to {target}: {self.log_file}")
            time.sleep(0.1)

    def remove(self) -> None:
        with contextlib.suppress(ReplicaUnavailable):
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_replica(primary: URL) -> Replica:
    """Copy the primary with pg_basebackup -R and start the copy as a hot standby."""
    if shutil.which("runuser") is None or os.geteuid() != 0:
        raise ReplicaUnavailable("starting a replica needs root (runuser -u postgres)")
    bin_dir = _binaries(primary)
    directory = Path(tempfile.mkdtemp(prefix="newsdesk-replica-"))
    shutil.chown(directory, "postgres", "postgres")
    replica = Replica(primary, free_port(), directory, bin_dir)
    data = directory / "data"
    try:
        _run(
            [
                str(bin_dir / "pg_basebackup"),
                *("-h", "127.0.0.1", "-p", str(primary.port or 5432)),
                *("-U", primary.username or "postgres", "-D", str(data)),
                *("-R", "-X", "stream", "--checkpoint=fast", "--no-sync"),
            ],
            "pg_basebackup (does pg_hba.conf allow replication from 127.0.0.1? see .ci/run)",
            primary.password,
        )
        # Debian keeps the server's configuration outside the data directory: the copy gets
        # files of its own (trust on loopback: a throwaway test cluster).
        for name, content in {
            "postgresql.conf": "",
            "pg_hba.conf": "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        }.items():
            if not (data / name).exists() or name == "pg_hba.conf":
                (data / name).write_text(content)
                shutil.chown(data / name, "postgres", "postgres")
        replica.start()
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return replica
