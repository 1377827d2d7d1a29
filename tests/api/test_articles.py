"""/articles and /articles/{id} against the five ingested seed articles."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.gold import seeds_naming


def seed_numbers(page: dict, seed_ids: dict[str, int]) -> set[str]:
    by_id = {article_id: number for number, article_id in seed_ids.items()}
    return {by_id[item["id"]] for item in page["items"]}


def test_without_filters_lists_all_seeds_newest_first(
    client: TestClient, seed_ids: dict[str, int]
) -> None:
    page = client.get("/articles").json()
    assert page["total"] == 5
    assert seed_numbers(page, seed_ids) == {"000", "001", "002", "003", "004"}
    dates = [item["published_at"] for item in page["items"] if item["published_at"]]
    assert dates == sorted(dates, reverse=True)
    # Undated articles come after dated ones.
    flags = [item["published_at"] is None for item in page["items"]]
    assert flags == sorted(flags)


def test_word_search_finds_only_the_article_that_names_medvedev(
    client: TestClient, seed_ids: dict[str, int]
) -> None:
    page = client.get("/articles", params={"q": "Medvedev"}).json()
    assert seed_numbers(page, seed_ids) == {"002"}
    assert page["total"] == 1
    assert "<mark>Medvedev</mark>" in page["items"][0]["snippet"]


def test_phrase_search_matches_the_exact_phrase_only(
    client: TestClient, seed_ids: dict[str, int]
) -> None:
    page = client.get("/articles", params={"q": '"Belt and Road"'}).json()
    assert seed_numbers(page, seed_ids) == {"001"}
    # The same words, not as a phrase, match wherever all three occur.
    loose = client.get("/articles", params={"q": "belt road"}).json()
    assert "001" in seed_numbers(loose, seed_ids)


def test_search_is_accent_and_case_insensitive(
    client: TestClient, seed_ids: dict[str, int]
) -> None:
    page = client.get("/articles", params={"q": "MÉDVEDEV"}).json()
    assert seed_numbers(page, seed_ids) == {"002"}


def test_source_filter_by_name_and_by_id(client: TestClient, seed_ids: dict[str, int]) -> None:
    page = client.get("/articles", params={"source": "The Khorasan Diary"}).json()
    assert seed_numbers(page, seed_ids) == {"002"}
    source_id = page["items"][0]["source"]["id"]
    by_id = client.get("/articles", params={"source": str(source_id)}).json()
    assert seed_numbers(by_id, seed_ids) == {"002"}
    several = client.get(
        "/articles", params=[("source", "the khorasan diary"), ("source", "Asia Times")]
    ).json()
    assert seed_numbers(several, seed_ids) == {"002", "004"}


def test_unknown_source_is_a_404_with_suggestions(client: TestClient) -> None:
    response = client.get("/articles", params={"source": "Khorasan Diary"})
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "unknown_source"
    assert "The Khorasan Diary" in body["extra"]["suggestions"]


def test_date_range_is_inclusive_of_whole_days(
    client: TestClient, seed_ids: dict[str, int]
) -> None:
    page = client.get("/articles", params={"from": "2024-05-01", "to": "2024-06-30"}).json()
    assert seed_numbers(page, seed_ids) == {"002"}
    same_day = client.get("/articles", params={"from": "2024-05-29", "to": "2024-05-29"}).json()
    assert seed_numbers(same_day, seed_ids) == {"002"}


@pytest.mark.parametrize("bad", ["yesterday", "2024-13-01", "29/05/2024"])
def test_a_bad_date_is_a_422_that_names_the_parameter(client: TestClient, bad: str) -> None:
    response = client.get("/articles", params={"from": bad})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_parameter"
    assert body["detail"].startswith("from")


def test_entity_filter_by_canonical_name(client: TestClient, seed_ids: dict[str, int]) -> None:
    page = client.get("/articles", params={"entity": "Dmitry Medvedev"}).json()
    assert seed_numbers(page, seed_ids) == seeds_naming("Dmitry Medvedev") == {"002"}


def test_entity_filter_accepts_any_alias_in_any_case(
    client: TestClient, seed_ids: dict[str, int]
) -> None:
    # The CSTO is named in two seeds, spelled two ways: every name finds both and only both.
    expected = seeds_naming("Collective Security Treaty Organization")
    assert 0 < len(expected) < len(seed_ids)
    names = (
        "CSTO",
        "csto",
        "Collective Security Treaty Organisation",
        "collective security treaty organization",
        "The Collective Security Treaty Organisation",
    )
    for name in names:
        page = client.get("/articles", params={"entity": name}).json()
        assert (seed_numbers(page, seed_ids), page["total"]) == (expected, len(expected)), name


def test_repeated_entity_means_all_of_them(client: TestClient, seed_ids: dict[str, int]) -> None:
    shoigu, kremlin = seeds_naming("Sergei Shoigu"), seeds_naming("Kremlin")
    # Each names two seeds, one of them the same: all of them is one seed, any of them three.
    assert len(shoigu & kremlin) == 1 and len(shoigu | kremlin) == 3
    both = client.get(
        "/articles", params=[("entity", "Sergei Shoigu"), ("entity", "Kremlin")]
    ).json()
    assert seed_numbers(both, seed_ids) == shoigu & kremlin
    either = client.get(
        "/articles", params=[("entity_any", "Sergey Shoigu"), ("entity_any", "kremlin")]
    ).json()
    assert seed_numbers(either, seed_ids) == shoigu | kremlin
    assert either["total"] == 3
    # Putin is in every seed: with him, all of them is the other entity's seeds.
    with_putin = client.get(
        "/articles", params=[("entity", "Vladimir Putin"), ("entity", "Donald Trump")]
    ).json()
    assert seed_numbers(with_putin, seed_ids) == seeds_naming("Donald Trump")


def test_unknown_entity_is_a_404_with_close_matches(client: TestClient) -> None:
    response = client.get("/articles", params={"entity": "Medvedv"})
    assert response.status_code == 404
    assert "Dmitry Medvedev" in response.json()["extra"]["suggestions"]


@pytest.mark.parametrize("sort", ["-published_at", "published_at", "relevance"])
@pytest.mark.parametrize("limit", [1, 2, 3])
def test_cursor_walks_every_article_exactly_once(
    client: TestClient, seed_ids: dict[str, int], sort: str, limit: int
) -> None:
    params: dict[str, str | int] = {"limit": limit, "sort": sort}
    if sort == "relevance":
        params["q"] = "Taliban OR Russia"
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        page = client.get("/articles", params={**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["total"] == 5
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(seed_ids.values())


def test_relevance_order_is_by_descending_score(client: TestClient) -> None:
    items = client.get("/articles", params={"q": "Taliban"}).json()["items"]
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
    assert len(items) == 5


def test_a_cursor_from_another_query_is_refused(client: TestClient) -> None:
    cursor = client.get("/articles", params={"limit": 1}).json()["next_cursor"]
    response = client.get("/articles", params={"limit": 1, "q": "Taliban", "cursor": cursor})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"
    garbage = client.get("/articles", params={"cursor": "not-a-cursor"})
    assert garbage.status_code == 400


def test_article_detail_has_body_entities_and_provenance(
    client: TestClient, seed_ids: dict[str, int]
) -> None:
    article = client.get(f"/articles/{seed_ids['002']}").json()
    assert article["source"]["name"] == "The Khorasan Diary"
    assert article["published_at"].startswith("2024-05-29")
    assert article["provenance"]["published_at"] == "sidecar"
    assert "Medvedev" in article["body"]
    assert "Load Next Story" not in article["body"]
    names = {entity["name"]: entity for entity in article["entities"]}
    assert names["Dmitry Medvedev"]["type"] == "person"
    assert names["Dmitry Medvedev"]["mentions"] >= 3
    assert article["origins"][0].endswith("002_d783a21d6da850c6.txt")


def test_unknown_article_is_a_json_404(client: TestClient) -> None:
    response = client.get("/articles/999999")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_limit_bounds_are_enforced(client: TestClient) -> None:
    assert client.get("/articles", params={"limit": 0}).status_code == 422
    assert client.get("/articles", params={"limit": 101}).status_code == 422
    assert len(client.get("/articles", params={"limit": 100}).json()["items"]) == 5


NASTY_QUERIES = [
    '"',
    '"unbalanced phrase',
    "(",
    ")",
    "((Taliban)",
    "Taliban)",
    "*",
    "-",
    "--Taliban",
    "-Taliban",
    "NOT",
    "NOT Taliban",
    "Taliban NOT",
    "OR",
    "Taliban OR",
    "AND AND",
    "NEAR(Taliban Russia)",
    "NEAR",
    "title:Taliban",
    "body:",
    ":",
    "^Taliban",
    "Taliban*",
    "***",
    "' OR 1=1 --",
    "Robert'); DROP TABLE article;--",
    "{title}: Putin",
    "\x00",
    "🙂 Taliban",
    "U.S.",
    "IS-K",
    "x" * 2000,
    "Taliban " * 300,
    "a" + "(" * 500,
]


@pytest.mark.parametrize("q", NASTY_QUERIES)
def test_hostile_queries_get_results_or_a_clear_400(
    client: TestClient, seed_ids: dict[str, int], q: str
) -> None:
    response = client.get("/articles", params={"q": q, "limit": 100})
    body = response.json()
    if "\x00" in q:  # control characters are refused before any search (issue 12)
        assert (response.status_code, body["code"]) == (422, "invalid_parameter")
        return
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        # One page holds every match: the total counts exactly the seeds listed, each once.
        ids = [item["id"] for item in body["items"]]
        assert len(set(ids)) == len(ids) == body["total"]
        assert set(ids) <= set(seed_ids.values()) and body["next_cursor"] is None
    else:
        assert body["code"] in {"invalid_query", "query_too_long"}
        assert body["detail"]


@pytest.mark.parametrize("bound", ["0001-01-01", "9999-12-31"])
def test_calendar_edges_are_valid_dates_not_errors(client: TestClient, bound: str) -> None:
    response = client.get("/articles", params={"from": "0001-01-01", "to": bound})
    assert response.status_code == 200, response.text
    # Two seeds have no date, and a date range only admits dated articles.
    assert response.json()["total"] == (3 if bound == "9999-12-31" else 0)


def test_each_item_lists_its_five_most_mentioned_entities_ties_by_name_then_id(
    client: TestClient, engine: Engine
) -> None:
    with engine.begin() as connection:
        # Ties on every count: each article's links get one of two counts.
        connection.execute(text("UPDATE article_entity SET mentions = 1 + entity_id % 2"))
        rows = connection.execute(
            text(
                "SELECT ae.article_id, e.id, e.name, e.type, ae.mentions FROM article_entity ae "
                "JOIN entity e ON e.id = ae.entity_id"
            )
        ).all()
    expected: dict[int, list[tuple[int, str, str, int]]] = {}
    for article_id, *entity in sorted(
        rows, key=lambda r: (r.article_id, -r.mentions, r.name, r.id)
    ):
        expected.setdefault(article_id, []).append(tuple(entity))  # type: ignore[arg-type]
    items = client.get("/articles", params={"limit": 100}).json()["items"]
    assert len(items) == 5
    for item in items:
        found = [(e["id"], e["name"], e["type"], e["mentions"]) for e in item["entities"]]
        assert found == expected.get(item["id"], [])[:5], item["id"]
    assert max(len(entities) for entities in expected.values()) > 5
