"""Prometheus counters of a collector process: fetches by status, articles collected, the
time spent waiting on politeness and extracting. `newsdesk collect --watch` serves them on
NEWSDESK_COLLECT_METRICS_PORT when it is set."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, start_http_server


class CollectMetrics:
    """The collector's series (its own registry, apart from the API's)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.fetches = Counter(
            "newsdesk_collect_fetches",
            "HTTP requests the collector made, by status (timeout and error: no answer).",
            ["status"],
            registry=self.registry,
        )
        self.articles = Counter(
            "newsdesk_collect_articles",
            "Articles the collector added.",
            registry=self.registry,
        )
        self.politeness_wait = Counter(
            "newsdesk_collect_politeness_wait_seconds",
            "Time requests waited for their host's turn (delays, Crawl-delay, Retry-After).",
            registry=self.registry,
        )

        self.extract_seconds = Counter(
            "newsdesk_collect_extract_seconds",
            "Time spent reading fetched pages into articles (extraction, dates), summed over "
            "the collector's threads.",
            registry=self.registry,
        )

    def serve(self, host: str, port: int) -> None:
        """Answer GET /metrics on host:port from a background thread."""
        start_http_server(port, addr=host, registry=self.registry)
