"""/entities, /entities/{id}, /entities/{id}/articles and /articles?entity= on real data."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.keys import name_key


def entity_id(client: TestClient, name: str) -> int:
    page = client.get("/entities", params={"q": name, "limit": 100}).json()
    [found] = [item["id"] for item in page["items"] if item["name"] == name]
    return int(found)


def total(client: TestClient, params: Any) -> int:
    response = client.get("/articles", params=params)
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


def walk(client: TestClient, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of a paged listing, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def match_rank(item: dict[str, Any], aliases: list[str], q: str) -> int:
    keys = [name_key(a) for a in [item["name"], *aliases]]
    key = name_key(q)
    if key in keys:
        return 0
    if any(k.startswith(key) or f" {key}" in k for k in keys):
        return 1
    return 2


def test_q_matches_names_and_aliases_prefix_and_substring(client: TestClient) -> None:
    items = walk(client, "/entities", {"q": "ta", "sort": "name", "limit": 3})
    names = [item["name"] for item in items]
    assert names[:5] == ["Tajik", "Tajikistan", "Taliban", "Tashkent", "TASS"]
    assert {"Afghanistan", "Astana", "United States"} <= set(names[5:])
    ranks = []
    for item in items:
        aliases = client.get(f"/entities/{item['id']}").json()["aliases"]
        assert any("ta" in name_key(a) for a in aliases)
        ranks.append(match_rank(item, aliases, "ta"))
    assert ranks == sorted(ranks) and {1, 2} <= set(ranks)  # word prefixes, then substrings
    for rank in (1, 2):
        ranked = [n.lower() for n, r in zip(names, ranks, strict=True) if r == rank]
        assert ranked == sorted(ranked)


def test_an_exact_alias_comes_first_whatever_the_counts(client: TestClient) -> None:
    first = client.get("/entities", params={"q": "us"}).json()["items"][0]
    assert first["name"] == "United States"  # before Russia, which more articles mention


def test_q_ignores_case_and_accents_and_matches_aliases(client: TestClient) -> None:
    for q in ("SHOÏGU", "sergey sho", "Mr. Putin", "cstó"):
        page = client.get("/entities", params={"q": q}).json()
        assert page["total"] == 1, (q, page)
    odd = client.get("/entities", params={"q": "%_\\'\""})
    assert odd.status_code == 200 and odd.json()["total"] == 0


def test_min_articles_and_type_filters(client: TestClient) -> None:
    everything = walk(client, "/entities", {"limit": 100})
    frequent = walk(client, "/entities", {"min_articles": 3, "type": "location", "limit": 100})
    expected = [e for e in everything if e["article_count"] >= 3 and e["type"] == "location"]
    assert frequent == expected
    assert {"Russia", "Afghanistan", "Moscow"} <= {e["name"] for e in frequent}


@pytest.mark.parametrize("sort", ["articles", "name"])
def test_paging_with_q_visits_each_match_once(client: TestClient, sort: str) -> None:
    whole = client.get("/entities", params={"q": "a", "sort": sort, "limit": 100}).json()
    paged = walk(client, "/entities", {"q": "a", "sort": sort, "limit": 4})
    assert [e["id"] for e in paged] == [e["id"] for e in whole["items"]]
    assert len(paged) == whole["total"] > 8


def test_a_cursor_of_another_listing_is_a_400(client: TestClient) -> None:
    cursor = client.get("/entities", params={"limit": 2}).json()["next_cursor"]
    response = client.get("/entities", params={"limit": 2, "sort": "name", "cursor": cursor})
    assert response.status_code == 400
    assert "different query" in response.json()["detail"]
    assert client.get("/entities", params={"cursor": "garbage!"}).status_code == 400


def test_entity_detail_counts_dates_co_occurrence_and_sources(client: TestClient) -> None:
    putin = entity_id(client, "Vladimir Putin")
    detail = client.get(f"/entities/{putin}").json()
    assert detail["article_count"] == total(client, {"entity": putin}) == 5
    assert {"Mr. Putin", "Vladimir V. Putin", "Putin"} <= set(detail["aliases"])
    oldest = client.get("/articles", params={"entity": putin, "sort": "published_at"}).json()
    dates = [item["published_at"] for item in oldest["items"] if item["published_at"]]
    assert (detail["first_seen"], detail["last_seen"]) == (dates[0], dates[-1])
    co = detail["co_occurring"]
    assert len(co) == 10 and putin not in {e["id"] for e in co}
    assert [e["article_count"] for e in co] == sorted(
        (e["article_count"] for e in co), reverse=True
    )
    for other in co:
        assert other["article_count"] == total(client, [("entity", putin), ("entity", other["id"])])
    sources = detail["top_sources"]
    assert sum(s["article_count"] for s in sources) == 5
    for source in sources:
        assert source["article_count"] == total(client, {"entity": putin, "source": source["id"]})
    assert len(client.get(f"/entities/{putin}", params={"top": 3}).json()["co_occurring"]) == 3


def test_unknown_entity_id_is_a_json_404(client: TestClient) -> None:
    for path in ("/entities/999999", "/entities/999999/articles"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert client.get("/entities/0").status_code == 422


def test_entity_articles_take_every_article_filter(
    client: TestClient, seed_ids: dict[str, int]
) -> None:
    shoigu = entity_id(client, "Sergei Shoigu")
    everything = client.get(f"/entities/{shoigu}/articles").json()
    assert everything["total"] == 2
    assert {item["id"] for item in everything["items"]} == {seed_ids["000"], seed_ids["001"]}
    params = {"q": "Kazakhstan", "highlight_open": "[", "highlight_close": "]"}
    searched = client.get(f"/entities/{shoigu}/articles", params=params).json()
    assert [item["id"] for item in searched["items"]] == [seed_ids["001"]]
    assert "[Kazakhstan]" in searched["items"][0]["snippet"]
    narrowed = client.get(f"/entities/{shoigu}/articles", params={"entity": "Alexey Overchuk"})
    assert [item["id"] for item in narrowed.json()["items"]] == [seed_ids["001"]]
    missing = client.get(f"/entities/{shoigu}/articles", params={"entity": "Nobodyovich"})
    assert missing.status_code == 404


def test_entity_articles_sort_and_page_like_articles(client: TestClient) -> None:
    putin = entity_id(client, "Vladimir Putin")
    for sort in ("published_at", "-published_at"):
        mine = walk(client, f"/entities/{putin}/articles", {"sort": sort, "limit": 2})
        theirs = client.get("/articles", params={"entity": putin, "sort": sort}).json()
        assert mine == theirs["items"]
    bad = client.get(f"/entities/{putin}/articles", params={"sort": "relevance"})
    assert bad.status_code == 422


def test_entity_type_all_and_any_filters(client: TestClient) -> None:
    person_in = total(client, {"entity_type": "person"})
    assert person_in == 5
    both = total(client, [("entity", "Sergei Shoigu"), ("entity", "Dmitry Medvedev")])
    either = total(client, [("entity_any", "Sergei Shoigu"), ("entity_any", "Dmitry Medvedev")])
    assert (both, either) == (0, 3)
    unknown = client.get("/articles", params={"entity": "Vladimir Puttin"})
    assert unknown.status_code == 404
    assert "Vladimir Putin" in unknown.json()["detail"]


@pytest.mark.corpus
@pytest.mark.slow
def test_bbc_entities_have_real_counts(bbc_client: TestClient) -> None:
    page = bbc_client.get("/entities", params={"q": "blair", "type": "person"}).json()
    blair = page["items"][0]
    assert blair["name"] == "Tony Blair" and blair["article_count"] >= 24
    assert total(bbc_client, {"entity": "Tony Blair"}) == blair["article_count"]
    assert total(bbc_client, {"entity": "blair"}) == blair["article_count"]
    listed = bbc_client.get(f"/entities/{blair['id']}/articles", params={"limit": 1}).json()
    assert listed["total"] == blair["article_count"]
    detail = bbc_client.get(f"/entities/{blair['id']}").json()
    assert detail["mention_count"] == blair["mention_count"] > blair["article_count"]
    names = {e["name"] for e in detail["co_occurring"]}
    assert {"Gordon Brown", "Labour"} & names
    for other in detail["co_occurring"]:
        pair = [("entity", blair["id"]), ("entity", other["id"])]
        assert other["article_count"] == total(bbc_client, pair)
    [bbc] = detail["top_sources"] or [{"article_count": blair["article_count"]}]
    assert bbc["article_count"] == blair["article_count"]
    top = bbc_client.get("/entities", params={"limit": 5}).json()
    assert top["total"] > 1000 and top["items"][0]["article_count"] > 100
