"""What the cursor codec promises, pinned down where the mutation check found it unpinned.

Each test here failed on a mutant of app/search/cursor.py that the rest of the suite let
through (docs/mutation.md lists them): the signature covers the payload, the token is
URL-safe, the fingerprint ignores parameter order, a decoded cursor is the one encoded,
bounds are inclusive, and a missing cursor key is made again.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import get_settings
from app.db import create_db_engine
from app.models import MAX_ID, ServerSecret
from app.search.cursor import (
    CURSOR_SECRET_NAME,
    Cursor,
    CursorCodec,
    InvalidCursor,
    _b64,
    _unb64,
    is_count,
    is_id,
    is_timestamp,
    query_fingerprint,
    stored_secret,
)

CODEC = CursorCodec(b"k" * 32)
HASH = query_fingerprint({"q": "taliban"})
NOT_OURS = "cursor is not valid: pass next_cursor from a previous page unchanged"


def any_key(key: list[Any], snapshot: int) -> bool:
    """A sort order that accepts every key, to test what decode checks on its own."""
    return True


def signed_payload(body: str) -> str:
    """A token whose payload is `body` (any JSON text), signed with CODEC's key."""
    payload = _b64(body.encode())
    return f"{payload}.{CODEC._signature(payload)}"


def test_a_cursor_decodes_to_the_cursor_encoded() -> None:
    cursor = Cursor(key=["2024-05-01T12:00:00+00:00", 7], snapshot=9, query_hash=HASH)
    assert CODEC.decode(CODEC.encode(cursor), HASH, any_key) == cursor


def test_a_cursor_token_goes_into_a_url_unescaped() -> None:
    # Padding (=) would need escaping in a query string; it is stripped and restored.
    for snapshot in range(1, 12):
        token = CODEC.encode(Cursor(key=[0.5, snapshot], snapshot=snapshot, query_hash=HASH))
        assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token), token


@given(st.binary(max_size=64))
@example(b"\x00\x00\x17")  # encodes to "AAAX": an X before the (absent) padding
def test_base64_without_padding_round_trips(data: bytes) -> None:
    text = _b64(data)
    assert "=" not in text
    assert _unb64(text) == data


def test_the_signature_covers_the_payload() -> None:
    first = CODEC.encode(Cursor(key=[1.0, 3], snapshot=5, query_hash=HASH))
    second = CODEC.encode(Cursor(key=[1.0, 4], snapshot=5, query_hash=HASH))
    spliced = second.partition(".")[0] + "." + first.partition(".")[2]
    with pytest.raises(InvalidCursor) as refused:
        CODEC.decode(spliced, HASH, any_key)
    assert str(refused.value) == NOT_OURS


def test_a_signed_but_malformed_payload_is_refused_as_not_ours() -> None:
    for body in ["not json", "[1, 2]", '{"key": 1}']:
        with pytest.raises(InvalidCursor) as refused:
            CODEC.decode(signed_payload(body), HASH, any_key)
        assert str(refused.value) == NOT_OURS, body


@pytest.mark.parametrize(
    "body", [f'[[NaN, 1], 5, "{HASH}"]', f'[[Infinity, 1], 5, "{HASH}"]', "[[1.0, 1], 5, NaN]"]
)
def test_nan_and_infinity_are_refused_whatever_the_sort_order_accepts(body: str) -> None:
    with pytest.raises(InvalidCursor) as refused:
        CODEC.decode(signed_payload(body), HASH, any_key)
    assert str(refused.value) == NOT_OURS


def test_a_key_the_sort_order_refuses_is_not_ours() -> None:
    token = CODEC.encode(Cursor(key=["x", 1], snapshot=5, query_hash=HASH))
    with pytest.raises(InvalidCursor) as refused:
        CODEC.decode(token, HASH, lambda key, snapshot: False)
    assert str(refused.value) == NOT_OURS


def test_a_cursor_of_another_query_says_so() -> None:
    token = CODEC.encode(Cursor(key=[1.0, 1], snapshot=5, query_hash=HASH))
    with pytest.raises(InvalidCursor) as refused:
        CODEC.decode(token, query_fingerprint({"q": "putin"}), any_key)
    assert str(refused.value) == (
        "cursor belongs to a different query: keep the other parameters unchanged "
        "while paging, or start again without cursor"
    )


def test_a_cursor_is_never_written_with_a_key_it_would_refuse() -> None:
    with pytest.raises(ValueError):
        CODEC.encode(Cursor(key=[float("nan"), 1], snapshot=5, query_hash=HASH))


def test_the_fingerprint_ignores_parameter_order_and_reads_dates() -> None:
    moment = datetime(2024, 5, 1, tzinfo=UTC)
    forward = query_fingerprint({"q": "a", "source": [1, 2], "from": moment})
    backward = query_fingerprint({"from": moment, "source": [1, 2], "q": "a"})
    assert forward == backward
    assert forward != query_fingerprint({"q": "a", "source": [1, 2], "from": moment.replace(day=2)})
    # 64 bits in 16 hex digits: enough to tell queries apart, short in every URL.
    assert re.fullmatch(r"[0-9a-f]{16}", forward)


def test_id_and_count_bounds_are_inclusive() -> None:
    assert is_id(MAX_ID) and is_id(1) and not is_id(0) and not is_id(MAX_ID + 1)
    assert is_id(0, lowest=0)
    assert is_count(0) and is_count(MAX_ID) and not is_count(-1) and not is_count(MAX_ID + 1)


def test_a_timestamp_of_up_to_40_characters_is_a_key() -> None:
    forty = "2024-05-01T12:00:00.1234+05:30:15.123456"
    forty_one = "2024-05-01T12:00:00.12345+05:30:15.123456"
    assert len(forty) == 40 and datetime.fromisoformat(forty).tzinfo is not None
    assert len(forty_one) == 41 and datetime.fromisoformat(forty_one).tzinfo is not None
    assert is_timestamp(forty)
    assert not is_timestamp(forty_one)


@pytest.mark.usefixtures("far_east_local_zone")
def test_a_timestamp_key_does_not_depend_on_the_servers_zone() -> None:
    # The last UTC moment is a valid key even where local time would be past year 9999.
    assert is_timestamp("9999-12-31T23:59:59+00:00")


@pytest.fixture
def database(empty_db: str) -> Iterator[Engine]:
    engine = create_db_engine(get_settings().model_copy(update={"database_url": empty_db}))
    yield engine
    engine.dispose()


def secret_rows(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.execute(select(ServerSecret.name, ServerSecret.value)).all()
    return [(name, value) for name, value in rows]


def remove_cursor_secret(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.execute(delete(ServerSecret).where(ServerSecret.name == CURSOR_SECRET_NAME))


def test_a_removed_cursor_key_is_made_again_and_kept(database: Engine) -> None:
    remove_cursor_secret(database)
    with Session(database) as session:
        secret = stored_secret(session, CURSOR_SECRET_NAME)
    assert len(secret) == 32
    assert (CURSOR_SECRET_NAME, secret.hex()) in secret_rows(database)
    with Session(database) as session:
        assert stored_secret(session, CURSOR_SECRET_NAME) == secret


def test_a_removed_cursor_key_is_made_again_from_a_session_on_a_connection(
    database: Engine,
) -> None:
    remove_cursor_secret(database)
    with database.connect() as connection, Session(bind=connection) as session:
        secret = stored_secret(session, CURSOR_SECRET_NAME)
    assert (CURSOR_SECRET_NAME, secret.hex()) in secret_rows(database)


def test_the_payload_is_the_documented_json_triple() -> None:
    # tests/api/test_cursor_forgery.py forges cursors by editing this triple.
    token = CODEC.encode(Cursor(key=[2.5, 3], snapshot=4, query_hash=HASH))
    encoded = token.partition(".")[0]
    body = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    assert json.loads(body) == [[2.5, 3], 4, HASH]
