"""Reads behind a key: with require_read_key, everything but /healthz and /readyz needs a read
key or the API key; a read key never writes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError
from sqlalchemy.engine import Engine

from app.config import Settings
from tests.api.test_security import ARTICLE, article_count
from tests.clients import client_for
from tests.server import running_server

WRITE_KEY = "write-key-correct-horse-7f3a"
READ_KEY = "read-key-battery-staple-91c2"
OTHER_READ_KEY = "another-reader-0b7e"
READS = ["/articles", "/articles/1", "/entities", "/sources", "/timeline", "/articles.atom"]
OPERATOR_READS = ["/metrics", "/openapi.json", "/docs"]
OPEN = ["/healthz", "/readyz"]


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture
def guarded(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """A server whose reads need a key: two read keys (one given as a hash) and the API key."""
    update = {
        "api_key_hash": digest(WRITE_KEY),
        "read_api_key_hashes": [digest(READ_KEY), digest(OTHER_READ_KEY)],
        "require_read_key": True,
    }
    with client_for(settings.model_copy(update=update), engine) as client:
        yield client


def test_without_a_key_only_health_and_readiness_answer(guarded: TestClient) -> None:
    for path in READS + OPERATOR_READS:
        response = guarded.get(path)
        assert response.status_code == 401, path
        assert response.json()["code"] == "missing_api_key"
        assert "read key" in response.json()["detail"]
    for path in OPEN:
        assert guarded.get(path).status_code == 200, path


@pytest.mark.parametrize("key", [READ_KEY, OTHER_READ_KEY, WRITE_KEY])
def test_a_read_key_or_the_api_key_reads_everything(guarded: TestClient, key: str) -> None:
    for headers in ({"X-Api-Key": key}, {"Authorization": f"Bearer {key}"}):
        for path in READS + OPERATOR_READS:
            response = guarded.get(path, headers=headers)
            assert response.status_code == 200, (path, response.text[:200])


def test_a_wrong_key_is_refused_for_reading(guarded: TestClient) -> None:
    for key in ("nope", READ_KEY.upper(), digest(READ_KEY)):
        response = guarded.get("/articles", headers={"X-Api-Key": key})
        assert response.status_code == 403
        assert response.json() == {"detail": "the API key is not valid", "code": "invalid_api_key"}


def test_a_read_key_never_writes(guarded: TestClient, engine: Engine) -> None:
    reader = {"X-Api-Key": READ_KEY}
    for method, path, body in [
        ("post", "/articles", ARTICLE),
        ("delete", "/articles/1", None),
        ("post", "/entities/merge", {"into": 1, "merge": 2}),
    ]:
        response = guarded.request(method, path, json=body, headers=reader)
        assert response.status_code == 403, (method, path)
        assert response.json()["code"] == "read_only_key"
    assert article_count(engine) == 5


def test_the_api_key_writes_and_reads(guarded: TestClient, engine: Engine) -> None:
    writer = {"Authorization": f"Bearer {WRITE_KEY}"}
    added = guarded.post("/articles", json=ARTICLE, headers=writer)
    assert added.status_code == 201, added.text
    shown = guarded.get(f"/articles/{added.json()['id']}", headers=writer)
    assert shown.json()["title"] == ARTICLE["title"]
    assert article_count(engine) == 6


def test_read_keys_alone_do_not_close_reads(settings: Settings, engine: Engine) -> None:
    """The switch is require_read_key: configuring read keys alone changes nothing."""
    update = {"read_api_key_hashes": [digest(READ_KEY)]}
    with client_for(settings.model_copy(update=update), engine) as client:
        assert client.get("/articles").status_code == 200


def test_read_key_settings_are_hashed_and_checked() -> None:
    settings = Settings(read_api_keys=f"{READ_KEY}, {OTHER_READ_KEY}", require_read_key=True)
    assert settings.read_api_key_hashes == [digest(READ_KEY), digest(OTHER_READ_KEY)]
    assert settings.read_api_keys == []
    assert READ_KEY not in repr(settings) and READ_KEY not in str(settings.model_dump())
    with pytest.raises(ValidationError, match="must differ from the API key"):
        Settings(api_key=SecretStr(WRITE_KEY), read_api_keys=WRITE_KEY)
    with pytest.raises(ValidationError, match="needs a key"):
        Settings(require_read_key=True)
    with pytest.raises(ValidationError, match="not a SHA-256"):
        Settings(read_api_key_hashes="not-a-hash")
    assert Settings(api_key=SecretStr(WRITE_KEY), require_read_key=True).require_read_key


def test_a_real_server_reads_its_keys_from_the_environment(seeded_db: str, tmp_path: Path) -> None:
    env = {
        "NEWSDESK_REQUIRE_READ_KEY": "true",
        "NEWSDESK_READ_API_KEYS": READ_KEY,
        "NEWSDESK_API_KEY": WRITE_KEY,
    }
    with running_server(seeded_db, tmp_path / "server.log", env) as server:
        assert httpx.get(f"{server.url}/articles").status_code == 401
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        read = httpx.get(f"{server.url}/articles", headers={"X-Api-Key": READ_KEY})
        assert read.status_code == 200 and read.json()["total"] == 5
        write = httpx.delete(f"{server.url}/articles/1", headers={"X-Api-Key": READ_KEY})
        assert write.status_code == 403
    assert READ_KEY not in server.log() and digest(READ_KEY) not in server.log()
