"""format=csv and format=jsonl on /articles: the whole result set, streamed, each row once."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from app.api.exports import CSV_COLUMNS, csv_chunks
from app.config import Settings
from app.db import create_db_engine
from app.models import Article
from app.schemas import ArticleSummary, EntityRef, SourceRef
from tests.clients import client_with
from tests.helpers import ingest_paths, settings_for

TRICKY = {
    "title": 'AT&T <b>bold</b> "quoted", with a comma',
    "body": 'A first line, with a comma.\n\nA second paragraph with "quotes" and <tags> & more.',
    "author": "O'Brien & <Sons>",
    "publisher": "Test & Co",
    "published": "2024-12-01",
    "url": "https://example.com/a?x=1&y=2",
}


def export(client: TestClient, fmt: str, params: list[tuple[str, str]]) -> Any:
    response = client.get("/articles", params=[*params, ("format", fmt)])
    assert response.status_code == 200, response.text
    return response


def csv_rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert reader.fieldnames == CSV_COLUMNS
    return list(reader)


def jsonl_items(text: str) -> list[dict[str, Any]]:
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_csv_export_of_the_seeds(client: TestClient, seed_ids: dict[str, int]) -> None:
    response = export(client, "csv", [])
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="newsdesk-articles-')
    assert disposition.endswith('.csv"')
    assert response.headers["x-total-count"] == "5"
    rows = csv_rows(response.text)
    assert sorted(int(row["id"]) for row in rows) == sorted(seed_ids.values())
    by_id = {int(row["id"]): row for row in rows}
    khorasan = by_id[seed_ids["002"]]
    assert khorasan["source"] == "The Khorasan Diary"
    assert khorasan["published_at"].startswith("2024-05-29")
    assert "Dmitry Medvedev" in khorasan["entities"].split(";")
    # Newest first by default, undated last, as on /articles.
    page_ids = [item["id"] for item in client.get("/articles").json()["items"]]
    assert [int(row["id"]) for row in rows] == page_ids


def test_jsonl_export_lines_are_article_items(client: TestClient) -> None:
    response = export(client, "jsonl", [("q", "Taliban"), ("sort", "relevance")])
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.headers["content-disposition"].endswith('.jsonl"')
    items = jsonl_items(response.text)
    page = client.get("/articles", params={"q": "Taliban"}).json()
    assert [item["id"] for item in items] == [item["id"] for item in page["items"]]
    assert all(ArticleSummary.model_validate(item) for item in items)
    assert any("<mark>" in (item["snippet"] or "") for item in items)
    # Exports list every entity, not only the page's top five.
    assert max(len(item["entities"]) for item in items) > 5


def test_exports_apply_the_filters(client: TestClient, seed_ids: dict[str, int]) -> None:
    rows = csv_rows(export(client, "csv", [("entity", "Dmitry Medvedev")]).text)
    assert [int(row["id"]) for row in rows] == [seed_ids["002"]]
    # CSV snippets are plain text: no markers, no HTML escapes.
    highlighted = csv_rows(export(client, "csv", [("q", "Medvedev")]).text)[0]["snippet"]
    assert "Medvedev" in highlighted and "<mark>" not in highlighted and "&amp;" not in highlighted


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    formula = '=HYPERLINK("http://evil.example","click")'
    path = tmp_path / "formula.json"
    article = {**TRICKY, "title": formula, "author": "@sum(A1)", "url": "http://x.example/f"}
    path.write_text(json.dumps(article), encoding="utf-8")
    assert ingest_paths(settings, path, nlp=False).failed == 0  # type: ignore[attr-defined]
    row = csv_rows(export(client, "csv", [("source", "Test & Co")]).text)[0]
    assert (row["title"], row["author"]) == ("'" + formula, "'@sum(A1)")
    item = jsonl_items(export(client, "jsonl", [("source", "Test & Co")]).text)[0]
    assert item["title"] == formula  # JSON lines keep the text as it is


def test_an_export_without_matches_is_a_header_or_nothing(client: TestClient) -> None:
    params = [("q", "xylophonequartet")]
    assert csv_rows(export(client, "csv", params).text) == []
    assert export(client, "jsonl", params).text == ""


def test_csv_quoting_and_escaping_survive_a_round_trip(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "tricky.json"
    path.write_text(json.dumps(TRICKY), encoding="utf-8")
    report = ingest_paths(settings, path, nlp=False)
    assert report.failed == 0  # type: ignore[attr-defined]
    rows = csv_rows(export(client, "csv", [("source", "Test & Co")]).text)
    assert len(rows) == 1
    assert rows[0]["title"] == TRICKY["title"]
    assert rows[0]["author"] == TRICKY["author"]
    assert rows[0]["url"] == TRICKY["url"]
    item = jsonl_items(export(client, "jsonl", [("source", "Test & Co")]).text)[0]
    assert item["title"] == TRICKY["title"]


def test_csv_cells_with_separators_quotes_and_newlines_are_quoted() -> None:
    item = ArticleSummary(
        id=7,
        title='one, "two"\nthree',
        url=None,
        source=SourceRef(id=1, name="A;B"),
        author=None,
        published_at=None,
        language="en",
        snippet="x &amp; y",
        entities=[
            EntityRef(id=1, name="Ann", type="person", mentions=2),
            EntityRef(id=2, name="Bob", type="person", mentions=1),
        ],
    )
    text = "".join(csv_chunks([[item], [item]]))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == CSV_COLUMNS
    assert (
        rows[1]
        == rows[2]
        == ["7", 'one, "two"\nthree', "", "A;B", "", "", "en", "Ann;Bob", "x & y"]
    )


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ([("format", "csv"), ("cursor", "abc")], "invalid_parameter"),
        ([("format", "jsonl"), ("facets", "source")], "invalid_parameter"),
        ([("format", "xml")], "invalid_parameter"),
        ([("format", "csv"), ("q", "(Taliban")], "invalid_query"),
        ([("format", "csv"), ("sort", "relevance")], "invalid_parameter"),
    ],
)
def test_bad_export_requests_are_json_errors(
    client: TestClient, params: list[tuple[str, str]], code: str
) -> None:
    response = client.get("/articles", params=params)
    assert response.status_code in (400, 422)
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == code


def all_ids(database_url: str) -> list[int]:
    engine = create_db_engine(settings_for(database_url))
    try:
        with Session(engine) as session:
            return sorted(session.execute(select(Article.id)).scalars())
    finally:
        engine.dispose()


def walk_pages(client: TestClient, params: list[tuple[str, str]]) -> tuple[list[int], int]:
    """Every id /articles lists for params, page by page, and the total it reports."""
    walked: list[int] = []
    cursor: str | None = None
    while True:
        paging = [("limit", "100"), *([("cursor", cursor)] if cursor else [])]
        page = client.get("/articles", params=[*params, *paging]).json()
        walked += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return walked, page["total"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_export_in_many_batches_lists_each_seed_once(seeded_db: str, fmt: str) -> None:
    with client_with(seeded_db, export_batch_size=2) as small_batches:
        text = export(small_batches, fmt, []).text
        walked, _ = walk_pages(small_batches, [])
    ids = (
        [int(row["id"]) for row in csv_rows(text)]
        if fmt == "csv"
        else [item["id"] for item in jsonl_items(text)]
    )
    assert ids == walked and len(ids) == 5


@pytest.mark.corpus
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_bbc_export_has_every_article_exactly_once(bbc_db: str, fmt: str) -> None:
    stored = all_ids(bbc_db)
    # 2,225 files; files with identical text are stored as one article with several origins.
    assert len(stored) > 2000
    with client_with(bbc_db, export_batch_size=300) as bbc_client:
        response = export(bbc_client, fmt, [])
    assert response.headers["x-total-count"] == str(len(stored))
    if fmt == "csv":
        ids = [int(row["id"]) for row in csv_rows(response.text)]
    else:
        ids = [item["id"] for item in jsonl_items(response.text)]
    assert len(ids) == len(set(ids)) == len(stored)
    assert sorted(ids) == stored


@pytest.mark.corpus
def test_bbc_export_of_a_search_matches_walking_the_pages(bbc_db: str) -> None:
    params = [("q", "market OR shares"), ("tag", "business")]
    with client_with(bbc_db, export_batch_size=50) as bbc_client:
        rows = csv_rows(export(bbc_client, "csv", [*params, ("sort", "relevance")]).text)
        walked, total = walk_pages(bbc_client, params)
    assert len(rows) == total > 100  # several export batches
    assert [int(row["id"]) for row in rows] == walked
