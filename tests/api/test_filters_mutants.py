"""The shared listing filters over HTTP (app/api/filters.py), where the mutation check found
them unpinned: each parameter must narrow /articles to what it means on articles that differ
in it (tests/filter_world.py), dates read in UTC with inclusive ends, and bad values get
the documented error. The seed articles could not tell: every one is English, untagged and
mentions Putin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.filters import in_utc
from app.config import Settings
from tests.clients import make_client
from tests.filter_world import ROWS, World, build_world, expected
from tests.helpers import settings_for


@pytest.fixture
def world(empty_db: str, backend: str) -> Iterator[World]:
    world = build_world(empty_db, backend)
    yield world
    world.engine.dispose()


@pytest.fixture
def settings(world: World) -> Settings:
    return settings_for(str(world.engine.url))


@pytest.fixture
def client(world: World, settings: Settings) -> Iterator[TestClient]:
    with make_client(settings, world.engine) as test_client:
        yield test_client


def names(client: TestClient, world: World, **params: Any) -> list[str]:
    response = client.get("/articles", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    page = response.json()
    by_id = {article_id: name for name, article_id in world.ids.items()}
    found = sorted(by_id[item["id"]] for item in page["items"])
    assert page["total"] == len(found)
    return found


def error(client: TestClient, **params: Any) -> tuple[int, str, str]:
    response = client.get("/articles", params=params)
    body = response.json()
    return response.status_code, body["code"], body["detail"]


EVERY = expected(lambda row: True)


def test_no_filter_lists_every_article(client: TestClient, world: World) -> None:
    assert names(client, world) == EVERY
    # A q of spaces is no query at all, not a syntax error.
    assert names(client, world, q="   ") == EVERY


def test_text_query_and_where_it_must_match(client: TestClient, world: World) -> None:
    assert names(client, world, q="markets") == ["a1"]
    assert names(client, world, q="article") == EVERY
    assert names(client, world, q="article", search_in="title") == EVERY
    assert names(client, world, q="article", search_in="body") == []


def test_sources_by_name_and_id(client: TestClient, world: World) -> None:
    assert names(client, world, source="Khorasan") == ["a1", "a4"]
    wire = str(world.source_ids["wire"])
    assert names(client, world, source=["khorasan", wire]) == ["a1", "a2", "a4", "a7"]


def test_dates_are_whole_days_in_utc(client: TestClient, world: World) -> None:
    assert names(client, world, **{"from": "2024-05-01", "to": "2024-05-01"}) == ["a1", "a2"]
    assert names(client, world, **{"from": "2024-05-02"}) == ["a4", "a6", "a7"]
    assert names(client, world, to="2024-04-30") == ["a5"]
    # A naive date-time is UTC; one with a zone is converted.
    assert names(client, world, to="2024-04-30T23:59:59") == ["a5"]
    assert names(client, world, to="2024-04-30T23:59:58") == []
    assert names(client, world, to="2024-05-01T01:59:59+02:00") == ["a5"]
    assert names(client, world, to="2024-05-01T02:00:00+02:00") == ["a1", "a5"]


def test_from_equal_to_to_is_one_moment(client: TestClient, world: World) -> None:
    moment = "2024-05-01T23:59:59.999999Z"
    assert names(client, world, **{"from": moment, "to": moment}) == ["a2"]


def test_a_date_time_at_midnight_is_a_moment_not_a_whole_day(
    client: TestClient, world: World
) -> None:
    # Read as the date 2024-05-01 (the whole day in UTC) before read_moment.
    assert names(client, world, to="2024-05-01T00:00:00Z") == ["a1", "a5"]
    assert names(client, world, to="2024-05-01T00:00:00+02:00") == []
    assert names(client, world, **{"from": "2024-05-01T00:00:00-02:00", "to": "2024-05-01"}) == [
        "a2"
    ]


def test_moments_beyond_the_calendar_are_held_at_its_ends(client: TestClient, world: World) -> None:
    assert names(client, world, to="9999-12-31T23:59:59-14:00") == expected(
        lambda row: row.published is not None
    )
    assert names(client, world, **{"from": "0001-01-01T00:00:00+14:00"}) == expected(
        lambda row: row.published is not None
    )
    assert names(client, world, to="0001-01-01T00:00:00+14:00") == []


def test_from_later_than_to_is_refused(client: TestClient) -> None:
    assert error(client, **{"from": "2024-05-02", "to": "2024-05-01"}) == (
        422,
        "invalid_parameter",
        "from: must not be later than to",
    )


def test_entities_all_of_and_any_of(client: TestClient, world: World) -> None:
    putin, nato = (str(world.entity_ids[name]) for name in ("Putin", "NATO"))
    assert names(client, world, entity=putin) == ["a1", "a3"]
    assert names(client, world, entity=[putin, nato]) == ["a3"]
    assert names(client, world, entity_any=[putin, nato]) == ["a1", "a2", "a3"]
    kabul = str(world.entity_ids["Kabul"])
    assert names(client, world, entity=kabul, entity_any=[putin, nato]) == []
    assert names(client, world, entity=putin, entity_any=[nato]) == ["a3"]


def test_entity_types_languages_tags_duplicates(client: TestClient, world: World) -> None:
    assert names(client, world, entity_type="location") == ["a4"]
    assert names(client, world, entity_type=["person", "other"]) == ["a1", "a3", "a5"]
    assert names(client, world, language="FR") == ["a2"]
    assert names(client, world, language=["fr", "de"]) == ["a2", "a3"]
    assert names(client, world, tag="tech") == ["a1", "a4"]
    assert names(client, world, duplicates="exclude") == expected(
        lambda row: row.duplicate_of is None
    )
    assert names(client, world, duplicates="include") == EVERY
    assert len(ROWS) == len(EVERY)


def test_authors_are_whole_bylines_in_any_case(client: TestClient, world: World) -> None:
    assert names(client, world, author="jane doe") == ["a1", "a2"]
    assert names(client, world, author="ÉLISE DUPONT") == ["a4"]
    assert names(client, world, author=["Jane Doe-Smith", "élise dupont"]) == ["a4", "a6"]
    assert names(client, world, author="Jane") == []


def test_a_query_at_the_length_limit_is_read_and_one_past_it_is_refused(
    client: TestClient, world: World, settings: Settings
) -> None:
    limit = settings.max_query_length
    at_limit = ("markets " * limit)[: limit - 1] + "s"
    status = client.get("/articles", params={"q": at_limit}).status_code
    assert status != 400 or error(client, q=at_limit)[1] != "query_too_long"
    past = "m" * (limit + 1)
    assert error(client, q=past) == (
        400,
        "query_too_long",
        f"q is {limit + 1} characters; the limit is {limit}",
    )


def test_query_word_and_prefix_limits_come_from_the_settings(
    client: TestClient, settings: Settings
) -> None:
    too_many_words = " ".join(f"w{i}" for i in range(settings.max_query_words + 1))
    assert error(client, q=too_many_words)[:2] == (400, "invalid_query")
    too_many_prefixes = " ".join(f"p{i}*" for i in range(settings.max_query_prefixes + 1))
    assert error(client, q=too_many_prefixes)[:2] == (400, "invalid_query")


def test_iso_basic_format_date_times_are_moments_too(client: TestClient, world: World) -> None:
    assert names(client, world, to="20240501T00") == ["a1", "a5"]


@pytest.mark.usefixtures("far_east_local_zone")
def test_moments_are_converted_to_utc_not_to_the_servers_zone() -> None:
    moment = in_utc(datetime(2024, 5, 1, 2, tzinfo=timezone(timedelta(hours=2))))
    assert moment == datetime(2024, 5, 1, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(0)
    assert in_utc(datetime(2024, 5, 1)) == datetime(2024, 5, 1, tzinfo=UTC)


def test_query_limits_other_than_the_defaults_are_the_ones_applied(world: World) -> None:
    settings = settings_for(
        str(world.engine.url), max_query_length=2_000, max_query_words=3, max_query_prefixes=1
    )
    with make_client(settings, world.engine) as client:
        long_but_allowed = "markets " + "x" * 1_500
        assert client.get("/articles", params={"q": long_but_allowed}).status_code == 200
        assert names(client, world, q="report markets article") == ["a1"]
        assert error(client, q="report markets article region")[:2] == (400, "invalid_query")
        assert names(client, world, q="mark*") == ["a1"]
        assert error(client, q="mark* repo*")[:2] == (400, "invalid_query")
