"""Snippets are safe HTML: stored text escaped, only the highlight markers inserted, and the
markers themselves plain tags (mark, b, em, strong) or plain text (issue 12, finding 9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from app.db import create_db_engine
from app.search.passages import highlight_query, needles, passage_window
from app.search.query import parse_query
from app.search.text import Highlight, InvalidHighlight, render_snippet
from tests.clients import client_for
from tests.helpers import ingest_paths, settings_for

HOSTILE_BODY = (
    "Before the \x02trap\x03 comes <script>alert(1)</script> & a zebra "
    "with \"quotes\" and 'apostrophes'."
)
UNSAFE_MARKERS = [
    ("<img src=x onerror=alert(1)>", "</mark>"),
    ("<mark>", "<img src=x onerror=alert(1)>"),
    ('<b class="x">', "</b>"),
    ("<b>", "</mark>"),
    ("<script>", "</script>"),
    ("&lt;", "&gt;"),
    ("\x02", "\x03"),
    ('"', '"'),
]


@pytest.fixture
def hostile_db(empty_db: str, tmp_path: Path) -> str:
    """One article whose stored body holds the internal markers and HTML."""
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "zebra.txt").write_text("Crossing\n\nPlaceholder zebra body.\n")
    settings = settings_for(empty_db)
    ingest_paths(settings, folder, nlp=False)
    engine = create_db_engine(settings)
    # Stored as is, whatever ingest would have cleaned: the snippet must cope with any text.
    with Session(engine) as session:
        session.execute(text("UPDATE article SET body = :body"), {"body": HOSTILE_BODY})
        session.commit()
    engine.dispose()
    return empty_db


def search(database_url: str, **params: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    settings = settings_for(database_url)
    engine = create_db_engine(settings)
    try:
        with client_for(settings, engine) as client:
            response = client.get("/articles", params={"q": "zebra", **params})
    finally:
        engine.dispose()
    return response.status_code, response.json()


def test_stored_text_is_escaped_and_only_matches_are_marked(hostile_db: str) -> None:
    status, page = search(hostile_db)
    assert status == 200, page
    snippet = page["items"][0]["snippet"]
    assert "<mark>zebra</mark>" in snippet
    assert snippet.count("<mark>") == snippet.count("</mark>") == 1
    # Escaped; PostgreSQL's ts_headline drops what its parser takes for tags altogether.
    assert "<script>" not in snippet and "</script>" not in snippet
    assert "&lt;script&gt;" in snippet or "script" not in snippet
    assert "\x02" not in snippet and "\x03" not in snippet
    assert "trap" in snippet and "<mark>trap" not in snippet


@pytest.mark.parametrize(
    ("opening", "closing"),
    [("<b>", "</b>"), ("<em>", "</em>"), ("<strong>", "</strong>"), ("[", "]"), ("", "")],
)
def test_plain_tags_and_plain_text_markers_are_used(
    hostile_db: str, opening: str, closing: str
) -> None:
    status, page = search(hostile_db, highlight_open=opening, highlight_close=closing)
    assert status == 200, page
    assert f"{opening}zebra{closing}" in page["items"][0]["snippet"]


@pytest.mark.parametrize(("opening", "closing"), UNSAFE_MARKERS)
def test_other_markers_answer_422(hostile_db: str, opening: str, closing: str) -> None:
    for export in ("json", "jsonl"):
        status, body = search(
            hostile_db, highlight_open=opening, highlight_close=closing, format=export
        )
        assert status == 422, body
        assert body["code"] == "invalid_parameter"
        assert "highlight" in body["detail"]


def test_unsafe_markers_do_not_matter_without_highlighting(hostile_db: str) -> None:
    status, page = search(
        hostile_db, highlight="false", highlight_open="<img src=x onerror=alert(1)>"
    )
    assert status == 200
    assert "<" not in page["items"][0]["snippet"].replace("&lt;", "")


@pytest.mark.parametrize(("opening", "closing"), UNSAFE_MARKERS)
def test_highlight_refuses_unsafe_markers(opening: str, closing: str) -> None:
    with pytest.raises(InvalidHighlight):
        Highlight(opening, closing)


def test_render_snippet_escapes_everything_but_the_markers() -> None:
    raw = "a <i>b</i> & \x02c\x03"
    assert render_snippet(raw, Highlight()) == "a &lt;i&gt;b&lt;/i&gt; &amp; <mark>c</mark>"
    assert render_snippet(raw, None) == "a &lt;i&gt;b&lt;/i&gt; &amp; c"


def test_the_passage_window_removes_control_characters() -> None:
    found = needles(highlight_query(parse_query("zebra")))
    assert passage_window("x\x02y\x03 zebra\x00", found, 1_000) == "x y  zebra "


def test_the_passage_window_is_bounded_and_centred_on_the_first_match() -> None:
    body = "lorem " * 2_000 + "Zébra crossing " + "ipsum " * 100_000
    found = needles(highlight_query(parse_query("zebra")))
    window = passage_window(body, found, 1_000)
    assert window is not None and len(window) <= 1_000
    assert "Zébra crossing" in window and window.startswith("lorem")
    # Beyond the scanned part, the window is the text's opening.
    far = "lorem " * 4_000 + "zebra"
    opening = passage_window(far, found, 1_000)
    assert opening is not None and far.startswith(opening) and 990 < len(opening) <= 1_000
