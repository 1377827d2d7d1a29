"""/timeline: gap-filled counts per day, ISO week or month, optionally split by source/entity."""

from __future__ import annotations

import itertools
import shutil
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import Settings
from app.models import Article, ArticleEntity
from tests.helpers import TEST_DATA, ingest_paths

Params = list[tuple[str, str]]


def timeline(client: TestClient, params: Params) -> dict[str, Any]:
    response = client.get("/timeline", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def total(client: TestClient, params: Params) -> int:
    return int(client.get("/articles", params=[*params, ("limit", "1")]).json()["total"])


def nonzero(body: dict[str, Any]) -> dict[str, int]:
    return {p: c for p, c in zip(body["periods"], body["counts"], strict=True) if c}


def test_monthly_timeline_of_the_seeds_is_gap_filled(client: TestClient) -> None:
    body = timeline(client, [("interval", "month")])
    assert body["periods"] == [f"2024-{m:02d}" for m in range(4, 12)]
    assert body["counts"] == [1, 1, 0, 0, 0, 0, 0, 1]
    assert body["undated"] == 2
    assert body["total"] == 5 == total(client, [])
    assert body["series"] is None and body["other"] is None


def test_daily_timeline_has_every_day_from_first_to_last(client: TestClient) -> None:
    body = timeline(client, [])  # interval=day is the default
    first, last = date(2024, 4, 18), date(2024, 11, 28)
    assert len(body["periods"]) == (last - first).days + 1
    assert body["periods"][0] == first.isoformat() and body["periods"][-1] == last.isoformat()
    assert body["periods"][1] == (first + timedelta(days=1)).isoformat()
    assert nonzero(body) == {"2024-04-18": 1, "2024-05-29": 1, "2024-11-28": 1}
    assert body["counts"].count(0) == len(body["periods"]) - 3


def test_weeks_are_iso_weeks_keyed_by_their_monday(client: TestClient) -> None:
    body = timeline(client, [("interval", "week")])
    # 2024-04-18 is a Thursday, 2024-05-29 a Wednesday, 2024-11-28 a Thursday.
    assert nonzero(body) == {"2024-04-15": 1, "2024-05-27": 1, "2024-11-25": 1}
    days = [date.fromisoformat(p) for p in body["periods"]]
    assert all(day.weekday() == 0 for day in days)
    assert all(b - a == timedelta(days=7) for a, b in itertools.pairwise(days))


def test_from_and_to_set_the_range_and_every_filter_applies(client: TestClient) -> None:
    params: Params = [("from", "2024-05-01"), ("to", "2024-05-31"), ("q", "Taliban")]
    body = timeline(client, params)
    assert len(body["periods"]) == 31
    assert nonzero(body) == {"2024-05-29": 1}
    assert body["undated"] == 0  # a date filter admits dated articles only
    assert sum(body["counts"]) == total(client, params)
    source = timeline(client, [("source", "Asia Times"), ("interval", "month")])
    assert nonzero(source) == {"2024-04": 1}
    assert source["periods"] == ["2024-04"]


def test_undated_matches_are_counted_apart(client: TestClient) -> None:
    body = timeline(client, [("source", "Amu TV")])
    assert (body["periods"], body["counts"], body["undated"], body["total"]) == ([], [], 1, 1)


def test_no_matches_is_an_empty_timeline(client: TestClient) -> None:
    body = timeline(client, [("q", "xylophonequartet"), ("by", "source")])
    assert (body["periods"], body["total"], body["series"], body["other"]) == ([], 0, [], [])


def test_split_by_source_gives_a_series_per_source(client: TestClient) -> None:
    body = timeline(client, [("interval", "month"), ("by", "source")])
    series = {s["value"]: s for s in body["series"]}
    assert set(series) == {"Asia Times", "The Khorasan Diary", "Afghanistan International"}
    assert series["Asia Times"]["counts"] == [1, 0, 0, 0, 0, 0, 0, 0]
    assert all(s["total"] == sum(s["counts"]) == 1 for s in body["series"])
    assert body["other"] == [0] * 8
    small = timeline(client, [("interval", "month"), ("by", "source"), ("series_size", "1")])
    assert len(small["series"]) == 1
    for i, count in enumerate(small["counts"]):
        assert small["series"][0]["counts"][i] + small["other"][i] == count


def test_split_by_entity_matches_a_timeline_filtered_on_each_entity(client: TestClient) -> None:
    body = timeline(client, [("interval", "month"), ("by", "entity"), ("series_size", "3")])
    assert len(body["series"]) == 3
    for series in body["series"]:
        alone = timeline(
            client,
            [
                ("interval", "month"),
                ("entity", str(series["id"])),
                ("from", "2024-04-01"),
                ("to", "2024-11-30"),
            ],
        )
        assert series["counts"] == alone["counts"], series["value"]
    # Every dated seed names the three biggest entities: no article is left for `other`.
    assert body["other"] == [0] * len(body["periods"])


def test_other_counts_the_articles_in_no_listed_entity_series(
    client: TestClient, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """`other` per period is the number of dated articles naming none of the listed entities,
    counted here from the tables. The floods report (April, Amu TV) names none of the
    entities every seed names, so April's `other` is not 0."""
    for name in ("en_amu_floods.txt", "en_amu_floods.json"):  # the report and its sidecar
        shutil.copyfile(TEST_DATA / "languages" / name, tmp_path / name)
    assert ingest_paths(settings, tmp_path).added == 1  # type: ignore[attr-defined]
    body = timeline(client, [("interval", "month"), ("by", "entity"), ("series_size", "3")])
    listed = {series["id"] for series in body["series"]}
    with Session(engine) as session:
        dated = session.execute(
            select(Article.id, Article.published_at).where(Article.published_at.is_not(None))
        ).all()
        naming = set(
            session.execute(
                select(ArticleEntity.article_id).where(ArticleEntity.entity_id.in_(listed))
            ).scalars()
        )
    other = Counter(f"{at:%Y-%m}" for article_id, at in dated if article_id not in naming)
    assert body["other"] == [other[period] for period in body["periods"]]
    assert other["2024-04"] == 1 and sum(body["other"]) == 1


def test_a_range_with_too_many_periods_is_refused(client: TestClient) -> None:
    params: Params = [("from", "1800-01-01"), ("to", "2024-12-31")]
    response = client.get("/timeline", params=[*params, ("interval", "day")])
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "range_too_large"
    assert "longer interval" in body["detail"]
    assert body["extra"]["max_periods"] == 10_000
    months = timeline(client, [*params, ("interval", "month")])
    assert len(months["periods"]) == 225 * 12
    assert sum(months["counts"]) == 3


@pytest.mark.parametrize(
    ("params", "status", "code", "detail"),
    [
        ([("interval", "year")], 422, "invalid_parameter", "interval: Input should be 'day'"),
        ([("by", "author")], 422, "invalid_parameter", "by: Input should be 'source'"),
        ([("series_size", "0")], 422, "invalid_parameter", "series_size: Input should be"),
        (
            [("from", "0001-01-01"), ("to", "9999-12-30"), ("interval", "week")],
            400,
            "range_too_large",
            "0001-01-01 to 9999-12-30 is 521,723 weeks",
        ),
    ],
    ids=["interval", "by", "series_size", "range"],
)
def test_bad_parameters_are_clear_errors(
    client: TestClient, params: Params, status: int, code: str, detail: str
) -> None:
    """A parameter of the wrong form is a 422 naming it; a well-formed range of too many
    periods is a 400 that says how many and how to ask instead."""
    response = client.get("/timeline", params=params)
    body = response.json()
    assert (response.status_code, body["code"]) == (status, code)
    assert body["detail"].startswith(detail)


@pytest.mark.parametrize(
    ("params", "first", "last"),
    [
        ([("from", "0001-01-01"), ("to", "0001-12-31")], "0001-01-01", "0001-12-31"),
        (
            [("from", "9999-12-01"), ("to", "9999-12-30"), ("interval", "week")],
            "9999-11-29",
            "9999-12-27",
        ),
        (
            [("from", "9990-01-01"), ("to", "9999-12-30"), ("interval", "month")],
            "9990-01",
            "9999-12",
        ),
    ],
)
def test_the_ends_of_the_calendar_work(
    client: TestClient, params: Params, first: str, last: str
) -> None:
    body = timeline(client, params)
    assert (body["periods"][0], body["periods"][-1]) == (first, last)
    assert sum(body["counts"]) == 0


@pytest.mark.corpus
def test_bbc_timeline_counts_the_undated_corpus(bbc_client: TestClient) -> None:
    body = timeline(bbc_client, [("tag", "sport"), ("interval", "month"), ("by", "entity")])
    assert body["total"] == body["undated"] == total(bbc_client, [("tag", "sport")]) > 400
    assert body["periods"] == [] and body["series"] == []
    everything = timeline(bbc_client, [("interval", "week")])
    assert everything["total"] == everything["undated"] == total(bbc_client, []) > 2000
    # With from/to the range is laid out even though no BBC article has a date.
    ranged = timeline(
        bbc_client, [("from", "2004-01-01"), ("to", "2005-12-31"), ("interval", "month")]
    )
    assert len(ranged["periods"]) == 24 and ranged["total"] == 0


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ([], "2024-04-18 to 2024-11-28 is 8 months"),
        ([("from", "2024-05-02")], "2024-05-02 to 2024-11-28 is 7 months"),
        ([("to", "2024-10-30")], "2024-04-18 to 2024-10-30 is 7 months"),
    ],
    ids=["matches", "from", "to"],
)
def test_too_many_months_are_refused_naming_the_first_and_last_day(
    client: TestClient, settings: Settings, params: Params, detail: str
) -> None:
    """The index counts months by number, not by day: the refusal still names the days."""
    settings.timeline_max_periods = 6
    response = client.get("/timeline", params=[*params, ("interval", "month")])
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{detail}; one timeline holds at most 6")
