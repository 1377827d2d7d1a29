"""A query parameter an endpoint doesn't know answers 422, naming it and the closest known one.

Silence would hand a user's typo (`exclude_duplicates=true`) an unfiltered answer that looks
right. The NewsAPI-compatible routes keep accepting what NewsAPI clients send.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.parameters import closest_parameter

NEWSAPI_PREFIX = "/v2/"


def get_operations(client: TestClient) -> dict[str, dict[str, Any]]:
    """Every documented GET operation by path (the write routes exist only with an API key)."""
    schema = client.get("/openapi.json").json()
    return {path: item["get"] for path, item in schema["paths"].items() if "get" in item}


def concrete_path(path: str) -> str:
    """The path with 1 for every path parameter."""
    return re.sub(r"\{[^}]+\}", "1", path)


def test_a_misspelt_parameter_names_itself_and_the_parameter_meant(client: TestClient) -> None:
    response = client.get("/articles", params={"q": "Taliban", "exclude_duplicates": "true"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "unknown_parameter"
    assert body["detail"] == "unknown parameter exclude_duplicates; did you mean duplicates?"
    assert body["extra"]["unknown"] == ["exclude_duplicates"]
    assert body["extra"]["suggestions"] == {"exclude_duplicates": "duplicates"}
    assert "duplicates" in body["extra"]["known"]


def test_every_unknown_parameter_is_named_once(client: TestClient) -> None:
    response = client.get("/articles?limt=2&sorce=Amu%20TV&sorce=Asia%20Times&zzzz=1")
    assert response.status_code == 422
    body = response.json()
    assert body["extra"]["unknown"] == ["limt", "sorce", "zzzz"]
    assert body["extra"]["suggestions"] == {"limt": "limit", "sorce": "source", "zzzz": None}
    assert "unknown parameter zzzz;" in body["detail"] or body["detail"].endswith("zzzz")


def test_every_endpoint_but_newsapi_refuses_an_unknown_parameter(client: TestClient) -> None:
    strict = [path for path in get_operations(client) if not path.startswith(NEWSAPI_PREFIX)]
    assert len(strict) >= 10, strict
    for path in strict:
        response = client.get(concrete_path(path), params={"no_such_parameter": "1"})
        assert response.status_code == 422, (path, response.status_code, response.text)
        assert response.json()["code"] == "unknown_parameter", path


def test_newsapi_routes_accept_what_newsapi_clients_send(client: TestClient) -> None:
    plain = client.get("/v2/everything", params={"q": "Taliban"}).json()
    extra = client.get(
        "/v2/everything", params={"q": "Taliban", "no_such_parameter": "1", "page_size": "3"}
    ).json()
    assert plain["status"] == extra["status"] == "ok"
    assert plain["totalResults"] == extra["totalResults"] > 0
    assert [a["url"] for a in plain["articles"]] == [a["url"] for a in extra["articles"]]


def test_every_documented_parameter_is_known(client: TestClient) -> None:
    """The check reads each route's parameters off its dependencies: it must refuse nothing
    the OpenAPI document offers (a value may still be refused, as a value)."""
    for path, operation in get_operations(client).items():
        if path.startswith(NEWSAPI_PREFIX):
            continue
        documented = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        response = client.get(concrete_path(path), params=dict.fromkeys(documented, "1"))
        if response.status_code == 422:  # a value refused: named as a value, never unknown
            assert response.json()["code"] == "invalid_parameter", (path, response.text)
        else:
            assert response.status_code < 500, (path, response.text)


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("Q", "q"),
        ("sourse", "source"),
        ("entity_types", "entity_type"),
        ("exclude_duplicates", "duplicates"),
        ("qwertyuiop", None),
    ],
)
def test_the_closest_known_parameter(given: str, meant: str | None) -> None:
    known = frozenset({"q", "source", "entity", "entity_type", "duplicates", "limit"})
    assert closest_parameter(given, known) == meant


def test_known_parameters_still_answer(client: TestClient) -> None:
    response = client.get("/articles", params={"q": "Taliban", "duplicates": "exclude"})
    assert response.status_code == 200
    assert response.json()["items"]
