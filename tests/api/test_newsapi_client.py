"""The real newsapi-python client, unchanged, against a real uvicorn server on the seeds.

The client only knows https://newsapi.org/v2/...; a transport adapter mounted on its
requests session sends those requests to the local server instead. Nothing on our side is
mocked: HTTP, the app and SQLite are the real ones.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import requests
import uvicorn
from newsapi import NewsApiClient
from newsapi.newsapi_exception import NewsAPIException
from requests.adapters import HTTPAdapter
from sqlalchemy.engine import Engine

from app.config import Settings
from tests.clients import make_client

NEWSAPI_ORIGIN = "https://newsapi.org"
KHORASAN_TITLE = "Russia Moves to Establish “Full-Fledged” Relations with Taliban"


class LocalNewsApi(HTTPAdapter):
    """Sends requests meant for newsapi.org to `base` (scheme, host and port) instead."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        assert request.url is not None and request.url.startswith(NEWSAPI_ORIGIN)
        request.url = self.base + request.url.removeprefix(NEWSAPI_ORIGIN)
        return super().send(request, *args, **kwargs)


@pytest.fixture
def server_url(settings: Settings, engine: Engine) -> Iterator[str]:
    """A uvicorn server in a thread, on a free port, serving the app on this test's seeded DB."""
    app = make_client(settings, engine).app  # the app with its session bound to this DB
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=30)
    listener.close()


@pytest.fixture
def newsapi(server_url: str) -> Iterator[NewsApiClient]:
    with requests.Session() as session:
        session.mount(NEWSAPI_ORIGIN, LocalNewsApi(server_url))
        yield NewsApiClient(api_key="0123456789abcdef0123456789abcdef", session=session)


def test_get_everything_searches_the_archive(newsapi: NewsApiClient, server_url: str) -> None:
    result = newsapi.get_everything(q="Taliban", sort_by="relevancy", page_size=100)
    assert result["status"] == "ok"
    assert result["totalResults"] == len(result["articles"]) == 5
    ours = requests.get(f"{server_url}/articles", params={"q": "Taliban"}, timeout=30).json()
    assert [(a["title"], a["url"]) for a in result["articles"]] == [
        (item["title"], item["url"]) for item in ours["items"]
    ]
    assert {a["source"]["id"] for a in result["articles"]} == {
        "afghanistan-international",
        "amu-tv",
        "asia-times",
        "the-express-tribune",
        "the-khorasan-diary",
    }


def test_get_everything_filters_like_newsapi(newsapi: NewsApiClient) -> None:
    one = newsapi.get_everything(q="Taliban", sources="the-khorasan-diary")
    assert [a["title"] for a in one["articles"]] == [KHORASAN_TITLE]
    assert one["articles"][0]["publishedAt"] == "2024-05-29T00:00:00Z"
    # The client sends "qintitle"; dates go out as YYYY-MM-DD.
    in_title = newsapi.get_everything(qintitle="Relations", from_param=date(2024, 5, 1))
    assert [a["title"] for a in in_title["articles"]] == [
        "Putin Expresses Hope For Expansion Of Russia's Relations With Taliban",
        KHORASAN_TITLE,
    ]
    dated = newsapi.get_everything(q="Putin", from_param="2024-05-01", to="2024-06-30")
    assert [a["title"] for a in dated["articles"]] == [KHORASAN_TITLE]
    paged = newsapi.get_everything(domains="amu.tv,afintl.com", page_size=1, page=2)
    assert paged["totalResults"] == 2 and len(paged["articles"]) == 1
    assert paged["articles"][0]["source"]["id"] == "amu-tv"


def test_get_sources_and_top_headlines(newsapi: NewsApiClient) -> None:
    sources = newsapi.get_sources()
    assert sources["status"] == "ok"
    by_id = {source["id"]: source for source in sources["sources"]}
    assert by_id["amu-tv"]["name"] == "Amu TV" and by_id["amu-tv"]["url"] == "https://amu.tv"
    assert len(by_id) == 5
    assert newsapi.get_sources(language="en")["sources"] == sources["sources"]
    headlines = newsapi.get_top_headlines(sources="asia-times,the-khorasan-diary")
    assert [a["title"] for a in headlines["articles"]] == [
        KHORASAN_TITLE,
        "Putin Wants To Get Closer To The Taliban",
    ]


def test_errors_reach_the_client_as_newsapi_exceptions(newsapi: NewsApiClient) -> None:
    with pytest.raises(NewsAPIException) as raised:
        newsapi.get_everything(q="Taliban OR")
    assert raised.value.get_status() == "error"
    assert raised.value.get_code() == "parameterInvalid"
    assert "at character 8" in raised.value.get_message()
    with pytest.raises(NewsAPIException) as unknown:
        newsapi.get_everything(sources="bbc-news")
    assert unknown.value.get_code() == "sourceDoesNotExist"
