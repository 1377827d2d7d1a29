"""/articles.atom: any search as a valid Atom 1.0 feed, newest first, parsed with feedparser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import feedparser
import pytest
from fastapi.testclient import TestClient
from lxml import etree

from app.config import Settings
from tests.helpers import ingest_paths

ATOM = "{http://www.w3.org/2005/Atom}"


def feed(client: TestClient, params: list[tuple[str, str]]) -> Any:
    response = client.get("/articles.atom", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def assert_required_atom_elements(xml: bytes) -> None:
    """RFC 4287: a feed and each entry have exactly one id, title and updated."""
    root = etree.fromstring(xml)
    assert root.tag == f"{ATOM}feed"
    for element in [root, *root.findall(f"{ATOM}entry")]:
        for name in ("id", "title", "updated"):
            assert len(element.findall(f"{ATOM}{name}")) == 1, (element.tag, name)
    assert root.find(f"{ATOM}author/{ATOM}name") is not None


def test_feed_of_all_seeds_is_newest_first(client: TestClient, seed_ids: dict[str, int]) -> None:
    parsed = feed(client, [])
    assert parsed.feed.title == "Newsdesk: latest articles"
    assert parsed.feed.id.endswith("/articles.atom")
    assert len(parsed.entries) == 5
    page = client.get("/articles", params={"sort": "-published_at"}).json()
    assert [e.title for e in parsed.entries] == [
        item["title"] or f"Article {item['id']} (untitled)" for item in page["items"]
    ]
    published = [e.published for e in parsed.entries if "published" in e]
    assert len(published) == 3
    assert published == sorted(published, reverse=True)
    ids = [e.id for e in parsed.entries]
    assert len(set(ids)) == 5
    assert all(i.startswith("tag:testserver,2024:article:") for i in ids)
    khorasan = next(e for e in parsed.entries if e.id.endswith(f":{seed_ids['002']}"))
    assert khorasan.link.startswith("https://thekhorasandiary.com/")
    assert khorasan.author == "TKD Team"
    assert khorasan.published.startswith("2024-05-29")
    assert_required_atom_elements(client.get("/articles.atom").content)


def test_feed_of_a_search_has_highlighted_summaries(client: TestClient) -> None:
    parsed = feed(client, [("q", "Medvedev")])
    assert parsed.feed.title == "Newsdesk: Medvedev"
    assert len(parsed.entries) == 1
    assert "Medvedev" in parsed.entries[0].summary
    assert parsed.entries[0].summary_detail.type == "text/html"
    # feedparser's sanitizer drops <mark>; the feed itself carries it, escaped as XML text.
    root = etree.fromstring(client.get("/articles.atom", params={"q": "Medvedev"}).content)
    summary = root.find(f"{ATOM}entry/{ATOM}summary")
    assert summary is not None and summary.get("type") == "html"
    assert "<mark>Medvedev</mark>" in (summary.text or "")


def test_feed_applies_filters_and_limit(client: TestClient) -> None:
    assert len(feed(client, [("source", "Asia Times")]).entries) == 1
    assert len(feed(client, [("limit", "2")]).entries) == 2
    assert feed(client, [("q", "xylophonequartet")]).entries == []


def test_feed_escapes_markup_and_drops_characters_xml_cannot_hold(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    tricky = {
        "title": "AT&T <b>not bold</b> ]]> \x0b done",
        "body": "Body with <script>alert(1)</script> & an ampersand.",
        "author": "O'Brien & <Sons>",
        "publisher": "Test & Co",
        "published": "2030-01-01",
        "url": "https://example.com/a?x=1&y=2",
    }
    path = tmp_path / "tricky.json"
    path.write_text(json.dumps(tricky), encoding="utf-8")
    assert ingest_paths(settings, path, nlp=False).failed == 0  # type: ignore[attr-defined]
    response = client.get("/articles.atom", params={"q": "ampersand"})
    assert_required_atom_elements(response.content)
    # The summary is HTML in which the body's markup is text (or dropped), never markup.
    root = etree.fromstring(response.content)
    summary_html = root.findtext(f"{ATOM}entry/{ATOM}summary") or ""
    assert "ampersand" in summary_html and "<script" not in summary_html
    entry = feed(client, [("q", "ampersand")]).entries[0]
    assert entry.title.startswith("AT&T <b>not bold</b> ]]>")
    assert "\x0b" not in entry.title
    assert entry.author == "O'Brien & <Sons>"
    assert entry.link == "https://example.com/a?x=1&y=2"
    # The newest article (2030) leads the unfiltered feed.
    assert feed(client, []).entries[0].title == entry.title


@pytest.mark.parametrize(
    ("params", "status", "code", "detail"),
    [
        ([("limit", "0")], 422, "invalid_parameter", "limit: Input should be greater than"),
        ([("limit", "101")], 422, "invalid_parameter", "limit: Input should be less than"),
        ([("q", "(")], 400, "invalid_query", "q: unclosed parenthesis (at character 0)"),
        ([("source", "Nowhere")], 404, "unknown_source", "unknown source 'Nowhere'"),
    ],
    ids=["limit-0", "limit-101", "unclosed-parenthesis", "unknown-source"],
)
def test_bad_feed_requests_are_the_json_errors_of_articles(
    client: TestClient, params: list[tuple[str, str]], status: int, code: str, detail: str
) -> None:
    """A feed reader gets no feed but the error /articles gives for the same parameters: a
    form error is a 422, a query the parser refuses a 400 with where and why, a source
    nobody knows a 404 (the feed of a typo would otherwise look empty forever)."""
    response = client.get("/articles.atom", params=params)
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert (response.status_code, body["code"]) == (status, code)
    assert body["detail"].startswith(detail)
    assert response.json() == client.get("/articles", params=params).json()


def test_a_feed_of_a_misspelt_source_is_a_404_that_suggests_the_name(client: TestClient) -> None:
    response = client.get("/articles.atom", params={"source": "Amu TB"})
    assert (response.status_code, response.json()["code"]) == (404, "unknown_source")
    assert "Amu TV" in response.json()["extra"]["suggestions"]


@pytest.mark.corpus
def test_bbc_feed_of_a_category(bbc_client: TestClient) -> None:
    parsed = feed(bbc_client, [("tag", "tech"), ("q", "broadband"), ("limit", "100")])
    total = bbc_client.get("/articles", params={"tag": "tech", "q": "broadband"}).json()["total"]
    assert len(parsed.entries) == min(total, 100) > 10
    # Undated articles, newest first: by id, highest first.
    numbers = [int(e.id.rsplit(":", 1)[1]) for e in parsed.entries]
    assert numbers == sorted(numbers, reverse=True)
    assert all(e.title and e.link and e.updated for e in parsed.entries)
