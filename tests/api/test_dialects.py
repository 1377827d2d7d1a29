"""Requests that once answered differently on PostgreSQL than on SQLite (run on both)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize("parameter", ["source", "entity"])
def test_a_number_too_large_for_an_id_is_an_unknown_name_not_a_server_error(
    client: TestClient, parameter: str
) -> None:
    # PostgreSQL ids are 32-bit: looking this one up raised "integer out of range" there.
    response = client.get("/articles", params={parameter: "25919646879009"})
    assert response.status_code == 404
    assert "25919646879009" in response.json()["detail"]


def test_articles_without_a_query_have_no_score(client: TestClient) -> None:
    # The missing score was an untyped NULL, which PostgreSQL's driver can't read as a float.
    page = client.get("/articles").json()
    assert page["total"] == 5
    assert {item.get("score") for item in page["items"]} == {None}
