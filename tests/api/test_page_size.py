"""Page sizes come from the server's settings: the default when `limit` is absent, a 422 past
the maximum, and the OpenAPI document shows both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.config import Settings
from tests.clients import client_with

DEFAULT, MAXIMUM = 2, 3
# Every paged listing, with an entity every seed mentions for the entity's own listing.
PAGED = ["/articles", "/entities", "/entities/{putin}/articles", "/articles.atom"]


@pytest.fixture
def small_pages(seeded_db: str) -> Iterator[TestClient]:
    with client_with(seeded_db, default_page_size=DEFAULT, max_page_size=MAXIMUM) as client:
        yield client


def listing(client: TestClient, path: str) -> str:
    if "{putin}" not in path:
        return path
    putin = client.get("/entities", params={"q": "Vladimir Putin"}).json()["items"][0]
    return path.format(putin=putin["id"])


def entries(response_text: str, path: str, body: dict[str, object] | None) -> int:
    if path.endswith(".atom"):
        return response_text.count("<entry>")
    assert body is not None
    items = body["items"]
    assert isinstance(items, list)
    return len(items)


@pytest.mark.parametrize("path", PAGED)
def test_without_a_limit_a_page_holds_the_default(small_pages: TestClient, path: str) -> None:
    response = small_pages.get(listing(small_pages, path))
    assert response.status_code == 200, response.text
    body = None if path.endswith(".atom") else response.json()
    assert entries(response.text, path, body) == DEFAULT
    if body is not None:
        assert body["next_cursor"], "five seeds do not fit in a page of two"


@pytest.mark.parametrize("path", PAGED)
def test_the_maximum_is_accepted_and_one_more_is_refused(
    small_pages: TestClient, path: str
) -> None:
    url = listing(small_pages, path)
    at_most = small_pages.get(url, params={"limit": MAXIMUM})
    assert at_most.status_code == 200, at_most.text
    body = None if path.endswith(".atom") else at_most.json()
    assert entries(at_most.text, path, body) == MAXIMUM

    over = small_pages.get(url, params={"limit": MAXIMUM + 1})
    assert over.status_code == 422
    error = over.json()
    assert error["code"] == "invalid_parameter"
    assert error["detail"] == f"limit: Input should be less than or equal to {MAXIMUM}"


def test_the_openapi_document_shows_this_servers_page_sizes(small_pages: TestClient) -> None:
    paths = small_pages.get("/openapi.json").json()["paths"]
    for path in PAGED:
        parameters = paths[path.replace("{putin}", "{entity_id}")]["get"]["parameters"]
        limit = next(p for p in parameters if p["name"] == "limit")
        assert limit["schema"]["maximum"] == MAXIMUM, path
        assert limit["schema"]["default"] == DEFAULT, path


def test_a_default_over_the_maximum_is_a_configuration_error() -> None:
    with pytest.raises(ValidationError, match="DEFAULT_PAGE_SIZE"):
        Settings(default_page_size=50, max_page_size=10)
