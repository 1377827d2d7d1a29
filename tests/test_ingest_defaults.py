"""`newsdesk ingest --publisher/--language/--tag` defaults, and copies filed in two places."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from app.db import upgrade_database
from tests.clients import run_newsdesk
from tests.helpers import ingest_paths, settings_for

STORY = (
    "Council passes budget\n\n"
    "The town council approved the new budget on Monday after a long debate among its "
    "members, who met for six hours in the old hall by the river.\n\n"
    "Residents will see lower fees from April, the mayor said at a meeting in the hall.\n"
)


def rows(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_path) as connection:
        return list(connection.execute(sql).fetchall())


def test_cli_defaults_fill_what_files_do_not_say_and_sidecars_win(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "plain.txt").write_text(STORY, encoding="utf-8")
    (folder / "named.txt").write_text(STORY.replace("Monday", "Tuesday"), encoding="utf-8")
    (folder / "named.json").write_text(json.dumps({"publisher": "Valley Gazette"}))
    db = tmp_path / "db.sqlite"
    result = run_newsdesk(
        "ingest", "--no-nlp", "--publisher", "BBC News", "--language", "en-GB",
        "--tag", "bbc", "--tag", "archive", str(folder), database_url=f"sqlite:///{db}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = rows(
        db,
        "SELECT a.origin, s.name, a.language, a.provenance FROM article a "
        "LEFT JOIN source s ON s.id = a.source_id ORDER BY a.origin",
    )
    by_file = {
        Path(str(origin)).name: (name, lang, json.loads(str(p))) for origin, name, lang, p in found
    }
    assert by_file["plain.txt"][0] == "BBC News"
    assert by_file["plain.txt"][2]["publisher"] == "cli"
    assert by_file["named.txt"][0] == "Valley Gazette"
    assert by_file["named.txt"][2]["publisher"] == "sidecar"
    # The detected language is a guess: the command line's wins over it.
    assert by_file["plain.txt"][1] == "en" and by_file["plain.txt"][2]["language"] == "cli"
    tags = rows(db, "SELECT tag FROM article_tag GROUP BY tag HAVING count(*) = 2 ORDER BY tag")
    assert tags == [("archive",), ("bbc",)]


def test_a_language_that_is_not_a_code_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(STORY, encoding="utf-8")
    result = run_newsdesk(
        "ingest", "--no-nlp", "--language", "English", str(tmp_path / "a.txt"),
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
    )  # fmt: skip
    assert result.returncode == 2
    assert "--language" in result.stderr and "two-letter" in result.stderr


def test_the_same_text_in_two_category_folders_keeps_both_tags(tmp_path: Path) -> None:
    for category in ("business", "politics"):
        (tmp_path / "news" / category).mkdir(parents=True)
        (tmp_path / "news" / category / "001.txt").write_text(STORY, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade_database(url)
    ingest_paths(settings_for(url), tmp_path / "news", nlp=False)
    assert rows(tmp_path / "db.sqlite", "SELECT count(*) FROM article") == [(1,)]
    tags = rows(tmp_path / "db.sqlite", "SELECT tag FROM article_tag ORDER BY tag")
    assert tags == [("business",), ("politics",)]
    [(origins,)] = rows(tmp_path / "db.sqlite", "SELECT origins FROM article")
    assert "business/001.txt" in str(origins) and "politics/001.txt" in str(origins)
