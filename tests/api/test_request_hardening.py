"""Requests that once crashed, stalled or bloated the server (issue 12, findings 3, 6, 8, 11):
keys before bodies, bounded bodies and nesting, dates at the calendar's edges, control
characters in parameters, and JSON for every error the server can shape."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.config import Settings
from app.limits_json import TRUNCATED, JsonTooDeep, check_json_depth, json_depth
from tests.clients import client_for
from tests.server import running_server

KEY = "correct-horse-battery-staple-7f3a"
KEY_HASH = hashlib.sha256(KEY.encode()).hexdigest()
AUTH = {"X-Api-Key": KEY}
ARTICLE = {
    "title": "Kabul hosts a regional water summit",
    "body": "KABUL — Ministers from Afghanistan, Uzbekistan and Tajikistan met in Kabul.",
    "url": "https://wire.example/2024/06/water-summit",
    "published": "2024-06-03",
}
SECURITY_HEADERS = ("x-content-type-options", "content-security-policy", "x-frame-options")


def nested(depth: int) -> object:
    """A list nested `depth` levels deep."""
    value: object = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.fixture
def keyed(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    limits = {"api_key_hash": KEY_HASH, "max_body_bytes": 100_000, "max_json_depth": 32}
    with client_for(settings.model_copy(update=limits), engine) as client:
        yield client


def assert_error(response: object, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["code"] == code, body
    return body


# Finding 3: the key before the body; the body's size and nesting bounded.


def test_invalid_json_without_a_key_is_refused_for_the_key(keyed: TestClient) -> None:
    """Parsing used to come first: invalid JSON without a key answered 422."""
    response = keyed.post(
        "/articles", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 401, "missing_api_key")
    wrong = keyed.post("/articles", content=b"{not json", headers={"X-Api-Key": "nope"})
    assert_error(wrong, 403, "invalid_api_key")


def test_a_body_over_the_limit_is_413_whatever_it_holds(keyed: TestClient) -> None:
    """A big list in `extra` used to pass: only string fields counted toward the size."""
    bulky = {**ARTICLE, "figures": list(range(30_000))}  # ~200 KB of numbers, no long string
    body = assert_error(keyed.post("/articles", json=bulky, headers=AUTH), 413, "payload_too_large")
    assert body["extra"] == {"limit_bytes": 100_000}
    assert "100000-byte" in str(body["detail"])


def test_a_streamed_body_over_the_limit_is_413(keyed: TestClient) -> None:
    """No Content-Length (chunked): counted as it arrives."""

    def chunks() -> Iterator[bytes]:
        yield b'{"title": "x", "body": "'
        for _ in range(50):
            yield b"y" * 4_096
        yield b'"}'

    response = keyed.post("/articles", content=chunks(), headers=AUTH)
    assert_error(response, 413, "payload_too_large")


def test_nesting_past_the_limit_is_422_and_within_it_is_kept(keyed: TestClient) -> None:
    deep = {**ARTICLE, "tree": nested(40)}
    body = assert_error(keyed.post("/articles", json=deep, headers=AUTH), 422, "json_too_deep")
    assert body["extra"] == {"max_depth": 32}
    fine = {**ARTICLE, "tree": nested(20)}
    added = keyed.post("/articles", json=fine, headers=AUTH)
    assert added.status_code == 201, added.text
    stored = keyed.get(f"/articles/{added.json()['id']}").json()
    assert json_depth(stored["extra"]["tree"]) == 20


def test_depth_is_checked_before_parsing_even_past_pythons_recursion() -> None:
    """100,000 levels would make the stdlib parser raise RecursionError."""
    with pytest.raises(JsonTooDeep):
        check_json_depth(b"[" * 100_000 + b"]" * 100_000, 32)
    with pytest.raises(JsonTooDeep):
        check_json_depth(b"[" * 100_000, 32)  # unbalanced, as a truncated upload
    check_json_depth(json.dumps(nested(32)), 32)
    check_json_depth('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', 2)
    check_json_depth(b'{"a": [1, 2}', 32)  # malformed but shallow: left to the parser


def test_a_date_beyond_utc_in_a_posted_article_is_422(keyed: TestClient) -> None:
    """0001-01-01T00:00:00+14:00 is before year 1 in UTC: it used to answer 500."""
    early = {**ARTICLE, "published": "0001-01-01T00:00:00+14:00"}
    response = keyed.post("/articles", json=early, headers=AUTH)
    assert_error(response, 422, "invalid_article")
    assert "outside years 1 to 9999" in response.json()["detail"]


# Finding 6: dates at the edges of the calendar, deep stored values, and the shape of a 500.


@pytest.mark.parametrize(
    "params",
    [
        {"to": "9999-12-31T23:59:59-14:00"},
        {"from": "0001-01-01T00:00:00+14:00"},
        {"from": "0001-01-01T00:00:00+14:00", "to": "9999-12-31T23:59:59-14:00"},
        {"from": "9999-12-31T23:59:59-14:00"},
        {"to": "0001-01-01T00:00:00+14:00"},
        {"from": "0001-01-01", "to": "9999-12-31"},
    ],
)
def test_dates_at_the_calendars_edges_never_answer_500(
    client: TestClient, params: dict[str, str]
) -> None:
    requests = [(path, params) for path in ("/articles", "/articles.atom", "/articles/export")]
    requests += [("/timeline", {**params, "interval": i}) for i in ("day", "week", "month")]
    for path, query in requests:
        response = client.get(path, params=query)
        assert response.status_code in (200, 400, 422), (path, query, response.text)
    if params.get("to", "").startswith("9999"):
        # Held at the last representable moment: every dated article.
        dated = client.get("/articles", params={"to": "9999-12-31"}).json()["total"]
        assert client.get("/articles", params=params).json()["total"] == dated >= 1


def test_a_stored_extra_nested_too_deep_is_shown_cut(
    client: TestClient, engine: Engine, seed_ids: dict[str, int]
) -> None:
    """Stored before the write limit existed: its GET answered 500 for ever."""
    article_id = seed_ids["000"]
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE article SET extra = :extra WHERE id = :id"),
            {"extra": json.dumps({"tree": nested(500), "desk": "asia"}), "id": article_id},
        )
    response = client.get(f"/articles/{article_id}")
    assert response.status_code == 200, response.text
    extra = response.json()["extra"]
    assert extra["desk"] == "asia"
    assert json_depth(extra) <= 33  # extra itself, then max_json_depth levels
    assert TRUNCATED in json.dumps(extra, ensure_ascii=False)


def failing_app(tmp_path: Path) -> FastAPI:
    from app.main import create_app

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'none.db'}"))

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    return app


def test_an_unexpected_error_carries_the_request_id_and_headers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The 500 came from outside every middleware: no X-Request-ID, no security headers,
    and request_id null in its log line."""
    from app.observability import request_id_var

    seen: list[str | None] = []

    class RequestIds(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.name == "newsdesk.errors":
                seen.append(request_id_var.get())

    handler = RequestIds()
    logging.getLogger("newsdesk.errors").addHandler(handler)
    try:
        with TestClient(failing_app(tmp_path), raise_server_exceptions=False) as client:
            response = client.get("/boom", headers={"X-Request-ID": "boom-1"})
    finally:
        logging.getLogger("newsdesk.errors").removeHandler(handler)
    assert_error(response, 500, "internal_error")
    assert response.json()["detail"] == "internal error; the server log has details"
    assert response.headers["x-request-id"] == "boom-1"
    for header in SECURITY_HEADERS:
        assert header in response.headers, header
    assert seen == ["boom-1"]
    assert "RuntimeError: a bug" in caplog.text


# Finding 8: control characters in query parameters.


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("source=Amu%%0000TV", "source"),  # stripping %00 once left a new %00
        ("source=Amu%00TV", "source"),
        ("q=a%00b", "q"),
        ("q=bell%07", "q"),
        ("q=del%7F", "q"),
        ("q=next-line%C2%85", "q"),  # U+0085, a C1 control
        ("entity=x&tag=ok&language=e%1Bn", "language"),
        ("q%00=x", "q\x00"),
    ],
)
def test_control_characters_in_parameters_are_422(
    client: TestClient, query: str, parameter: str
) -> None:
    response = client.get(f"/articles?{query}")
    body = assert_error(response, 422, "invalid_parameter")
    assert body["extra"] == {"parameter": parameter}
    assert "control character" in str(body["detail"])
    for header in SECURITY_HEADERS:
        assert header in response.headers


def test_tabs_and_newlines_in_a_query_are_whitespace(client: TestClient) -> None:
    plain = client.get("/articles", params={"q": "Taliban Moscow"}).json()["total"]
    spaced = client.get("/articles?q=Taliban%09Moscow%0D%0A").json()["total"]
    assert spaced == plain >= 1


# Finding 11: replies shaped by the HTTP protocol layer, and limits on a real server.


def raw_exchange(url: str, request: bytes, read_timeout: float = 10) -> bytes:
    """Send raw bytes to the server and read what it answers until it closes or pauses."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=read_timeout) as connection:
        connection.sendall(request)
        received = b""
        try:
            while chunk := connection.recv(65_536):
                received += chunk
                if b"\r\n\r\n" in received and received_whole(received):
                    break
        except TimeoutError:
            pass
    return received


def received_whole(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def parse_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server (`newsdesk serve`) with the API key and a 100 KB body limit."""
    from app.db import upgrade_database

    folder = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{folder / 'newsdesk.db'}"
    upgrade_database(url)
    env = {"NEWSDESK_API_KEY": KEY, "NEWSDESK_MAX_BODY_BYTES": "100000"}
    with running_server(url, folder / "server.log", env, cli=True) as server:
        yield server.url


def test_a_200_mb_post_without_a_key_is_refused_before_its_body(live: str) -> None:
    """Only the headers are sent: the answer must not wait for (or read) 200 MB."""
    request = (
        b"POST /articles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 200000000\r\n\r\n{"
    )
    started = time.monotonic()
    status, _headers, body = parse_response(raw_exchange(live, request, read_timeout=5))
    assert time.monotonic() - started < 3
    assert status == 401
    assert json.loads(body)["code"] == "missing_api_key"


def test_a_declared_body_over_the_limit_is_413_at_once(live: str) -> None:
    request = (
        b"POST /articles HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + KEY.encode() + b"\r\n"
        b"Content-Length: 200000000\r\n\r\n{"
    )
    status, headers, body = parse_response(raw_exchange(live, request, read_timeout=5))
    assert status == 413
    assert json.loads(body)["code"] == "payload_too_large"
    assert "x-request-id" in headers and "content-security-policy" in headers


def test_a_chunked_body_is_cut_off_at_the_limit(live: str) -> None:
    """No Content-Length: the server answers 413 once 100 KB have streamed in, while the
    client is still sending."""
    host, port = live.removeprefix("http://").split(":")
    head = (
        b"POST /articles HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + KEY.encode() + b"\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"y" * 8_192
    sent = 0
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(head)
        connection.setblocking(False)
        received = b""
        for _ in range(2_000):  # up to 16 MB, far past the limit
            try:
                connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                received += connection.recv(65_536)
            except BlockingIOError:
                time.sleep(0.01)
            except (BrokenPipeError, ConnectionResetError):
                break
            if b"\r\n\r\n" in received:
                break
        connection.settimeout(5)  # bounded: an old server never answers
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            received += connection.recv(65_536)
    status, _headers, body = parse_response(received)
    assert status == 413
    assert json.loads(body)["code"] == "payload_too_large"
    assert sent < 2_000_000


def test_a_100_kb_request_line_gets_the_json_error(live: str) -> None:
    """uvicorn's own reply was `400 Invalid HTTP request received.` in text/plain."""
    request = b"GET /articles?q=" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    status, headers, body = parse_response(raw_exchange(live, request))
    assert status in (400, 414)
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["code"] in ("invalid_http_request", "uri_too_long")
    for header in SECURITY_HEADERS:
        assert header in headers, header


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
)
def test_malformed_requests_get_the_json_error(live: str, request_bytes: bytes) -> None:
    status, headers, body = parse_response(raw_exchange(live, request_bytes))
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "detail": "the request is not valid HTTP/1.1",
        "code": "invalid_http_request",
    }
    assert headers["connection"] == "close"
    for header in SECURITY_HEADERS:
        assert header in headers, header


@pytest.mark.parametrize("protocol", ["JsonErrorsH11Protocol", "JsonErrorsHttpToolsProtocol"])
def test_both_http_implementations_answer_json(
    protocol: str, empty_db: str, tmp_path: Path
) -> None:
    with running_server(
        empty_db, tmp_path / "server.log", uvicorn_args=("--http", f"app.http_protocol:{protocol}")
    ) as server:
        request = b"GET /articles?q=" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        status, headers, _body = parse_response(raw_exchange(server.url, request))
        assert status in (400, 414)
        assert headers["content-type"] == "application/json"
        garbage = parse_response(raw_exchange(server.url, b"NOT HTTP\r\n\r\n"))
        assert garbage[0] == 400
        assert json.loads(garbage[2])["code"] == "invalid_http_request"
