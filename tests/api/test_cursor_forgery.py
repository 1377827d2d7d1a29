"""Cursors are signed and checked: a forged or stale one answers 400, never a crash or a 500.

A forged cursor is made the way an attacker would: take a real next_cursor, decode its
payload, change a field, encode it again. Unsigned, the signature no longer matches; signed
with the server's own key (as if the key had leaked, or an older release wrote the cursor),
every field is still checked for type and range before it reaches an engine.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import Settings
from app.db import create_db_engine
from app.models import ServerSecret
from app.search.articles import sort_key_check
from app.search.cursor import (
    CURSOR_SECRET_NAME,
    Cursor,
    CursorCodec,
    InvalidCursor,
    stored_secret,
)
from app.search.filter import Sort
from tests.backends import Backend, Template, fresh_database
from tests.clients import make_client
from tests.helpers import settings_for

Payload = list[Any]


def payload_of(token: str) -> Payload:
    encoded = token.partition(".")[0]
    decoded: Payload = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    return decoded


def unsigned(token: str, payload: Payload) -> str:
    """`token` with its payload replaced and its signature kept (so it no longer matches)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    encoded = base64.urlsafe_b64encode(body).decode().rstrip("=")
    _, dot, signature = token.partition(".")
    return encoded + dot + signature


def signed(engine: Engine, payload: Payload) -> str:
    """A cursor holding `payload`, signed with the database's own cursor key."""
    codec = codec_of(engine)
    key, snapshot, query_hash = payload
    return codec.encode(Cursor(key=key, snapshot=snapshot, query_hash=query_hash))


def codec_of(engine: Engine) -> CursorCodec:
    """The codec the server signs with: the database's own cursor key."""
    with Session(engine) as session:
        return CursorCodec(stored_secret(session, CURSOR_SECRET_NAME))


def next_cursor(client: TestClient, path: str, params: dict[str, Any]) -> str:
    page = client.get(path, params={**params, "limit": 1}).json()
    token: str = page["next_cursor"]
    return token


def assert_refused(client: TestClient, path: str, params: dict[str, Any], token: str) -> None:
    response = client.get(path, params={**params, "limit": 1, "cursor": token})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_cursor"


def remove_cursor_key(engine: Engine) -> None:
    """Drop the database's cursor key, so the next cursor it signs is under a new one."""
    with Session(engine) as session, session.begin():
        session.execute(delete(ServerSecret).where(ServerSecret.name == CURSOR_SECRET_NAME))


def with_rank(payload: Payload, rank: Any) -> Payload:
    key, snapshot, query_hash = payload
    return [[key[0], key[1], rank], snapshot, query_hash]


def test_a_huge_rank_is_refused_and_the_server_keeps_answering(
    client: TestClient, engine: Engine
) -> None:
    params = {"q": "the"}
    token = next_cursor(client, "/articles", params)
    forged = with_rank(payload_of(token), 10**12)
    assert_refused(client, "/articles", params, unsigned(token, forged))
    # Rank is checked even under a valid signature: it is a position among the snapshot's.
    forged_rank = with_rank(payload_of(token), 10**9) if len(payload_of(token)[0]) == 3 else None
    if forged_rank is not None:
        assert_refused(client, "/articles", params, signed(engine, forged_rank))
    after = client.get("/articles", params={**params, "limit": 1, "cursor": token})
    assert after.status_code == 200
    assert after.json()["items"], "the real cursor still pages"


def test_entity_articles_refuse_a_forged_rank(
    client: TestClient, engine: Engine, entity_id_of: Callable[[str], int]
) -> None:
    path = f"/entities/{entity_id_of('Taliban')}/articles"
    params = {"q": "the"}
    token = next_cursor(client, path, params)
    assert_refused(client, path, params, unsigned(token, with_rank(payload_of(token), 10**12)))


@pytest.fixture
def entity_id_of(client: TestClient) -> Callable[[str], int]:
    def lookup(name: str) -> int:
        items = client.get("/entities", params={"q": name, "limit": 1}).json()["items"]
        entity_id: int = items[0]["id"]
        return entity_id

    return lookup


# Keys of the wrong type or out of range, as the audit sent them.
FORGED_KEYS: list[Any] = [
    None,
    [],
    [None],
    ["9999-99-99", 1],
    ["0001-01-01T00:00:00+14:00", 1],
    ["2024-05-01T00:00:00", 1],  # no zone
    [float("nan"), 1],
    ["x", "y"],
    [1.5, 2**40],
    [1.5, -1],
    [True, 1],
    [[1], {"a": 1}],
    [1.0, 1, -5],
    [1.0, 1, "3"],
    [1.0, 1, 2, 3],
    "key",
    12,
]


def forged_payloads(token: str) -> Iterator[Payload]:
    key, snapshot, query_hash = payload_of(token)
    for forged in FORGED_KEYS:
        yield [forged, snapshot, query_hash]
    yield [key, 10**21, query_hash]
    yield [key, -1, query_hash]
    yield [key, "1", query_hash]
    yield [key, None, query_hash]
    yield [key, snapshot, None]
    yield [key, snapshot]  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/articles", {"q": "the"}),
        ("/articles", {"sort": "-published_at"}),
        ("/articles", {"sort": "published_at", "q": "Taliban"}),
        ("/entities", {}),
        ("/entities", {"sort": "name"}),
    ],
)
def test_forged_keys_answer_400_signed_or_not(
    client: TestClient, engine: Engine, path: str, params: dict[str, Any]
) -> None:
    token = next_cursor(client, path, params)
    for payload in forged_payloads(token):
        text = json.dumps(payload, allow_nan=True).encode()
        encoded = base64.urlsafe_b64encode(text).decode().rstrip("=")
        assert_refused(client, path, params, encoded + "." + token.partition(".")[2])
        if len(payload) == 3 and not _has_nan(payload):
            assert_refused(client, path, params, signed(engine, payload))


def _has_nan(value: Any) -> bool:
    if isinstance(value, list):
        return any(_has_nan(part) for part in value)
    return isinstance(value, float) and value != value


def test_a_cursor_signed_with_another_key_is_refused(client: TestClient, engine: Engine) -> None:
    token = next_cursor(client, "/articles", {})
    other = CursorCodec(b"another server's key")
    key, snapshot, query_hash = payload_of(token)
    stale = other.encode(Cursor(key=key, snapshot=snapshot, query_hash=query_hash))
    assert_refused(client, "/articles", {}, stale)


def test_the_key_is_kept_in_the_database_for_every_server_on_it(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    token = next_cursor(client, "/articles", {"q": "Taliban"})
    with make_client(settings, engine) as another_server:
        page = another_server.get("/articles", params={"q": "Taliban", "limit": 1, "cursor": token})
    assert page.status_code == 200
    assert page.json()["items"]


def test_a_cursor_from_another_database_is_refused(
    client: TestClient,
    settings: Settings,
    seeded_template: Template,
    backend: Backend,
    tmp_path: Path,
) -> None:
    # Two deployments of the same articles, each with its own key: a cursor is only good on the
    # database that signed it, even when one server process talks to both.
    token = next_cursor(client, "/articles", {"q": "Taliban"})
    with contextmanager(fresh_database)(seeded_template, tmp_path / "another.db", backend) as url:
        other_settings = settings_for(url)
        other_engine = create_db_engine(other_settings)
        remove_cursor_key(other_engine)  # a copy of one template: give it a key of its own
        with make_client(other_settings, other_engine) as another_database:
            assert_refused(another_database, "/articles", {"q": "Taliban"}, token)
            own = next_cursor(another_database, "/articles", {"q": "Taliban"})
            params = {"q": "Taliban", "limit": 1, "cursor": own}
            assert another_database.get("/articles", params=params).status_code == 200
        other_engine.dispose()
    assert_refused(client, "/articles", {"q": "Taliban"}, own)


def test_a_configured_key_signs_instead(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    token = next_cursor(client, "/articles", {})
    configured = settings.model_copy(
        update={"cursor_secret": SecretStr("a key from the environment")}
    )
    with make_client(configured, engine) as reconfigured:
        assert_refused(reconfigured, "/articles", {}, token)
        own = next_cursor(reconfigured, "/articles", {})
        assert reconfigured.get("/articles", params={"limit": 1, "cursor": own}).status_code == 200


# Any JSON value a forger might put in a key, a snapshot or a hash.
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4),
    max_leaves=8,
)
KEY_PARTS = (
    st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat())
    | JSON_VALUES
)


FUZZ = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))
QUERY_HASH = "0123456789abcdef"


@pytest.mark.slow
@settings(FUZZ, max_examples=10_000)
@given(
    sort=st.sampled_from(["relevance", "-published_at", "published_at"]),
    key=st.lists(KEY_PARTS, min_size=0, max_size=4) | JSON_VALUES,
    snapshot=st.integers(min_value=-(2**70), max_value=2**70) | JSON_VALUES,
    query_hash=st.just(QUERY_HASH) | st.text(max_size=20) | JSON_VALUES,
)
def test_ten_thousand_forged_cursors_decode_or_are_refused(
    sort: Sort, key: Any, snapshot: Any, query_hash: Any
) -> None:
    """Signed with the right key, any payload decodes to a well-formed key or InvalidCursor."""
    codec = CursorCodec(b"test key")
    token = codec.encode(Cursor(key=key, snapshot=snapshot, query_hash=query_hash))
    try:
        cursor = codec.decode(token, QUERY_HASH, sort_key_check(sort))
    except InvalidCursor:
        return
    assert cursor.key == key and cursor.snapshot == snapshot


# Keys of the right shape with edge values: what reaches an engine once a cursor decodes.
IDS = st.integers(min_value=1, max_value=2**31 - 1)
WELL_FORMED = st.one_of(
    st.tuples(
        st.just("relevance"),
        st.lists(
            st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53), 2**53),
            min_size=1,
            max_size=1,
        ).flatmap(lambda score: st.tuples(st.just(score[0]), IDS, st.integers(0, 2**31 - 1))),
    ),
    st.tuples(
        st.sampled_from(["-published_at", "published_at"]),
        st.tuples(
            st.none() | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
            IDS,
        ),
    ),
)


@pytest.mark.slow
def test_well_formed_forged_keys_get_a_page_or_400_on_every_engine(
    client: TestClient, engine: Engine
) -> None:
    codec = codec_of(engine)
    hashes = {
        sort: payload_of(next_cursor(client, "/articles", {"q": "the", "sort": sort}))[2]
        for sort in ("relevance", "-published_at", "published_at")
    }

    @settings(FUZZ, max_examples=300)
    @given(case=WELL_FORMED, snapshot=st.integers(0, 2**31 - 1))
    def page_after(case: tuple[str, tuple[Any, ...]], snapshot: int) -> None:
        sort, key = case
        token = codec.encode(Cursor(key=list(key), snapshot=snapshot, query_hash=hashes[sort]))
        params = {"q": "the", "sort": sort, "limit": 3, "cursor": token}
        response = client.get("/articles", params=params)
        assert response.status_code in (200, 400), (key, snapshot, response.text)

    page_after()
