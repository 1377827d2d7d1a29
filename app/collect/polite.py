"""Politeness: one request at a time per host with a least delay between them, and robots.txt.

Both are kept per process (a `newsdesk collect` run or a `--watch` loop): a new run reads
robots.txt again, which is what a site owner who just changed it expects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from protego import Protego

# The product token robots.txt groups are matched against (case-insensitive).
ROBOTS_AGENT = "Newsdesk"


class Stopped(Exception):
    """The collector was asked to stop while waiting its turn: nothing more is fetched."""


@dataclass
class _Host:
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_at: float = 0.0  # no request before (the least delay, a Retry-After)
    last_end: float = float("-inf")  # when the last request ended (for the Crawl-delay)


class HostGate:
    """Hands out turns per host: never two requests to one host at once, and at least
    `min_delay` (or the host's larger Crawl-delay) between the end of one and the next."""

    def __init__(
        self,
        min_delay: float,
        stop: threading.Event,
        clock: Callable[[], float] = time.monotonic,
        on_wait: Callable[[float], None] = lambda _seconds: None,
    ) -> None:
        self.min_delay, self.stop, self.clock, self.on_wait = min_delay, stop, clock, on_wait
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    def _host(self, host: str) -> _Host:
        with self._lock:
            return self._hosts.setdefault(host, _Host())

    @contextmanager
    def turn(self, host: str, crawl_delay: float = 0.0) -> Iterator[None]:
        """Wait for the host's turn (Stopped if asked to stop meanwhile), then hold it."""
        entry = self._host(host)
        with entry.lock:
            wait = max(entry.next_at, entry.last_end + crawl_delay) - self.clock()
            if wait > 0:
                self.on_wait(wait)
                if self.stop.wait(wait):
                    raise Stopped
            try:
                yield
            finally:
                entry.last_end = self.clock()
                entry.next_at = max(entry.next_at, entry.last_end + self.min_delay)

    def hold_off(self, host: str, seconds: float) -> None:
        """No request to the host for `seconds` from now (a Retry-After)."""
        entry = self._host(host)
        entry.next_at = max(entry.next_at, self.clock() + seconds)


@dataclass
class _Rules:
    parser: Protego | None  # None: everything allowed (no robots.txt) or nothing (unreachable)
    allow_all: bool
    expires: float

    def allowed(self, url: str) -> bool:
        if self.parser is None:
            return self.allow_all
        return bool(self.parser.can_fetch(url, ROBOTS_AGENT))

    def sitemaps(self) -> list[str]:
        """The robots.txt's `Sitemap:` URLs, as written."""
        return [] if self.parser is None else list(self.parser.sitemaps)

    def crawl_delay(self) -> float:
        if self.parser is None:
            return 0.0
        return float(self.parser.crawl_delay(ROBOTS_AGENT) or 0.0)


# What reading /robots.txt gave: its status and body, or None when the host did not answer.
RobotsAnswer = tuple[int, bytes] | None


class RobotsCache:
    """Each host's robots.txt, read once per `cache_seconds` (RFC 9309: 4xx allows
    everything; 5xx or no answer allows nothing until it is read again, a minute later)."""

    UNREACHABLE_RETRY_SECONDS = 60.0

    def __init__(
        self,
        read: Callable[[str], RobotsAnswer],
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read, self.cache_seconds, self.clock = read, cache_seconds, clock
        self._rules: dict[str, _Rules] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def rules(self, host: str) -> _Rules:
        with self._lock:
            lock = self._locks.setdefault(host, threading.Lock())
        with lock:
            cached = self._rules.get(host)
            if cached is not None and cached.expires > self.clock():
                return cached
            answer = self.read(f"{host}/robots.txt")
            now = self.clock()
            if answer is None or answer[0] >= 500:
                rules = _Rules(None, False, now + self.UNREACHABLE_RETRY_SECONDS)
            elif answer[0] >= 400:
                rules = _Rules(None, True, now + self.cache_seconds)
            else:
                text = answer[1].decode("utf-8", errors="replace")
                rules = _Rules(Protego.parse(text), True, now + self.cache_seconds)
            self._rules[host] = rules
            return rules
