"""Servers under test (started and stopped here) and wrk, the load generator, on loopback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")
HOST = "127.0.0.1"
IDLE_SAMPLE_SECONDS = 0.1
IDLE_CPU_SHARE = 0.05


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base: str
    startup_seconds: float

    def memory_mb(self) -> dict[str, float]:
        """Resident and proportional memory of the server and its workers, and the split of
        the proportional part into the processes' own memory (anonymous: heaps, the imported
        code's objects) and mapped files (the memory-mapped index, libraries), which the
        kernel can drop and read again."""
        totals = {"rss_mb": 0.0, "pss_mb": 0.0, "pss_anon_mb": 0.0, "pss_file_mb": 0.0}
        for pid in _tree(self.process.pid):
            fields = _smaps_rollup_kb(pid)
            totals["rss_mb"] += _rss_kb(pid) / 1024
            totals["pss_mb"] += fields.get("Pss", 0) / 1024
            totals["pss_anon_mb"] += fields.get("Pss_Anon", 0) / 1024
            totals["pss_file_mb"] += fields.get("Pss_File", 0) / 1024
        return totals

    def worker_pids(self) -> list[int]:
        return _tree(self.process.pid)

    def cpu_seconds(self) -> float:
        """CPU time (user and system) the server and its workers have used so far."""
        return sum(_cpu_seconds(pid) for pid in _tree(self.process.pid))

    def settle(self, timeout: float = 120.0) -> float:
        """Wait until the server is idle: below IDLE_CPU_SHARE of one core over a tenth of a
        second. The requests a throughput run leaves queued when wrk stops (up to 32, each
        maybe long) are still being answered; the next query measured at once would wait
        behind them. Returns the seconds waited."""
        started = time.perf_counter()
        used = self.cpu_seconds()
        while time.perf_counter() - started < timeout:
            time.sleep(IDLE_SAMPLE_SECONDS)
            now = self.cpu_seconds()
            if now - used < IDLE_CPU_SHARE * IDLE_SAMPLE_SECONDS:
                break
            used = now
        return time.perf_counter() - started

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    """A loopback port nothing listens on now (the OS's pick): benchmark runs of other
    worktrees on this machine can't be on it."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def start(
    name: str,
    command: list[str],
    port: int,
    ready_path: str,
    env: dict[str, str],
    timeout: float = 120,
) -> Server:
    """Start a server and wait until `ready_path` answers 200 (at most `timeout` seconds).

    A port that already answers is refused: the new server could not listen on it, and
    whatever holds it (another run's server, on another database) would be measured.
    """
    if listening(port):
        raise RuntimeError(
            f"port {port} is already in use (another benchmark's server?): {name} would "
            "not be the server measured; stop it or choose another port"
        )
    started = time.perf_counter()
    log = ROOT / "benchmarks" / "results" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=output, stderr=output, cwd=ROOT
        )
    base = f"http://{HOST}:{port}"
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-1500:]
            raise RuntimeError(f"{name} exited with {process.returncode}: {tail}")
        try:
            with urllib.request.urlopen(base + ready_path, timeout=2) as response:
                if response.status == 200:
                    return Server(name, process, base, time.perf_counter() - started)
        except OSError:  # not listening yet, or not ready (an index being built): 503
            time.sleep(0.02 if time.perf_counter() - started < 10 else 0.5)
    process.kill()
    raise RuntimeError(f"{name} did not answer {ready_path} within {timeout:.0f} s")


def get_json(url: str, timeout: float = 120) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def wrk(url: str, connections: int, seconds: float) -> dict[str, Any]:
    """A closed-loop wrk run: latency percentiles (ms), requests/s, and non-2xx/3xx answers."""
    threads = 1 if connections == 1 else 2
    command = [
        shutil.which("wrk") or "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "60s",
        "-s",
        str(WRK_SCRIPT),
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("{"))
    return json.loads(line)  # type: ignore[no-any-return]


def _tree(pid: int) -> list[int]:
    """pid and all its descendants."""
    pids = [pid]
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        pids += _tree(int(child))
    return pids


def _cpu_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:  # a worker that has just exited
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _smaps_rollup_kb(pid: int) -> dict[str, int]:
    """The kB fields of a process's /proc/PID/smaps_rollup (Rss, Pss, Pss_Anon, Pss_File...)."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value)
    return fields


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
