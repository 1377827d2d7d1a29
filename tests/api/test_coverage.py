"""Coverage analytics on the BBC corpus given a year of dates: shares, compared queries and
spikes against counts made here from the dates and sources the test gave each article.

Every engine ([sqlite] FTS5, [tantivy] the index, [postgresql]) answers the same requests;
the expected values never come from the code under test.
"""

from __future__ import annotations

import statistics
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.db import create_db_engine
from app.search.tantivy.sync import sync_search_index
from tests.clients import make_client
from tests.corpus_variety import source_for, spread_dates_and_sources
from tests.helpers import settings_for

YEAR_START = datetime(2024, 1, 1, tzinfo=UTC)
BURST = datetime(2024, 9, 16, 10, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def published_in_2024(article_id: int) -> datetime | None:
    """A day of 2024 (and an hour) from the id; one in ten undated; one in 37 on BURST."""
    if article_id % 10 == 0:
        return None
    if article_id % 37 == 5:
        return BURST
    return YEAR_START + timedelta(days=(article_id * 7919) % 366, hours=(article_id * 31) % 24)


class Year:
    """What the test gave each article (its date and source), and its tags as ingested."""

    def __init__(self, tags: dict[int, set[str]]) -> None:
        self.tags = tags
        self.dated = {i: d for i in tags if (d := published_in_2024(i)) is not None}

    def per_period(
        self, key: Callable[[date], str], keep: Callable[[int, datetime], bool]
    ) -> Counter[str]:
        return Counter(key(d.date()) for i, d in self.dated.items() if keep(i, d))


def month(day: date) -> str:
    return f"{day:%Y-%m}"


def week(day: date) -> str:
    return (day - timedelta(days=day.weekday())).isoformat()


@pytest.fixture
def year(bbc_db: str) -> Iterator[tuple[TestClient, Year]]:
    settings = settings_for(bbc_db)
    writer = create_db_engine(settings, writer=True)
    spread_dates_and_sources(writer, published_in_2024)
    sync_search_index(settings, writer)
    with writer.connect() as connection:
        tags: dict[int, set[str]] = {
            i: set() for i in connection.execute(text("SELECT id FROM article")).scalars()
        }
        for article_id, tag in connection.execute(text("SELECT article_id, tag FROM article_tag")):
            tags[article_id].add(tag)
    writer.dispose()
    engine = create_db_engine(settings)
    with make_client(settings, engine) as client:
        yield client, Year(tags)
    engine.dispose()


def get(client: TestClient, path: str, params: list[tuple[str, str]]) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.corpus
def test_share_divides_by_everything_the_source_published(
    year: tuple[TestClient, Year],
) -> None:
    """tag=sport&source=Reuters as a share: the denominator keeps the source, drops the tag."""
    client, data = year
    body = get(
        client,
        "/timeline",
        [("tag", "sport"), ("source", "Reuters"), ("interval", "month"), ("normalize", "share")],
    )
    reuters = data.per_period(month, lambda i, _: source_for(i) == "Reuters")
    sport = data.per_period(
        month, lambda i, _: source_for(i) == "Reuters" and "sport" in data.tags[i]
    )
    assert body["periods"] == [f"2024-{m:02d}" for m in range(1, 13)]
    assert body["counts"] == [sport[p] for p in body["periods"]]
    assert body["denominators"] == [reuters[p] for p in body["periods"]]
    assert body["shares"] == [sport[p] / reuters[p] for p in body["periods"]]
    assert min(body["shares"]) > 0 and max(body["shares"]) < 1
    assert body["normalize"] == "share" and body["spikes"] is None
    assert body["chart"].startswith("/timeline.svg?tag=sport&source=Reuters")


@pytest.mark.corpus
def test_compared_queries_share_one_weekly_axis(year: tuple[TestClient, Year]) -> None:
    """Three queries; one starts later (from=2024-03-01): its weeks before are zeros and
    its denominator counts only what was published from that day on."""
    client, data = year
    march = datetime(2024, 3, 1, tzinfo=UTC)
    queries = [
        ("sport", "tag=sport"),
        ("tech", "tag=tech&from=2024-03-01"),
        ("reuters-business", "source=Reuters&tag=business"),
        ("economy", "q=economy"),
    ]
    body = get(
        client,
        "/timeline/compare",
        [
            *(("query", f"{n}:{q}") for n, q in queries),
            ("interval", "week"),
            ("normalize", "share"),
        ],
    )
    last = max(data.dated.values()).date()
    weeks = [week(date(2024, 1, 1) + timedelta(days=7 * n)) for n in range(53)]
    assert body["periods"] == [w for w in weeks if w <= week(last)]
    expected = {
        "sport": (
            data.per_period(week, lambda i, _: "sport" in data.tags[i]),
            data.per_period(week, lambda i, _: True),
        ),
        "tech": (
            data.per_period(week, lambda i, d: "tech" in data.tags[i] and d >= march),
            data.per_period(week, lambda i, d: d >= march),
        ),
        "reuters-business": (
            data.per_period(
                week, lambda i, _: source_for(i) == "Reuters" and "business" in data.tags[i]
            ),
            data.per_period(week, lambda i, _: source_for(i) == "Reuters"),
        ),
    }
    found = {q["name"]: q for q in body["queries"]}
    assert [q["name"] for q in body["queries"]] == [n for n, _ in queries]
    for name, (counts, totals) in expected.items():
        assert found[name]["counts"] == [counts[p] for p in body["periods"]], name
        assert found[name]["denominators"] == [totals[p] for p in body["periods"]], name
        shares = [counts[p] / totals[p] if totals[p] else None for p in body["periods"]]
        assert found[name]["shares"] == shares, name
    assert found["tech"]["counts"][:8] == [0] * 8 and found["tech"]["shares"][0] is None
    # A text query is counted as /timeline counts it, laid over the shared axis.
    alone = get(client, "/timeline", [("q", "economy"), ("interval", "week")])
    by_week = dict(zip(alone["periods"], alone["counts"], strict=True))
    assert found["economy"]["counts"] == [by_week.get(p, 0) for p in body["periods"]]
    assert sum(found["economy"]["counts"]) > 20
    assert found["economy"]["denominators"] == found["sport"]["denominators"]


def expected_spikes(counts: list[int], window: int, threshold: float, least: int) -> list[bool]:
    flags = []
    for i, count in enumerate(counts):
        before = counts[i - window : i] if i >= window else None
        flags.append(
            before is not None
            and count >= least
            and count > statistics.mean(before) + threshold * statistics.pstdev(before)
        )
    return flags


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("rule", "window", "threshold", "least"),
    [
        ([], 28, 3.0, 5),
        ([("spike_window", "7"), ("spike_threshold", "1.5"), ("spike_min_count", "8")], 7, 1.5, 8),
    ],
    ids=["defaults", "custom"],
)
def test_spikes_are_counts_far_above_their_trailing_window(
    year: tuple[TestClient, Year],
    rule: list[tuple[str, str]],
    window: int,
    threshold: float,
    least: int,
) -> None:
    client, data = year
    body = get(client, "/timeline", [("spikes", "true"), *rule])
    per_day = data.per_period(lambda d: d.isoformat(), lambda i, _: True)
    assert body["counts"] == [per_day[p] for p in body["periods"]]
    flags = expected_spikes(body["counts"], window, threshold, least)
    assert body["spikes"] == flags
    assert body["spike_rule"] == {"window": window, "threshold": threshold, "min_count": least}
    assert flags[body["periods"].index(BURST.date().isoformat())]
    assert 0 < sum(flags) < 10
    compared = get(
        client,
        "/timeline/compare",
        [("query", "all:"), ("query", "sport:tag=sport"), ("spikes", "true"), *rule],
    )
    sport = data.per_period(lambda d: d.isoformat(), lambda i, _: "sport" in data.tags[i])
    sport_counts = [sport[p] for p in compared["periods"]]
    assert compared["queries"][0]["spikes"] == flags
    assert compared["queries"][1]["spikes"] == expected_spikes(
        sport_counts, window, threshold, least
    )


@pytest.mark.corpus
def test_the_charts_draw_one_line_per_series_and_mark_spikes(
    year: tuple[TestClient, Year],
) -> None:
    client, _ = year
    params = [("query", "sport:tag=sport"), ("query", "tech:tag=tech"), ("query", "all:")]
    body = get(client, "/timeline/compare", [*params, ("spikes", "true")])
    response = client.get(body["chart"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
    svg = ET.fromstring(response.text)
    lines = svg.findall(f"{SVG}path[@class='series']")
    assert [line.findtext(f"{SVG}title") for line in lines] == ["sport", "tech", "all"]
    marks = svg.findall(f"{SVG}circle[@class='spike']")
    assert len(marks) == sum(sum(q["spikes"]) for q in body["queries"]) > 0
    single = ET.fromstring(client.get("/timeline.svg", params=[("by", "source")]).text)
    assert len(single.findall(f"{SVG}path[@class='series']")) == 1 + 5  # all, five sources


@pytest.mark.parametrize(
    ("path", "params", "status", "code", "detail"),
    [
        ("/timeline/compare", [], 422, "invalid_parameter", "query: Field required"),
        ("/timeline/compare", [("query", "taliban")], 400, "invalid_query_name", "query 'taliban'"),
        ("/timeline/compare", [("query", "a b:q=x")], 400, "invalid_query_name", "query 'a b"),
        ("/timeline/compare", [("query", ":q=x")], 400, "invalid_query_name", "query ':q=x'"),
        (
            "/timeline/compare",
            [("query", "t:q=Taliban"), ("query", "t:q=ISKP")],
            400,
            "duplicate_query_name",
            "query name 't' is used twice",
        ),
        (
            "/timeline/compare",
            [("query", f"q{n}:q=Taliban") for n in range(11)],
            400,
            "too_many_queries",
            "11 queries; /timeline/compare takes at most 10",
        ),
        (
            "/timeline/compare",
            [("query", "t:sort=relevance")],
            400,
            "invalid_query",
            "query t: query.sort: Extra inputs",
        ),
        (
            "/timeline/compare",
            [("query", "t:from=May")],
            400,
            "invalid_query",
            "query t: query.from",
        ),
        ("/timeline/compare", [("query", "t:q=(Taliban")], 400, "invalid_query", "query t: q:"),
        ("/timeline/compare", [("query", "t:source=Nowhere")], 404, "unknown_source", "unknown"),
        (
            "/timeline/compare.svg",
            [("query", "t:q=x"), ("query", "t:q=y")],
            400,
            "duplicate_query_name",
            "query name",
        ),
        ("/timeline", [("normalize", "ratio")], 422, "invalid_parameter", "normalize:"),
        ("/timeline", [("spike_window", "1")], 422, "invalid_parameter", "spike_window:"),
        ("/timeline", [("spike_threshold", "-1")], 422, "invalid_parameter", "spike_threshold:"),
        ("/timeline.svg", [("spike_min_count", "x")], 422, "invalid_parameter", "spike_min"),
        (
            "/timeline/compare",
            [("query", "a:from=1800-01-01"), ("query", "b:to=2024-12-31")],
            400,
            "range_too_large",
            "1800-01-01 to 2024",
        ),
    ],
)
def test_malformed_coverage_requests_are_clear_errors(
    client: TestClient,
    path: str,
    params: list[tuple[str, str]],
    status: int,
    code: str,
    detail: str,
) -> None:
    response = client.get(path, params=params)
    body = response.json()
    assert (response.status_code, body["code"]) == (status, code), body
    assert body["detail"].startswith(detail), body["detail"]
