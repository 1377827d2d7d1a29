"""/v2: NewsAPI's parameters, response and error shapes, the same answers as /articles, no cap."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models import Source
from app.search.newsapi import slugify
from tests.api.test_query_robustness import CONTROL

ARTICLE_KEYS = {
    "source",
    "author",
    "title",
    "description",
    "url",
    "urlToImage",
    "publishedAt",
    "content",
}
SEED_SLUGS = {
    "afghanistan-international",
    "amu-tv",
    "asia-times",
    "the-express-tribune",
    "the-khorasan-diary",
}
KHORASAN_TITLE = "Russia Moves to Establish “Full-Fledged” Relations with Taliban"


def everything(client: TestClient, path: str = "/v2/everything", **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    return body


def walk_articles(client: TestClient, **params: Any) -> tuple[int, list[dict[str, Any]]]:
    """Every /articles item for params, following cursors; and the total."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.get("/articles", params={**params, "limit": 100, "cursor": cursor}).json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return page["total"], items


def keys(articles: list[dict[str, Any]]) -> list[tuple[str | None, str | None]]:
    return [(article["title"], article["url"]) for article in articles]


EQUIVALENT = [
    ({"q": "Taliban"}, {"q": "Taliban", "sort": "-published_at"}),
    ({"q": "Putin", "sortBy": "relevancy"}, {"q": "Putin", "sort": "relevance"}),
    ({"q": "Putin", "sortBy": "popularity"}, {"q": "Putin", "sort": "relevance"}),
    ({"qInTitle": "Taliban"}, {"q": "Taliban", "search_in": "title", "sort": "-published_at"}),
    (
        {"q": "Taliban", "searchIn": "title", "sortBy": "relevancy"},
        {"q": "Taliban", "search_in": "title"},
    ),
    (
        {"q": "CSTO", "searchIn": "content"},
        {"q": "CSTO", "search_in": "body", "sort": "-published_at"},
    ),
    ({"q": "CSTO", "searchIn": "title,content"}, {"q": "CSTO", "sort": "-published_at"}),
    ({"q": '"full-fledged relations"', "sortBy": "relevancy"}, {"q": '"full-fledged relations"'}),
    ({"q": "+Putin -Ukraine"}, {"q": "Putin -Ukraine", "sort": "-published_at"}),
    ({"q": "Putin AND (CSTO OR Trump)"}, {"q": "Putin (CSTO OR Trump)", "sort": "-published_at"}),
    ({"from": "2024-05-01", "to": "2024-11-30"}, {"from": "2024-05-01", "to": "2024-11-30"}),
    ({"from": "2024-05-29T00:00:00"}, {"from": "2024-05-29T00:00:00"}),
    ({"to": "2024-05-29T00:00:00Z"}, {"to": "2024-05-29T00:00:00Z"}),
    ({"language": "en"}, {"language": "en"}),
    (
        {"sources": "the-khorasan-diary,amu-tv"},
        {"source": ["The Khorasan Diary", "Amu TV"]},
    ),
]


@pytest.mark.parametrize(("newsapi", "ours"), EQUIVALENT)
def test_everything_answers_as_articles_does(
    client: TestClient, newsapi: dict[str, str], ours: dict[str, Any]
) -> None:
    total, items = walk_articles(client, **ours)
    body = everything(client, **newsapi)
    assert body["totalResults"] == total > 0
    assert keys(body["articles"]) == keys(items)


def test_articles_have_newsapi_shape_and_the_full_body(
    client: TestClient, seed_ids: dict[str, int]
) -> None:
    body = everything(client, q="Taliban", sources="the-khorasan-diary")
    assert body["totalResults"] == 1
    (article,) = body["articles"]
    assert set(article) == ARTICLE_KEYS
    stored = client.get(f"/articles/{seed_ids['002']}").json()
    assert article["source"] == {"id": "the-khorasan-diary", "name": "The Khorasan Diary"}
    assert article["title"] == KHORASAN_TITLE
    assert article["url"] == stored["url"]
    assert article["publishedAt"] == "2024-05-29T00:00:00Z"
    assert article["urlToImage"] is None
    assert article["content"] == stored["body"]
    assert len(article["content"]) > 200  # NewsAPI cuts content at 200 characters; we don't
    assert article["description"] == (stored["subtitle"] or stored["lede"])


def test_an_article_without_a_date_has_a_null_published_at(client: TestClient) -> None:
    (article,) = everything(client, sources="amu-tv")["articles"]
    assert article["publishedAt"] is None
    assert article["source"] == {"id": "amu-tv", "name": "Amu TV"}


def test_sources_accept_slugs_names_and_ids(client: TestClient) -> None:
    ours = client.get("/sources").json()["items"]
    amu = next(source for source in ours if source["name"] == "Amu TV")
    for ref in ("amu-tv", "Amu TV", "amu tv", str(amu["id"])):
        body = everything(client, sources=ref)
        assert [a["source"]["name"] for a in body["articles"]] == ["Amu TV"], ref


def test_domains_match_the_url_host_and_exclude_domains_keep_the_rest(client: TestClient) -> None:
    only = everything(client, domains="amu.tv,https://www.afintl.com/")
    assert {a["source"]["id"] for a in only["articles"]} == {"amu-tv", "afghanistan-international"}
    rest = everything(client, excludeDomains="amu.tv")
    assert rest["totalResults"] == 4
    # Asia Times has neither URL nor domain: excluding a domain keeps it.
    assert "asia-times" in {a["source"]["id"] for a in rest["articles"]}
    assert everything(client, domains="example.org")["totalResults"] == 0


def test_pages_cover_every_result_once_and_past_the_end_is_empty(client: TestClient) -> None:
    whole = everything(client, q="Putin", sortBy="relevancy")
    pages = [
        everything(client, q="Putin", sortBy="relevancy", pageSize=2, page=n) for n in (1, 2, 3)
    ]
    assert [page["totalResults"] for page in pages] == [whole["totalResults"]] * 3
    walked = [article for page in pages for article in page["articles"]]
    assert keys(walked) == keys(whole["articles"]) and len(walked) == whole["totalResults"] == 5
    beyond = everything(client, q="Putin", pageSize=2, page=4)
    assert beyond["articles"] == [] and beyond["totalResults"] == 5


def test_parameter_names_are_case_insensitive_and_keys_are_ignored(client: TestClient) -> None:
    expected = everything(client, qInTitle="Taliban", pageSize=2)
    assert everything(client, qintitle="Taliban", PAGESIZE=2) == expected
    assert everything(client, qInTitle="Taliban", pageSize=2, apiKey="whatever") == expected
    for header in ("X-Api-Key", "Authorization"):
        response = client.get(
            "/v2/everything", params={"qInTitle": "Taliban", "pageSize": 2}, headers={header: "k"}
        )
        assert response.json() == expected


BAD_REQUESTS = [
    ({"pageSize": "0"}, "parameterInvalid", "pageSize"),
    ({"pageSize": "101"}, "parameterInvalid", "pageSize"),
    ({"pageSize": "ten"}, "parameterInvalid", "pageSize"),
    ({"page": "0"}, "parameterInvalid", "page"),
    ({"page": "-1"}, "parameterInvalid", "page"),
    ({"page": "9" * 40}, "parameterInvalid", "page"),
    ({"from": "garbage"}, "parameterInvalid", "from"),
    ({"to": "2024-13-01"}, "parameterInvalid", "to"),
    ({"from": "2024-06-01", "to": "2024-05-01"}, "parameterInvalid", "from"),
    ({"sortBy": "newest"}, "parameterInvalid", "sortBy"),
    ({"searchIn": "body"}, "parameterInvalid", "searchIn"),
    ({"q": "taliban OR"}, "parameterInvalid", "at character 8"),
    ({"q": "(taliban"}, "parameterInvalid", "unclosed parenthesis"),
    ({"q": "-putin"}, "parameterInvalid", "only excluded words"),
    ({"q": "x " * 600}, "parameterInvalid", "longer than"),
    ({"q": "putin", "qInTitle": "taliban"}, "parameterInvalid", "searchIn=title"),
    ({"sources": "bbc-news"}, "sourceDoesNotExist", "bbc-news"),
    ({"sources": "amu-tv,khorasan-diary"}, "sourceDoesNotExist", "'the-khorasan-diary'"),
    ({"domains": "not a domain"}, "parameterInvalid", "domains"),
    ({"from": "0001-13-01T00:00:00+05:00"}, "parameterInvalid", "from"),
]


def test_a_moment_before_year_one_in_utc_means_from_the_beginning(client: TestClient) -> None:
    edge = everything(client, **{"from": "0001-01-01T00:00:00+05:00"})
    first_day = everything(client, **{"from": "0001-01-01"})
    assert edge["status"] == "ok"
    assert keys(edge["articles"]) == keys(first_day["articles"])
    assert edge["totalResults"] == first_day["totalResults"] > 0


@pytest.mark.parametrize(("params", "code", "mentions"), BAD_REQUESTS)
def test_bad_parameters_get_newsapi_errors(
    client: TestClient, params: dict[str, str], code: str, mentions: str
) -> None:
    response = client.get("/v2/everything", params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"status", "code", "message"}
    assert body["status"] == "error" and body["code"] == code
    assert mentions in body["message"]


def test_title_and_text_queries_combine_when_both_search_titles(client: TestClient) -> None:
    body = everything(client, q="Putin", qInTitle="Taliban", searchIn="title")
    _, items = walk_articles(client, q="Putin Taliban", search_in="title", sort="-published_at")
    assert keys(body["articles"]) == keys(items) and body["totalResults"] == 3


def test_sources_list_slugs_and_what_is_known_of_each(client: TestClient) -> None:
    body = everything(client, "/v2/top-headlines/sources")
    assert {source["id"] for source in body["sources"]} == SEED_SLUGS
    khorasan = next(s for s in body["sources"] if s["id"] == "the-khorasan-diary")
    assert khorasan == {
        "id": "the-khorasan-diary",
        "name": "The Khorasan Diary",
        "description": "1 article in this archive from thekhorasandiary.com",
        "url": "https://thekhorasandiary.com",
        "category": None,
        "language": "en",
        "country": None,
    }
    assert everything(client, "/v2/sources") == body
    assert len(everything(client, "/v2/sources", language="en")["sources"]) == 5
    assert everything(client, "/v2/sources", language="fr")["sources"] == []
    assert everything(client, "/v2/sources", country="us")["sources"] == []


def test_slugs_are_stable_and_unique(client: TestClient, engine: Engine) -> None:
    assert slugify("The Khorasan Diary") == "the-khorasan-diary"
    assert slugify("Le Monde diplomatique (Édition)") == "le-monde-diplomatique-edition"
    assert slugify("Reuters’ Wire") == "reuters-wire"
    with Session(engine) as session:
        twin = Source(name="AMU TV!")
        session.add(twin)
        session.commit()
        twin_id = twin.id
    slugs = {s["id"] for s in everything(client, "/v2/sources")["sources"]}
    assert slugs == SEED_SLUGS | {f"amu-tv-{twin_id}"}
    assert everything(client, sources=f"amu-tv-{twin_id}")["totalResults"] == 0
    assert everything(client, sources="amu-tv")["totalResults"] == 1


def test_top_headlines_are_newest_first(client: TestClient) -> None:
    _, items = walk_articles(client, sort="-published_at")
    body = everything(client, "/v2/top-headlines", language="en")
    assert keys(body["articles"]) == keys(items) and body["totalResults"] == 5
    assert everything(client, "/v2/top-headlines", country="us")["totalResults"] == 0
    response = client.get("/v2/top-headlines", params={"sources": "amu-tv", "category": "sport"})
    assert response.status_code == 400 and response.json()["code"] == "parameterInvalid"


def test_other_routes_keep_their_own_error_shape(client: TestClient) -> None:
    response = client.get("/articles", params={"limit": 0})
    assert response.status_code == 422 and response.json()["code"] == "invalid_parameter"


PARAMETER_NAMES = [
    "q",
    "qInTitle",
    "searchIn",
    "sources",
    "domains",
    "excludeDomains",
    "from",
    "to",
    "language",
    "sortBy",
    "pageSize",
    "page",
    "category",
    "country",
]


@hypothesis_settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/v2/everything", "/v2/top-headlines", "/v2/top-headlines/sources"]),
    params=st.dictionaries(
        st.sampled_from(PARAMETER_NAMES),
        st.one_of(
            st.text(max_size=30),
            st.from_regex(r"-?[0-9]{1,25}", fullmatch=True),
            st.datetimes().map(lambda moment: moment.isoformat()),
            st.sampled_from(["relevancy", "title,content", "amu-tv", "amu.tv", "9999-12-30"]),
        ),
        max_size=5,
    ),
)
def test_any_parameters_get_results_or_a_newsapi_error(
    client: TestClient, path: str, params: dict[str, str]
) -> None:
    response = client.get(path, params=params)
    body = response.json()
    if any(CONTROL.search(name + value) for name, value in params.items()):
        assert (response.status_code, body["code"]) == (422, "invalid_parameter"), body
    elif response.status_code == 200:
        assert body["status"] == "ok"
    else:
        assert response.status_code == 400, body
        assert body["status"] == "error" and body["code"] and body["message"]
