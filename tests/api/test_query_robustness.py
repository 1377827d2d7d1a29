"""Any q string gets results or a clear 400 through the real API; cursors survive ingest."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import Settings
from tests.helpers import SEEDS_DIR, ingest_paths

QUERY_PIECES = st.sampled_from(
    [
        '"',
        "(",
        ")",
        "*",
        "-",
        "+",
        ":",
        "^",
        "AND",
        "OR",
        "NOT",
        "NEAR",
        "and",
        "or",
        "not",
        "Taliban",
        "Putin",
        "russ*",
        '"Belt and Road"',
        "é",
        "\x00",
        "{",
        "}",
        " ",
        "'",
        ",",
    ]
)
QUERIES = st.one_of(
    st.text(max_size=60),
    st.lists(QUERY_PIECES, max_size=12).map(" ".join),
    st.lists(QUERY_PIECES, max_size=12).map("".join),
)


# The characters the server refuses in a parameter: C0 but tab, LF and CR; DEL; C1.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(q=QUERIES, search_in=st.sampled_from(["all", "title", "body"]))
def test_any_query_gets_results_or_a_400_never_a_500(
    client: TestClient, q: str, search_in: str
) -> None:
    response = client.get("/articles", params={"q": q, "search_in": search_in, "limit": 5})
    body = response.json()
    if CONTROL.search(q):  # refused before any route, never stripped
        assert (response.status_code, body["code"]) == (422, "invalid_parameter"), body
        return
    assert response.status_code in (200, 400), (q, response.text)
    if response.status_code == 200:
        assert 0 <= len(body["items"]) <= min(5, body["total"])
    else:
        assert body["code"] in {"invalid_query", "query_too_long"} and body["detail"]


def test_a_walk_started_before_an_ingest_returns_each_article_once(
    client: TestClient, settings: Settings, seed_ids: dict[str, int], tmp_path: Path
) -> None:
    first = client.get("/articles", params={"limit": 2, "sort": "published_at"}).json()
    seen = [item["id"] for item in first["items"]]
    # A new article (dated earliest, so it would sort into pages already read) arrives mid-walk.
    folder = tmp_path / "late"
    folder.mkdir()
    source = next(SEEDS_DIR.glob("003_*.txt"))
    shutil.copyfile(source, folder / "late.txt")
    (folder / "late.txt").write_text(source.read_text() + "\n\nA late correction.\n")
    (folder / "late.json").write_text('{"published": "2001-01-01", "publisher": "Late Wire"}')
    report = ingest_paths(settings, folder, nlp=False)
    assert report.added == 1  # type: ignore[attr-defined]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(
            "/articles", params={"limit": 2, "sort": "published_at", "cursor": cursor}
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted(seed_ids.values())
    assert client.get("/articles").json()["total"] == 6


# An article that matches q=Taliban weakly (one mention in a long text), dated between the
# seeds: after the first page of every walk below, whatever its order.
LATE_ARTICLE = """Kabul bakers count the cost of a dry spring

Bread prices in Kabul rose for the third week running as wheat from the northern provinces
arrived late and in smaller loads than traders had ordered.
Bakers in the old city said a sack of flour now costs almost a fifth more than in March, and
several have cut the size of the flat loaves they sell each morning rather than raise prices.
Farmers in Balkh and Kunduz blame the thin winter snow, which left irrigation channels half
empty through April; some have planted melons and cotton in fields that usually carry wheat.
Aid agencies warned that families who spend most of their income on bread will feel the rise
first, and asked donors to fund cash transfers before the summer.
A spokesman for the Taliban administration said imports through the northern border crossings
would be increased and that a new grain store near the city would open within weeks.
Traders were doubtful, saying that transport costs and long queues at the crossings had eaten
most of their margins, and that only a good harvest in the autumn would bring prices down.
"""


def walk_from(client: TestClient, params: dict[str, str | int], cursor: str | None) -> list[Any]:
    """Every page of a walk from `cursor` (None: from the first page) to its end."""
    pages = []
    while True:
        at = {"cursor": cursor} if cursor else {}
        response = client.get("/articles", params={**params, **at})
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages


@pytest.mark.parametrize(
    ("sort", "q"),
    [
        ("-published_at", None),
        ("published_at", None),
        ("-published_at", "Taliban"),
        ("relevance", "Taliban"),
    ],
)
def test_an_article_added_mid_walk_after_the_cursor_stays_out_of_the_walk(
    client: TestClient,
    settings: Settings,
    seed_ids: dict[str, int],
    tmp_path: Path,
    sort: str,
    q: str | None,
) -> None:
    """The walk is bound to the articles of its first page's moment: an article ingested
    since then would sort after the cursor (a plain keyset walk would return it), but the
    walk's later pages neither list nor count it."""
    params: dict[str, str | int] = {"limit": 1, "sort": sort, **({"q": q} if q else {})}
    first = client.get("/articles", params=params).json()
    assert first["total"] == 5 and first["next_cursor"]
    folder = tmp_path / "late"
    folder.mkdir()
    (folder / "late.txt").write_text(LATE_ARTICLE, encoding="utf-8")
    (folder / "late.json").write_text('{"published": "2024-06-15", "publisher": "Late Wire"}')
    assert ingest_paths(settings, folder, nlp=False).added == 1  # type: ignore[attr-defined]
    # A walk begun now lists the late article after the first page's article: where the old
    # walk's cursor points, so only the snapshot keeps it out.
    fresh = [item["id"] for page in walk_from(client, params, None) for item in page["items"]]
    assert len(fresh) == 6 and fresh[0] == first["items"][0]["id"]
    (late_id,) = set(fresh) - set(seed_ids.values())
    rest = walk_from(client, params, first["next_cursor"])
    seen = [first["items"][0]["id"]] + [item["id"] for page in rest for item in page["items"]]
    assert late_id not in seen
    assert sorted(seen) == sorted(seed_ids.values())
    assert [page["total"] for page in rest] == [5] * len(rest)
    # Facets on a later page count the same articles as its total.
    at_cursor = {**params, "cursor": first["next_cursor"], "facets": "source"}
    sources = client.get("/articles", params=at_cursor).json()["facets"]["source"]
    assert "Late Wire" not in {value["value"] for value in sources["values"]}
    listed = sum(value["count"] for value in sources["values"])
    assert (listed, sources["other_count"], sources["missing"]) == (5, 0, 0)
