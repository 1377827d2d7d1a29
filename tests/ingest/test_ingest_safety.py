"""Ingest reads nothing outside its roots, stores and serves http(s) URLs only, keeps JSONL
and JSON nesting within limits, and ends a run locked out of SQLite with its summary.

A pathological folder (links out of it, into it, dangling, a loop; javascript: and data:
URLs; a JSONL file with an oversized line and a 500-deep record) is ingested with the real
pipeline or the real CLI, then read back through the API on every engine.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, select

from app.config import Settings
from app.db import create_db_engine, upgrade_database
from app.ingest.document import ArticleDraft, ReadFailure
from app.ingest.pipeline import Ingest, IngestReport
from app.ingest.read.readers import ReadLimits, read_path
from app.limits_json import json_depth, too_deep
from app.models import Article
from app.untrusted import web_url
from tests.clients import make_client, run_newsdesk
from tests.helpers import settings_for

SECRET_WORD = "nologinzzsecret"
LINE_LIMIT = 50_000  # max_file_bytes in these tests: one file, or one JSONL line


def article_text(title: str, word: str) -> str:
    return (
        f"{title}\n\nThe {word} council approved the new budget on Monday after a long "
        "debate among its members.\n\nResidents will see lower fees from April, the mayor "
        "said.\n"
    )


def json_article(title: str, url: str, **extra: Any) -> str:
    body = f"{title} is an article whose address is not a web page at all, said the editor."
    return json.dumps({"title": title, "body": body, "url": url, **extra})


def nested(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"inner": value}
    return value


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the ingest root holding what must never be read from it."""
    folder = tmp_path / "private"
    folder.mkdir()
    (folder / "passwd.txt").write_text(article_text("Secret file", SECRET_WORD))
    (folder / "more.txt").write_text(article_text("Another secret", SECRET_WORD))
    return folder


@pytest.fixture
def pathological(tmp_path: Path, outside: Path) -> Path:
    """The ingest root: good articles among every kind of trap."""
    root = tmp_path / "feed"
    (root / "sub").mkdir(parents=True)
    (root / "good.txt").write_text(article_text("Budget passes", "riverton"))
    (root / "sub" / "deep.txt").write_text(article_text("Deep story", "lakeside"))
    # Symlinks: out of the root, inside it, dangling, folder loops, a folder outside.
    (root / "passwd.txt").symlink_to(outside / "passwd.txt")
    (root / "alias.txt").symlink_to(root / "sub" / "deep.txt")
    (root / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "sub" / "up").symlink_to(Path(".."), target_is_directory=True)
    (root / "elsewhere").symlink_to(outside, target_is_directory=True)
    # URLs that are not web pages.
    (root / "js.json").write_text(json_article("Script link", "javascript:alert(document.cookie)"))
    (root / "data.json").write_text(
        json_article("Data link", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==")
    )
    (root / "canonical.html").write_text(
        '<html><head><title>Canonical trap</title><link rel="canonical" '
        'href="javascript:alert(1)"><meta property="og:url" content="javascript:alert(2)">'
        "</head><body><article><h1>Canonical trap</h1><p>The page claims a canonical address "
        "that runs script, and the reader must never be sent there by a feed.</p><p>A second "
        "paragraph keeps the extractor happy with enough text to call it an article.</p>"
        "</article></body></html>"
    )
    (root / "side.txt").write_text(article_text("Sidecar link", "hillcrest"))
    (root / "side.json").write_text(json.dumps({"url": " JaVa\tScRiPt:alert(3)"}))
    (root / "web.json").write_text(json_article("Web link", "https://example.org/2024/05/01/a"))
    # JSONL: good records around an oversized line and a record nested 500 levels deep.
    lines = [
        json_article("First record", "https://example.org/first"),
        json.dumps({"title": "Huge", "body": "x " * LINE_LIMIT}),
        json_article("Too deep", "https://example.org/deep", extra=nested(500)),
        json_article("Last record", "https://example.org/last"),
    ]
    (root / "big.jsonl").write_text("\n".join(lines) + "\n")
    return root


def run_ingest(settings: Settings, *paths: Path, follow_symlinks: bool = False) -> IngestReport:
    engine = create_db_engine(settings, writer=True)
    try:
        return Ingest(engine, settings, None, follow_symlinks=follow_symlinks).run(list(paths))
    finally:
        engine.dispose()


@pytest.fixture
def ingested(
    empty_db: str, pathological: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Settings, IngestReport]:
    """The root ingested as `ingest feed` from its parent, as the README advises."""
    settings = settings_for(empty_db, max_file_bytes=LINE_LIMIT)
    monkeypatch.chdir(pathological.parent)
    return settings, run_ingest(settings, Path(pathological.name))


@pytest.fixture
def api(ingested: tuple[Settings, IngestReport]) -> Iterator[TestClient]:
    settings, _ = ingested
    engine = create_db_engine(settings)
    with make_client(settings, engine) as client:
        yield client
    engine.dispose()


def reasons(items: list[ReadFailure]) -> dict[str, str]:
    return {item.origin: item.reason for item in items}


def all_articles(client: TestClient) -> list[dict[str, Any]]:
    page = client.get("/articles", params={"limit": 100}).json()
    return [client.get(f"/articles/{item['id']}").json() for item in page["items"]]


# finding 4: symlinks and origins


def test_nothing_outside_the_root_is_read_or_served(
    api: TestClient, ingested: tuple[Settings, IngestReport]
) -> None:
    assert api.get("/articles", params={"q": SECRET_WORD}).json()["total"] == 0
    articles = all_articles(api)
    assert not any(SECRET_WORD in article["body"] for article in articles)
    # The link to a file inside the root is read: its text is the root's own.
    deep = next(a for a in articles if a["title"] == "Deep story")
    assert sorted(deep["origins"]) == ["feed/alias.txt", "feed/sub/deep.txt"]


def test_every_skipped_and_dangling_symlink_is_reported(
    ingested: tuple[Settings, IngestReport],
) -> None:
    _, report = ingested
    skipped = reasons(report.skipped)
    assert set(skipped) == {
        "feed/passwd.txt",
        "feed/dangling.txt",
        "feed/loop",
        "feed/sub/up",
        "feed/elsewhere",
    }
    assert skipped["feed/passwd.txt"].startswith("symlink out of the ingest root")
    assert skipped["feed/dangling.txt"].startswith("dangling symlink")
    for folder in ("feed/loop", "feed/sub/up", "feed/elsewhere"):
        assert skipped[folder].startswith("symlink to a folder: not followed")
    assert "5 skipped" in report.summary()


def test_a_relative_root_shows_relative_origins_and_no_server_folder(
    api: TestClient, ingested: tuple[Settings, IngestReport], tmp_path: Path
) -> None:
    origins = [origin for article in all_articles(api) for origin in article["origins"]]
    assert origins and all(origin.startswith("feed/") for origin in origins), origins
    assert "feed/big.jsonl:1" in origins
    _, report = ingested
    for text in [*origins, *(f.origin for f in report.failures + report.skipped)]:
        assert str(tmp_path) not in text


def test_an_absolute_root_shows_absolute_origins(empty_db: str, pathological: Path) -> None:
    """The operator named the server path, so the origin is that path (unresolved)."""
    settings = settings_for(empty_db, max_file_bytes=LINE_LIMIT)
    report = run_ingest(settings, pathological / "sub" / ".." / "sub")
    engine = create_db_engine(settings)
    with make_client(settings, engine) as client:
        origins = [o for article in all_articles(client) for o in article["origins"]]
    engine.dispose()
    assert origins == [f"{pathological}/sub/../sub/deep.txt"]
    assert report.skipped[0].origin == f"{pathological}/sub/../sub/up"


def test_follow_symlinks_reads_links_out_and_ends_on_a_loop(
    empty_db: str, pathological: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(empty_db, max_file_bytes=LINE_LIMIT)
    monkeypatch.chdir(pathological.parent)
    started = time.monotonic()
    report = run_ingest(settings, Path("feed"), follow_symlinks=True)
    assert time.monotonic() - started < 60
    skipped = reasons(report.skipped)
    # Each real folder is entered once: the links back up are passed over, and said so.
    assert skipped == {
        "feed/dangling.txt": "dangling symlink: its target does not exist",
        "feed/loop": "symlink to a folder already read",
        "feed/sub/up": "symlink to a folder already read",
    }
    engine = create_db_engine(settings)
    with make_client(settings, engine) as client:
        found = client.get("/articles", params={"q": SECRET_WORD}).json()
    engine.dispose()
    assert found["total"] == 2  # passwd.txt (linked) and more.txt (in the linked folder)


def test_a_sidecar_linked_from_outside_the_root_is_not_read(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir(), outside.mkdir()
    (outside / "meta.json").write_text(json.dumps({"title": "Leaked title"}))
    (root / "story.txt").write_text(article_text("Story", "meadow"))
    (root / "story.json").symlink_to(outside / "meta.json")
    [result] = read_path(root / "story.txt", root=root)
    assert isinstance(result, ReadFailure)
    assert "sidecar story.json is a symlink out of the ingest root" in result.reason


def test_a_reingest_shows_the_file_as_named_instead_of_its_older_form(
    empty_db: str, tmp_path: Path
) -> None:
    """Databases from before showed the root folder's name and the path below it; a changed
    file still updates its article, which then shows the path as named."""
    root = tmp_path / "articles"
    root.mkdir()
    story = root / "story.txt"
    story.write_text(article_text("Old story", "orchard"))
    settings = settings_for(empty_db)
    assert run_ingest(settings, root).added == 1
    engine = create_db_engine(settings, writer=True)
    with Session(engine) as session:  # what the old code stored
        session.execute(update(Article).values(origins=["articles/story.txt", "copy.txt"]))
        session.commit()
    story.write_text(article_text("Old story", "orchard") + "\nA correction was added.\n")
    report = run_ingest(settings, root)
    assert (report.added, report.updated) == (0, 1)
    with Session(engine) as session:
        [article] = session.exec(select(Article)).all()
        assert (article.origin, article.origins) == (str(story), [str(story), "copy.txt"])
    assert run_ingest(settings, root).unchanged == 1
    engine.dispose()


def test_two_folders_of_the_same_name_keep_their_own_articles(
    empty_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each folder ingested from its own parent as `articles`: a file is known by its path
    as named, so the second folder's `articles/story.txt` must not overwrite the first's."""
    roots = [tmp_path / outlet / "articles" for outlet in ("first", "second")]
    for number, root in enumerate(roots):
        root.mkdir(parents=True)
        (root / "story.txt").write_text(article_text(f"Story {number}", f"word{number}"))
    settings = settings_for(empty_db)
    for root in roots:
        monkeypatch.chdir(root.parent)
        assert run_ingest(settings, Path("articles")).added == 1
    engine = create_db_engine(settings)
    with Session(engine) as session:
        articles = session.exec(select(Article).order_by(Article.id)).all()
    engine.dispose()
    assert [article.title for article in articles] == ["Story 0", "Story 1"]
    assert [article.origins for article in articles] == [["articles/story.txt"]] * 2


def test_the_cli_prints_every_skip_and_exits_cleanly(pathological: Path, tmp_path: Path) -> None:
    result = run_cli("ingest", "--no-nlp", str(pathological), database=tmp_path / "cli.db")
    assert result.returncode == 1, result.stderr  # the oversized and deep JSONL lines fail
    assert "Traceback" not in result.stderr
    for link in ("passwd.txt", "dangling.txt", "loop", "elsewhere"):
        assert f"skipped {pathological}/{link}:" in result.stderr
    assert "2 failed, 5 skipped" in result.stdout
    dry = run_cli("ingest", "--dry-run", str(pathological), database=tmp_path / "cli.db")
    assert f"skipped {pathological}/passwd.txt:" in dry.stderr
    assert SECRET_WORD not in dry.stdout


# finding 5: only http(s) URLs


@pytest.mark.parametrize(
    ("title", "scheme"),
    [
        ("Script link", "javascript"),
        ("Data link", "data"),
        ("Sidecar link", "javascript"),
    ],
)
def test_a_url_that_is_not_http_is_dropped_with_a_note_and_the_article_kept(
    api: TestClient, title: str, scheme: str
) -> None:
    article = next(a for a in all_articles(api) if a["title"] == title)
    assert article["url"] is None
    assert article["provenance"]["url"] == f"dropped:{scheme}"


def test_a_page_whose_canonical_link_is_a_script_has_no_url(api: TestClient) -> None:
    """trafilatura never offers a canonical or og:url that is not http(s): nothing to drop."""
    article = next(a for a in all_articles(api) if a["title"] == "Canonical trap")
    assert article["url"] is None and article["provenance"]["url"] == "none"


def test_feeds_and_json_carry_only_web_urls(api: TestClient) -> None:
    articles = all_articles(api)
    assert {a["url"] for a in articles} - {None} == {
        "https://example.org/2024/05/01/a",
        "https://example.org/first",
        "https://example.org/last",
    }
    for path, params in (
        ("/articles.atom", {}),
        ("/articles", {"limit": 100}),
        ("/articles", {"format": "jsonl"}),
        ("/articles", {"format": "csv"}),
        ("/v2/everything", {}),
    ):
        text = api.get(path, params=params).text.lower()
        assert "javascript:" not in text and "data:text" not in text, path


def test_urls_stored_before_the_check_are_never_served(
    api: TestClient, ingested: tuple[Settings, IngestReport]
) -> None:
    settings, _ = ingested
    engine = create_db_engine(settings, writer=True)
    with Session(engine) as session:  # rows written by the old code
        first = session.exec(select(Article.id).order_by(Article.id)).first()
        session.execute(
            update(Article)
            .where(Article.id == first)
            .values(url="javascript:alert(document.cookie)")
        )
        session.commit()
    engine.dispose()
    for path, params in (
        ("/articles.atom", {}),
        ("/articles", {"limit": 100}),
        ("/articles", {"format": "jsonl"}),
        ("/v2/everything", {}),
    ):
        assert "javascript:" not in api.get(path, params=params).text, path
    article = api.get(f"/articles/{first}").json()
    assert article["url"] is None


def test_the_api_stores_only_web_urls(empty_db: str) -> None:
    from tests.api.test_security import KEY, KEY_HASH
    from tests.clients import client_for

    settings = settings_for(empty_db, api_key_hash=KEY_HASH)
    engine = create_db_engine(settings)
    with client_for(settings, engine) as client:
        body = "An article posted with a script for an address, which must not be stored."
        posted = client.post(
            "/articles",
            json={"title": "Posted", "body": body, "url": "javascript:alert(1)"},
            headers={"X-Api-Key": KEY},
        )
        assert posted.status_code == 201, posted.text
        article = client.get(f"/articles/{posted.json()['id']}").json()
    engine.dispose()
    assert article["url"] is None and article["provenance"]["url"] == "dropped:javascript"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox",
        "file:///etc/passwd",
        "//example.org/no-scheme",
        "https://",
        "http://[::1",
        "https://example.org/a\nb",
    ],
)
def test_web_url_refuses_everything_but_http_and_https(url: str) -> None:
    assert web_url(url) is None


@pytest.mark.parametrize("url", ["https://example.org/a?b=c#d", "HTTP://EXAMPLE.ORG/"])
def test_web_url_keeps_http_and_https(url: str) -> None:
    assert web_url(url) == url


# finding 7 (JSONL half) and JSON depth


def test_jsonl_lines_over_the_limit_and_too_deep_fail_and_the_rest_load(
    ingested: tuple[Settings, IngestReport],
) -> None:
    _, report = ingested
    failures = reasons(report.failures)
    huge = len(json.dumps({"title": "Huge", "body": "x " * LINE_LIMIT}))
    assert failures == {
        "feed/big.jsonl:2": f"line 2 is {huge:,} bytes, over the {LINE_LIMIT:,}-byte limit",
        "feed/big.jsonl:3": "line 3: JSON nested more than 32 levels deep",
    }


def test_a_deep_json_file_or_sidecar_fails_with_the_reason(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(json_article("Deep", "https://example.org/x", extra=nested(40)))
    [result] = read_path(deep, root=tmp_path)
    assert isinstance(result, ReadFailure)
    assert result.reason == "JSON nested more than 32 levels deep"
    (tmp_path / "story.txt").write_text(article_text("Story", "meadow"))
    (tmp_path / "story.json").write_text(json.dumps({"notes": nested(40)}))
    [result] = read_path(tmp_path / "story.txt", root=tmp_path)
    assert isinstance(result, ReadFailure)
    assert result.reason == "sidecar story.json: JSON nested more than 32 levels deep"
    # Deeper than Python's own parser goes: still a clean failure, not a crash.
    deep.write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    [result] = read_path(deep, root=tmp_path)
    assert isinstance(result, ReadFailure) and "nested more than 32" in result.reason


def test_a_huge_jsonl_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """One 40 MB line is skipped without being held (the old reader held the whole file)."""
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as out:
        out.write(json_article("Before", "https://example.org/1").encode() + b"\n")
        out.write(b'{"body": "' + b"y" * 40_000_000 + b'"}\n')
        out.write(json_article("After", "https://example.org/2").encode() + b"\n")
    limits = ReadLimits(max_bytes=1_000_000)
    tracemalloc.start()
    try:
        results = list(read_path(path, root=tmp_path, limits=limits))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [type(r) for r in results] == [ArticleDraft, ReadFailure, ArticleDraft]
    assert peak < 8_000_000, f"peak {peak:,} bytes"
    [refused] = read_path(path, root=tmp_path, limits=ReadLimits(max_jsonl_bytes=10_000_000))
    assert isinstance(refused, ReadFailure) and "over the 10,000,000-byte limit" in refused.reason


def test_json_depth_counts_levels_and_stops_early() -> None:
    assert [json_depth(v, 32) for v in (1, [], {}, [[]], {"a": [1, {"b": 2}]})] == [0, 1, 1, 2, 3]
    assert json_depth(nested(100_000), 32) == 33  # stops just past the limit
    assert too_deep(nested(32), 32) is None
    assert too_deep(nested(33), 32) == "JSON nested more than 32 levels deep"


# finding 10: a write lock held past the busy timeout


def run_cli(*args: str, database: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI on a terminal wide enough that a long temporary path is never wrapped."""
    return run_newsdesk(
        *args,
        database_url=f"sqlite:///{database}",
        NEWSDESK_MAX_FILE_BYTES=str(LINE_LIMIT),
        COLUMNS="1000",
        **env,
    )


def test_an_ingest_locked_out_lists_its_files_as_failed_and_exits_1(tmp_path: Path) -> None:
    root = tmp_path / "incoming"
    root.mkdir()
    for number in range(3):
        (root / f"{number}.txt").write_text(article_text(f"Story {number}", f"town{number}"))
    database = tmp_path / "locked.db"
    upgrade_database(f"sqlite:///{database}")
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's write lock, held throughout
    try:
        started = time.monotonic()
        result = run_cli(
            "ingest",
            "--no-nlp",
            str(root),
            database=database,
            NEWSDESK_SQLITE_BUSY_TIMEOUT_MS="300",
        )
        elapsed = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1
    assert "0 added, 0 updated, 0 unchanged, 3 failed (3 files" in result.stdout
    for number in range(3):
        assert f"failed {root}/{number}.txt: not stored: database is locked" in result.stderr
    assert "busy timeout" in result.stderr
    assert elapsed < 60
    again = run_cli("ingest", "--no-nlp", str(root), database=database)
    assert again.returncode == 0, again.stderr
    assert "3 added" in again.stdout
