"""Helpers for end-to-end tests against a real server process: ports, waiting, skipping."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# Debian's chromium, driven by Playwright (never `playwright install`).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

# Titles of the seed articles (data/articles) that mention the Taliban; seed 001 has none.
SEED_TITLES = {
    "Putin Expresses Hope For Expansion Of Russia's Relations With Taliban",
    "Russia Moves to Establish “Full-Fledged” Relations with Taliban",
    "Putin says Taliban ‘our allies’ in fighting terrorism",
    "Putin Wants To Get Closer To The Taliban",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(ok: bool, reason: str) -> None:
    """Skip when something this machine lacks is missing; in CI that is a failure instead."""
    if ok:
        return
    if in_ci():
        pytest.fail(f"{reason} (CI=true: end-to-end tests must run, not skip)")
    pytest.skip(reason)


# Servers started by tests get ports below the kernel's ephemeral range, so that no client
# connection (which takes an ephemeral port) nor another process's bind(0) can take the port
# between free_port() and the server's bind. Each pytest-xdist worker draws from a block of
# its own, so two workers never hand out the same port.
LOW_PORT = 10_000
_PORTS = random.Random(os.urandom(16))


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def port_block() -> range:
    """The ports this process may hand out: its worker's share of LOW_PORT .. ephemeral."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(worker) if worker.isdigit() else 0
    size = (_ephemeral_low() - LOW_PORT) // max(workers, 1)
    start = LOW_PORT + index * size
    return range(start, start + size)


def free_port() -> int:
    """A loopback TCP port nothing uses right now, from this worker's block."""
    block = port_block()
    for _ in range(200):
        port = _PORTS.choice(block)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {block}")


def wait_until_serving(
    base_url: str, alive: Callable[[], bool], timeout: float, log: Callable[[], str]
) -> None:
    """Poll /healthz until it answers 200; fail early (with the server's log) if it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            pytest.fail(f"the server exited before serving:\n{log()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the server did not answer /healthz within {timeout:.0f} s:\n{log()}")


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM (uvicorn shuts down gracefully), then SIGKILL if it hangs."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Debian chromium through Playwright; skipped (failed in CI) without one."""
    require(CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    require(shutil.which("chromium") is not None, "chromium is not on PATH")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright is not installed (pip install -e '.[dev]')")
        raise
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
