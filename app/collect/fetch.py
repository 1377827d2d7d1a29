"""HTTP for the collector: timeouts, a body limit, redirects through robots.txt, conditional
requests, Retry-After, retries with backoff, all through the politeness gate."""

from __future__ import annotations

import email.utils
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from app.collect.metrics import CollectMetrics
from app.collect.polite import HostGate, RobotsAnswer, RobotsCache, Stopped
from app.collect.urls import host_key, normalise_url
from app.config import Settings
from app.net.addresses import RefusedTarget, check_url

MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_LASTING_STATUSES = frozenset({400, 401, 403, 404, 405, 406, 410, 451})
VERSION = "0.1.0"
ALLOW_PRIVATE = "NEWSDESK_COLLECT_ALLOW_PRIVATE=1"

__all__ = ["FetchError", "Fetched", "Fetcher", "Stopped"]


def user_agent(settings: Settings) -> str:
    """`Newsdesk/<version> (+<contact>)`: who is asking, and how to reach them."""
    contact = settings.collect_contact_url or "self-hosted news collector"
    return f"Newsdesk/{VERSION} (+{contact})"


@dataclass
class Fetched:
    """An answer: the URL it came from (after redirects), status, headers and body."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", "")).split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                return str(value).strip("\"' ").lower()
        return None


class FetchError(Exception):
    """A fetch that gave no usable answer, and why (the status, when there was one)."""

    def __init__(
        self,
        reason: str,
        status: int | None = None,
        retry_after: float | None = None,
        *,
        lasting: bool | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason, self.status, self.retry_after = reason, status, retry_after
        # Whether asking again would fail the same way (a 404, a body over the limit).
        self.lasting = lasting if lasting is not None else status in _LASTING_STATUSES


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) as seconds from now, None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Fetcher:
    """One HTTP client for a collection run, shared by its threads."""

    def __init__(
        self,
        settings: Settings,
        stop: threading.Event | None = None,
        metrics: CollectMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics or CollectMetrics()
        self.stop = stop or threading.Event()
        timeout = httpx.Timeout(
            settings.collect_read_timeout_seconds, connect=settings.collect_connect_timeout_seconds
        )
        self.client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": user_agent(settings)},
            limits=httpx.Limits(max_connections=settings.collect_concurrency * 2),
        )
        self.gate = HostGate(
            settings.collect_host_delay_seconds, self.stop, on_wait=self.metrics.politeness_wait.inc
        )
        self.robots = RobotsCache(self._read_robots, settings.collect_robots_cache_seconds)
        self.slots = threading.BoundedSemaphore(settings.collect_concurrency)

    def close(self) -> None:
        self.client.close()

    def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Fetched:
        """GET the URL, following at most 5 redirects, each hop allowed by its robots.txt.

        A 304 (the ETag or Last-Modified still holds) comes back with an empty body; other
        statuses of 400 and over raise FetchError, as do timeouts, a body over the limit
        and a redirect loop. Each hop's host must resolve to public addresses only, unless
        NEWSDESK_COLLECT_ALLOW_PRIVATE is set (cloud metadata addresses never): a feed, a page
        or a redirect can't point the collector into its own network.
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                check_url(
                    url, allow_private=self.settings.collect_allow_private, allowed_by=ALLOW_PRIVATE
                )
            except RefusedTarget as refused:
                raise FetchError(f"not fetched: {refused}", lasting=True) from None
            rules = self.robots.rules(host_key(url))
            if not rules.allowed(url):
                raise FetchError(f"disallowed by {host_key(url)}/robots.txt: not requested")
            fetched = self._get_retrying(url, headers, rules.crawl_delay())
            location = fetched.headers.get("location")
            if fetched.status not in _REDIRECTS or not location:
                return fetched
            target = normalise_url(location, base=url)
            if target is None:
                raise FetchError(f"redirected to a non-web address: {location[:200]}")
            url = target
        raise FetchError(f"more than {MAX_REDIRECTS} redirects (a redirect loop?)")

    def _get_retrying(self, url: str, headers: dict[str, str], crawl_delay: float) -> Fetched:
        """One URL: a 429/503 waits its Retry-After; 5xx and timeouts retry with backoff."""
        settings = self.settings
        backoff = settings.collect_retry_backoff_seconds
        for attempt in range(settings.collect_retries + 1):
            last_try = attempt == settings.collect_retries
            try:
                fetched = self._request(url, headers, crawl_delay)
            except httpx.TimeoutException:
                self.metrics.fetches.labels("timeout").inc()
                error = FetchError(
                    f"timed out (limits: connect {settings.collect_connect_timeout_seconds:g} s, "
                    f"read {settings.collect_read_timeout_seconds:g} s)"
                )
            except httpx.TransportError as exc:
                self.metrics.fetches.labels("error").inc()
                error = FetchError(f"connection failed: {exc or type(exc).__name__}")
            else:
                self.metrics.fetches.labels(str(fetched.status)).inc()
                if fetched.status < 400 or fetched.status == 304:
                    return fetched
                wait = retry_after_seconds(fetched.headers.get("retry-after"))
                if fetched.status in (429, 503) and wait is not None:
                    if wait > settings.collect_max_retry_after_seconds or last_try:
                        raise FetchError(
                            f"HTTP {fetched.status}: asked to retry after {wait:g} s",
                            fetched.status,
                            retry_after=wait,
                        )
                    self.gate.hold_off(host_key(url), wait)
                    continue
                error = FetchError(f"HTTP {fetched.status}", fetched.status)
                if fetched.status < 500:
                    raise error
            if last_try:
                raise error
            if self.stop.wait(backoff * 2**attempt):
                raise Stopped
        raise AssertionError("unreachable")

    def _request(self, url: str, headers: dict[str, str], crawl_delay: float) -> Fetched:
        """One request in the host's turn and a global slot; the body read up to the limit."""
        limit = self.settings.max_file_bytes
        if self.stop.is_set():
            raise Stopped
        with (
            self.gate.turn(host_key(url), crawl_delay),
            self.slots,
            self.client.stream("GET", url, headers=headers) as response,
        ):
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _too_large(limit, int(declared))
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit, None)
                chunks.append(chunk)
            return Fetched(url, response.status_code, response.headers, b"".join(chunks))

    def _read_robots(self, robots_url: str) -> RobotsAnswer:
        """/robots.txt in the host's turn (redirects followed, as RFC 9309 allows)."""
        try:
            with self.gate.turn(host_key(robots_url)), self.slots:
                response = self.client.get(robots_url, follow_redirects=True)
        except httpx.HTTPError:
            self.metrics.fetches.labels("error").inc()
            return None
        self.metrics.fetches.labels(str(response.status_code)).inc()
        return response.status_code, response.content[:500_000]


def _too_large(limit: int, declared: int | None) -> FetchError:
    size = f" ({declared:,} bytes declared)" if declared else ""
    return FetchError(
        f"body over the {limit:,}-byte limit{size}: cut there, not used", lasting=True
    )
