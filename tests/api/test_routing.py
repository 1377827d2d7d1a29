"""The route class every router uses (app/api/routing.py) keeps what FastAPI does for each
kind of endpoint: plain functions answer, generators stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.api.routing import ApiRoute


class Item(BaseModel):
    number: int


def _client() -> TestClient:
    router = APIRouter(route_class=ApiRoute)

    @router.get("/plain")
    def plain(number: int = 1) -> Item:
        return Item(number=number)

    @router.get("/lines")
    def lines(count: int = 3) -> Iterator[Item]:
        for number in range(count):
            yield Item(number=number)

    @router.get("/async-lines")
    async def async_lines(count: int = 3) -> AsyncIterator[Item]:
        for number in range(count):
            yield Item(number=number)

    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


def test_a_plain_endpoint_answers_its_response_model() -> None:
    answer = _client().get("/plain", params={"number": 7})
    assert answer.status_code == 200
    assert answer.json() == {"number": 7}


def test_generator_endpoints_still_stream_their_items_as_json_lines() -> None:
    client = _client()
    for path in ("/lines", "/async-lines"):
        answer = client.get(path, params={"count": 4})
        assert answer.status_code == 200, path
        items = [json.loads(line) for line in answer.text.splitlines() if line]
        assert items == [{"number": n} for n in range(4)], path
