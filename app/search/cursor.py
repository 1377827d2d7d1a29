"""Opaque keyset cursors: where the previous page ended, for which query, as of which snapshot.

A cursor is signed (HMAC-SHA256 with the server's cursor secret), so a client can hand back
only what the server wrote; every field is still checked for type and range after the
signature, so a cursor written by an older release (another key shape) is refused too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.db import session_engine
from app.models import MAX_ID, ServerSecret

if TYPE_CHECKING:
    from app.config import Settings

CURSOR_SECRET_NAME = "cursor"
_SIGNATURE_BYTES = 16
_NOT_OURS = "cursor is not valid: pass next_cursor from a previous page unchanged"


class InvalidCursor(ValueError):
    """The cursor is malformed, forged, or belongs to another query."""


@dataclass(frozen=True)
class Cursor:
    """`key` is the last row's sort key; `snapshot` the newest article id of the first page.

    Ids only grow, so filtering on id <= snapshot keeps later pages of a walk from
    picking up articles ingested after it began.
    """

    key: list[Any]
    snapshot: int
    query_hash: str


# Whether a decoded key (and the snapshot it came with) has the shape its sort order writes.
KeyCheck = Callable[[list[Any], int], bool]


def query_fingerprint(params: dict[str, Any]) -> str:
    """A short hash of the parameters a cursor is only valid for."""
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class CursorCodec:
    """Writes and reads cursors signed with one secret."""

    secret: bytes

    def _signature(self, payload: str) -> str:
        digest = hmac.new(self.secret, payload.encode(), hashlib.sha256).digest()
        return _b64(digest[:_SIGNATURE_BYTES])

    def encode(self, cursor: Cursor) -> str:
        body = json.dumps(
            [cursor.key, cursor.snapshot, cursor.query_hash],
            separators=(",", ":"),
            allow_nan=False,
        )
        payload = _b64(body.encode())
        return f"{payload}.{self._signature(payload)}"

    def decode(self, token: str, expected_hash: str, valid_key: KeyCheck) -> Cursor:
        """The cursor in `token`; InvalidCursor unless this server wrote it for this query."""
        payload, _, signature = token.partition(".")
        if not hmac.compare_digest(self._signature(payload), signature):
            raise InvalidCursor(_NOT_OURS)
        try:
            decoded = json.loads(_unb64(payload), parse_constant=_refuse_constant)
            key, snapshot, query_hash = decoded
        except (ValueError, TypeError, binascii.Error) as error:
            raise InvalidCursor(_NOT_OURS) from error
        if query_hash != expected_hash:
            raise InvalidCursor(
                "cursor belongs to a different query: keep the other parameters unchanged "
                "while paging, or start again without cursor"
            )
        if not (is_id(snapshot, lowest=0) and isinstance(key, list) and valid_key(key, snapshot)):
            raise InvalidCursor(_NOT_OURS)
        return Cursor(key=key, snapshot=snapshot, query_hash=query_hash)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a cursor holds")


# Checks of the values keys are made of; bool is an int subclass and never a key part.


def is_id(value: Any, lowest: int = 1) -> bool:
    return type(value) is int and lowest <= value <= MAX_ID


def is_count(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_ID


def is_score(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def is_timestamp(value: Any) -> bool:
    """An ISO 8601 date-time with a zone that UTC can also write, as sort keys hold dates."""
    if not isinstance(value, str) or len(value) > 40:
        return False
    try:
        moment = datetime.fromisoformat(value)
        return moment.tzinfo is not None and moment.astimezone(UTC) is not None
    except (ValueError, OverflowError):
        return False


def stored_secret(session: Session, name: str) -> bytes:
    """The named secret kept in the database, created (random, 32 bytes) when missing.

    Read in the caller's own transaction (a second one could wait on the first's lock).
    Every server on one database reads the same secret, so a cursor from one is valid on all.
    """
    row = session.execute(
        select(col(ServerSecret.value)).where(col(ServerSecret.name) == name)
    ).first()
    if row is not None:
        return bytes.fromhex(row[0])
    # Only when the row was removed by hand: the migration makes it.
    try:
        with Session(session_engine(session)) as writer, writer.begin():
            writer.add(ServerSecret(name=name, value=secrets.token_hex(32)))
    except IntegrityError:
        pass  # another process created it first: read theirs
    session.rollback()  # see the new row
    return stored_secret(session, name)


_stored_codecs: dict[str, CursorCodec] = {}


def codec_for(session: Session, settings: Settings) -> CursorCodec:
    """Signs and checks cursors: with settings.cursor_secret, else the database's own key
    (read once per database and process)."""
    if settings.cursor_secret is not None:
        return CursorCodec(settings.cursor_secret.get_secret_value().encode())
    database = session_engine(session).url.render_as_string(hide_password=False)
    if database not in _stored_codecs:
        _stored_codecs[database] = CursorCodec(stored_secret(session, CURSOR_SECRET_NAME))
    return _stored_codecs[database]
