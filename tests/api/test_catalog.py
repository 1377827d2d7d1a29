"""/sources, /entities, /healthz and the docs page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_sources_list_every_publisher_with_counts(client: TestClient) -> None:
    items = client.get("/sources").json()["items"]
    counts = {item["name"]: item["article_count"] for item in items}
    assert counts == {
        "Afghanistan International": 1,
        "Amu TV": 1,
        "The Khorasan Diary": 1,
        "The Express Tribune": 1,
        "Asia Times": 1,
    }
    domains = {item["name"]: item["domain"] for item in items}
    assert domains["Amu TV"] == "amu.tv"


def test_entities_are_sorted_by_article_count(client: TestClient) -> None:
    page = client.get("/entities", params={"limit": 100}).json()
    counts = [item["article_count"] for item in page["items"]]
    assert counts == sorted(counts, reverse=True)
    top = {item["name"] for item in page["items"] if item["article_count"] == 5}
    assert {"Vladimir Putin", "Taliban", "Russia", "Afghanistan"} <= top
    assert page["total"] >= len(page["items"])


def test_entity_name_search_matches_aliases_without_accents_or_case(client: TestClient) -> None:
    page = client.get("/entities", params={"q": "SHOIGU"}).json()
    assert [item["name"] for item in page["items"]] == ["Sergei Shoigu"]
    assert page["items"][0]["article_count"] == 2


def test_entity_type_filter(client: TestClient) -> None:
    page = client.get("/entities", params={"type": "person", "limit": 100}).json()
    assert page["items"]
    assert {item["type"] for item in page["items"]} == {"person"}


def test_entity_pages_walk_every_entity_once(client: TestClient) -> None:
    total = client.get("/entities").json()["total"]
    for sort in ("articles", "name"):
        seen: list[int] = []
        cursor = None
        while True:
            params = {"limit": 7, "sort": sort, **({"cursor": cursor} if cursor else {})}
            page = client.get("/entities", params=params).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == total


def test_entity_detail_lists_aliases(client: TestClient) -> None:
    found = client.get("/entities", params={"q": "putin"}).json()["items"][0]
    detail = client.get(f"/entities/{found['id']}").json()
    assert detail["name"] == "Vladimir Putin"
    lowered = {alias.lower() for alias in detail["aliases"]}
    assert {"vladimir putin", "vladimir v. putin", "putin"} <= lowered
    assert detail["article_count"] == 5
    assert client.get("/entities/999999").status_code == 404


def test_healthz_reports_the_database(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}


def test_docs_page_loads_no_asset_from_another_host(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert urls, "the docs page should reference its script and stylesheet"
    assert all(url.startswith("/") for url in urls), urls
    assert "cdn" not in page.text.lower()
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_openapi_lists_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/articles", "/articles/{article_id}", "/sources", "/entities", "/healthz"} <= set(
        paths
    )
